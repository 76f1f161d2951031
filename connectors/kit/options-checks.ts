/**
 * Checks of a connector's options at create time. The catalog already validated them against the options schema;
 * these guard direct use and give messages that name the option and what was expected, prefixed with the connector
 * type, and never quote a value (options carry secrets).
 *
 * @example
 * const check = optionChecks('water-drainage')
 * check.object(options)
 * const url = check.httpBaseUrl(options.baseUrl, 'use appKey and appSecret')
 * const appKey = check.nonEmptyString('appKey', options.appKey)
 * const endpoint = joinEndpoint(url, check.path(options.path ?? DEFAULT_PATH))
 */
export interface OptionChecks {
  /** A TypeError with the connector type as prefix. */
  fail(message: string): TypeError
  /** The options themselves must be an object. */
  object(options: unknown): void
  /**
   * An absolute http(s) URL without credentials (`credentialsHint` tells what to use instead, e.g. `use appKey and
   * appSecret`), query or fragment.
   */
  httpBaseUrl(value: unknown, credentialsHint: string): URL
  nonEmptyString(name: string, value: unknown): string
  /** A path starting with `/`. */
  path(value: unknown): string
  /** A string matching `pattern` (a JSON Schema pattern, quoted in the message). */
  matching(name: string, value: unknown, pattern: string): string
  integerInRange(name: string, value: unknown, min: number, max: number): number
}

export function optionChecks(type: string): OptionChecks {
  const fail = (message: string) => new TypeError(`${type}: ${message}`)
  return {
    fail,
    object(options) {
      if (typeof options !== 'object' || options === null) throw fail('options must be an object')
    },
    httpBaseUrl(value, credentialsHint) {
      if (typeof value !== 'string') throw fail('options.baseUrl must be a string URL')
      let url: URL
      try {
        url = new URL(value)
      } catch {
        throw fail('options.baseUrl must be an absolute http(s) URL')
      }
      if (url.protocol !== 'http:' && url.protocol !== 'https:') {
        throw fail(`options.baseUrl must use http or https (got ${url.protocol})`)
      }
      if (url.username !== '' || url.password !== '') {
        throw fail(`options.baseUrl must not carry credentials; ${credentialsHint}`)
      }
      if (url.search !== '' || url.hash !== '') throw fail('options.baseUrl must not have a query or fragment')
      return url
    },
    nonEmptyString(name, value) {
      if (typeof value !== 'string' || value === '') throw fail(`options.${name} must be a non-empty string`)
      return value
    },
    path(value) {
      if (typeof value !== 'string' || !value.startsWith('/')) {
        throw fail('options.path must be a string starting with "/"')
      }
      return value
    },
    matching(name, value, pattern) {
      if (typeof value !== 'string' || !new RegExp(pattern).test(value)) {
        throw fail(`options.${name} must match ${pattern}`)
      }
      return value
    },
    integerInRange(name, value, min, max) {
      if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
        throw fail(`options.${name} must be an integer from ${min} to ${max}`)
      }
      return value
    },
  }
}

/** The base URL's origin and path followed by `path`, without trailing slashes: the endpoint calls are made to. */
export function joinEndpoint(baseUrl: URL, path: string): string {
  return `${baseUrl.origin}${baseUrl.pathname.replace(/\/+$/, '')}${path.replace(/\/+$/, '')}`
}
