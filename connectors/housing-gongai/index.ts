import { defineConnector } from '../kit/types.js'
import { createHousingGongaiConnector } from './connector.js'
import { type HousingGongaiOptions, housingGongaiOptionsSchema } from './options.js'

export type { ByProjectParams, ConstructionPermitParams } from './connector.js'
export { createHousingGongaiConnector } from './connector.js'
export type { HousingGongaiOptions } from './options.js'
export { housingGongaiOptionsSchema } from './options.js'

/**
 * 住建 工程建设项目审批管理系统（工改）: construction permits, construction-drawing reviews and completion-acceptance
 * filings, read through the provincial-gateway style data-sharing interface. See README.md.
 */
export const housingGongai = defineConnector<HousingGongaiOptions>({
  type: 'housing-gongai',
  system: '住建 工程建设项目审批管理系统（工改）数据共享接口',
  operations: {
    constructionPermits: {
      kind: 'read',
      description: '建筑工程施工许可信息 (SPGL_JZGCSGXKXXB_V3) by 项目代码 (XMDM) or 施工许可证编号 (SGXKZBH)',
    },
    drawingReviews: {
      kind: 'read',
      description: '施工图设计文件审查信息 (SPGL_SGTSJWJSCXXB_V3) by 项目代码 (XMDM)',
    },
    permitChanges: {
      kind: 'changes',
      description: '建筑工程施工许可信息 changes: permit rows added since a 流水号 (sgxk.changes), in LSH order',
    },
    completionFilings: {
      kind: 'read',
      description: '建设工程竣工验收备案信息 (SPGL_JSGCJGYSBAXXB_V3) by 项目代码 (XMDM)',
    },
  },
  optionsSchema: housingGongaiOptionsSchema,
  create: createHousingGongaiConnector,
})
