import { defineConnector } from '../kit/types.js'
import { createMarketQzkConnector } from './connector.js'
import { type MarketQzkOptions, marketQzkOptionsSchema } from './options.js'

export type { EnterpriseByUsccParams } from './connector.js'
export { createMarketQzkConnector } from './connector.js'
export type { EnterpriseStatus } from './mapping.js'
export type { MarketQzkOptions } from './options.js'
export { DEFAULT_SCHEMA, DEFAULT_TABLE, marketQzkOptionsSchema } from './options.js'

/**
 * 市场监管 法人库前置库: 法人登记信息 (enterprise registrations) read straight from the front-end database
 * (PostgreSQL) the market-regulation department fills. See README.md.
 */
export const marketQzk = defineConnector<MarketQzkOptions>({
  type: 'market-qzk',
  system: '市场监管 法人库前置库（PostgreSQL）',
  operations: {
    enterpriseByUscc: {
      kind: 'read',
      description: '法人登记信息 (QZK_FRDJXX) by 统一社会信用代码 (TYSHXYDM): the newest valid row',
    },
    registrationChanges: {
      kind: 'changes',
      description:
        '法人登记信息 changes: every new valid row (by LSH, skipped serials waited for), with the newest record',
    },
  },
  optionsSchema: marketQzkOptionsSchema,
  create: createMarketQzkConnector,
})
