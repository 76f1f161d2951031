import { joinEndpoint, optionChecks } from '../kit/options-checks.js'
import type { JsonSchema } from '../kit/types.js'
import { DEFAULT_PATH, isXmlSafe } from './wire.js'

/** `options:` of a `type: drc-tzxm` connector in catalog.yaml. */
export interface DrcTzxmOptions {
  /**
   * Scheme, host and port of the platform's exchange service (an optional path prefix is kept).
   * @example 'http://10.32.8.15:8080'
   */
  readonly baseUrl: string
  /**
   * The shared token (`ValidateData`) issued by the platform administrators to this gateway. Sent in every call,
   * never logged.
   */
  readonly validateData: string
  /**
   * Path of the `.asmx` service under `baseUrl`.
   * @default '/TzxmExchange/ExchangeService.asmx'
   */
  readonly path?: string
}

export const drcTzxmOptionsSchema: JsonSchema = {
  title: 'drc-tzxm connector options',
  type: 'object',
  properties: {
    baseUrl: {
      type: 'string',
      format: 'uri',
      pattern: '^https?://',
      description: 'Base URL of the 投资在线平台 exchange service (http or https), without the .asmx path',
    },
    validateData: {
      type: 'string',
      minLength: 1,
      description: 'Shared token sent as the ValidateData parameter of every call',
    },
    path: {
      type: 'string',
      pattern: '^/',
      default: DEFAULT_PATH,
      description: 'Path of the .asmx service under baseUrl',
    },
  },
  required: ['baseUrl', 'validateData'],
  additionalProperties: false,
}

export interface ResolvedOptions {
  /** `baseUrl` + `path`, without a trailing slash. */
  readonly endpoint: string
  readonly validateData: string
}

const check = optionChecks('drc-tzxm')

/**
 * Checks the options once, when the connector is created (they were schema-validated at catalog load; this guards
 * direct use). Messages name the option and what was expected, never the token.
 */
export function resolveOptions(options: DrcTzxmOptions): ResolvedOptions {
  check.object(options)
  const url = check.httpBaseUrl(options.baseUrl, 'use validateData')
  const validateData = check.nonEmptyString('validateData', options.validateData)
  if (!isXmlSafe(validateData)) throw check.fail('options.validateData holds characters XML cannot carry')
  const path = check.path(options.path ?? DEFAULT_PATH)
  return { endpoint: joinEndpoint(url, path), validateData }
}
