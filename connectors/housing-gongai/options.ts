import { joinEndpoint, optionChecks } from '../kit/options-checks.js'
import type { JsonSchema } from '../kit/types.js'
import { DEFAULT_PATH } from './wire.js'

/** `options:` of a `type: housing-gongai` connector in catalog.yaml. */
export interface HousingGongaiOptions {
  /**
   * Base URL of the 工改 data-sharing interface, without the path prefix.
   * @example 'http://10.32.1.20:8080'
   */
  readonly baseUrl: string
  /** Application key issued by the 住建 interface administrator (sent in every request). */
  readonly appKey: string
  /** Shared secret for the MD5 sign; never sent, never logged. */
  readonly appSecret: string
  /**
   * Path prefix of the interface under `baseUrl`.
   * @default '/gongai/api/v3'
   */
  readonly path?: string
}

export const housingGongaiOptionsSchema: JsonSchema = {
  title: 'housing-gongai connector options',
  type: 'object',
  properties: {
    baseUrl: {
      type: 'string',
      format: 'uri',
      pattern: '^https?://',
      description: 'Base URL of the 工改 interface (http or https), without the path prefix',
    },
    appKey: { type: 'string', minLength: 1, description: 'Application key issued by 住建' },
    appSecret: { type: 'string', minLength: 1, description: 'Shared secret for the MD5 request sign' },
    path: {
      type: 'string',
      pattern: '^/',
      default: DEFAULT_PATH,
      description: 'Path prefix of the interface under baseUrl',
    },
  },
  required: ['baseUrl', 'appKey', 'appSecret'],
  additionalProperties: false,
}

export interface ResolvedOptions {
  /** `baseUrl` + `path`, without a trailing slash. */
  readonly endpoint: string
  readonly appKey: string
  readonly appSecret: string
}

const check = optionChecks('housing-gongai')

/**
 * Checks the options once, when the connector is created (they were schema-validated at catalog load; this guards
 * direct use). Messages name the option and what was expected, never the secret.
 */
export function resolveOptions(options: HousingGongaiOptions): ResolvedOptions {
  check.object(options)
  const url = check.httpBaseUrl(options.baseUrl, 'use appKey and appSecret')
  const appKey = check.nonEmptyString('appKey', options.appKey)
  const appSecret = check.nonEmptyString('appSecret', options.appSecret)
  const path = check.path(options.path ?? DEFAULT_PATH)
  return { endpoint: joinEndpoint(url, path), appKey, appSecret }
}
