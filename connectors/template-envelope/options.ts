import { joinEndpoint, optionChecks } from '../kit/options-checks.js'
import type { JsonSchema } from '../kit/types.js'
import { DEFAULT_PATH } from './wire.js'

/** `options:` of a `type: template-envelope` connector in catalog.yaml. */
export interface ConnectorOptions {
  /**
   * Base URL of the interface, without the path prefix.
   * @example 'http://10.32.1.30:8080'
   */
  readonly baseUrl: string
  /** Application key issued by the interface administrator (sent in every request). */
  readonly appKey: string
  /** Shared secret for the MD5 sign; never sent, never logged. */
  readonly appSecret: string
  /**
   * Path prefix of the interface under `baseUrl`.
   * @default '/api/v1'
   */
  readonly path?: string
}

export const optionsSchema: JsonSchema = {
  title: 'template-envelope connector options',
  type: 'object',
  properties: {
    baseUrl: {
      type: 'string',
      format: 'uri',
      pattern: '^https?://',
      description: 'Base URL of the interface (http or https), without the path prefix',
    },
    appKey: { type: 'string', minLength: 1, description: 'Application key issued by the interface administrator' },
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

const check = optionChecks('template-envelope')

/**
 * Checks the options once, when the connector is created (they were schema-validated at catalog load; this guards
 * direct use). Messages name the option and what was expected, never the secret (kit/options-checks.ts).
 */
export function resolveOptions(options: ConnectorOptions): ResolvedOptions {
  check.object(options)
  const url = check.httpBaseUrl(options.baseUrl, 'use appKey and appSecret')
  const appKey = check.nonEmptyString('appKey', options.appKey)
  const appSecret = check.nonEmptyString('appSecret', options.appSecret)
  const path = check.path(options.path ?? DEFAULT_PATH)
  return { endpoint: joinEndpoint(url, path), appKey, appSecret }
}
