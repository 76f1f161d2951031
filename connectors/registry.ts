import { drcTzxm } from './drc-tzxm/index.js'
import { housingGongai } from './housing-gongai/index.js'
import type { ConnectorDefinition } from './kit/types.js'
import { marketQzk } from './market-qzk/index.js'

/**
 * Every connector type the gateway can instantiate, by `type:` as written in catalog.yaml. Definitions only: the
 * simulators live in ./simulators.ts, so that `serve` never loads them (test/boundaries.test.ts).
 */
export const connectorDefinitions: ReadonlyMap<string, ConnectorDefinition<never>> = new Map<
  string,
  ConnectorDefinition<never>
>([
  [housingGongai.type, housingGongai],
  [drcTzxm.type, drcTzxm],
  [marketQzk.type, marketQzk],
])
