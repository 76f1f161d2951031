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

/**
 * Checks the options once, when the connector is created (they were schema-validated at catalog load; this guards
 * direct use). Messages name the option and what was expected, never the token.
 */
export function resolveOptions(options: DrcTzxmOptions): ResolvedOptions {
  if (typeof options !== 'object' || options === null) throw new TypeError('drc-tzxm: options must be an object')
  const { baseUrl, validateData } = options
  const path = options.path ?? DEFAULT_PATH
  if (typeof baseUrl !== 'string') throw new TypeError('drc-tzxm: options.baseUrl must be a string URL')
  let url: URL
  try {
    url = new URL(baseUrl)
  } catch {
    throw new TypeError('drc-tzxm: options.baseUrl must be an absolute http(s) URL')
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new TypeError(`drc-tzxm: options.baseUrl must use http or https (got ${url.protocol})`)
  }
  if (url.username !== '' || url.password !== '') {
    throw new TypeError('drc-tzxm: options.baseUrl must not carry credentials; use validateData')
  }
  if (url.search !== '' || url.hash !== '') {
    throw new TypeError('drc-tzxm: options.baseUrl must not have a query or fragment')
  }
  if (typeof validateData !== 'string' || validateData === '') {
    throw new TypeError('drc-tzxm: options.validateData must be a non-empty string')
  }
  if (!isXmlSafe(validateData)) {
    throw new TypeError('drc-tzxm: options.validateData holds characters XML cannot carry')
  }
  if (typeof path !== 'string' || !path.startsWith('/')) {
    throw new TypeError('drc-tzxm: options.path must be a string starting with "/"')
  }
  const endpoint = `${url.origin}${url.pathname.replace(/\/+$/, '')}${path.replace(/\/+$/, '')}`
  return { endpoint, validateData }
}
