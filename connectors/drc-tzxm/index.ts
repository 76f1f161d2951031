import { defineConnector } from '../kit/types.js'
import { createDrcTzxmConnector } from './connector.js'
import { type DrcTzxmOptions, drcTzxmOptionsSchema } from './options.js'

export type { ByCompanyParams, ByProjectCodeParams, PermitFeedbackBody } from './connector.js'
export { createDrcTzxmConnector } from './connector.js'
export type { DrcTzxmOptions } from './options.js'
export { drcTzxmOptionsSchema } from './options.js'

/**
 * 发改 全国投资项目在线审批监管平台: project basic information, the projects of one 项目单位 and approval results,
 * read through the platform's SOAP (.asmx, GBK) data-exchange service; construction-permit results pushed back to
 * it. See README.md.
 */
export const drcTzxm = defineConnector<DrcTzxmOptions>({
  type: 'drc-tzxm',
  system: '发改 全国投资项目在线审批监管平台 数据交换服务（SOAP）',
  operations: {
    projectInfo: {
      kind: 'read',
      description: '项目基本信息 (GetProjectInfo) by 项目代码',
    },
    companyProjects: {
      kind: 'read',
      description: '项目单位的投资项目 (GetProjectsByCompany) by 统一社会信用代码',
    },
    approvalResults: {
      kind: 'read',
      description: '审批、核准、备案及并联审批结果 (GetApprovalResults) by 项目代码',
    },
    pushConstructionPermit: {
      kind: 'write',
      description: '施工许可结果回传投资在线平台 (PushConstructionPermit); returns 回执编号 and 接收时间',
    },
  },
  optionsSchema: drcTzxmOptionsSchema,
  create: createDrcTzxmConnector,
})
