import { promises as dns } from 'node:dns'
import { BlockList, isIP, type LookupFunction } from 'node:net'
import { urlProblem, WebhookUrlError, type WebhookUrlProblem } from './errors.js'

/**
 * Which webhook URLs a subscription may name. The gateway calls them from inside the exchange network, so a URL is
 * an SSRF lever: a consumer must not make the gateway POST to its own admin endpoints, a cloud metadata service or
 * another department's intranet host. Checked at subscription creation (every problem at once) and again at
 * delivery: the host is resolved on every connection and refused if any of its addresses is in a refused range,
 * so a name that resolved to a public address at creation cannot be re-pointed at 127.0.0.1 later.
 */
export interface WebhookUrlPolicy {
  /** Accept `http:` too; for demos and tests on loopback, never production. Default false. */
  readonly allowHttp?: boolean
  /**
   * The operator's allow-list of hosts: `hooks.example.gov.cn` exactly, or `*.example.gov.cn` for its subdomains
   * (not the apex). Absent or empty: any host that passes the other checks.
   */
  readonly allowedHosts?: readonly string[]
  /** Accept loopback, link-local, private and reserved addresses (demo/tests on loopback). Default false. */
  readonly allowPrivateAddresses?: boolean
}

/** Every address a name resolves to (the resolver is injected in tests; the default is the system's). */
export type ResolveHost = (
  hostname: string,
) => Promise<readonly { readonly address: string; readonly family: number }[]>

export const systemResolve: ResolveHost = (hostname) => dns.lookup(hostname, { all: true, verbatim: true })

const MAX_URL_CHARS = 2048

/** Loopback, "this network", private, shared (CGNAT), link-local (cloud metadata), documentation, multicast, reserved. */
const REFUSED = new BlockList()
for (const [net, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const) {
  REFUSED.addSubnet(net, prefix, 'ipv4')
}
// IPv4-mapped addresses (::ffff:a.b.c.d) are checked against the IPv4 ranges by BlockList itself.
for (const [net, prefix] of [
  ['::', 96], // unspecified, loopback and IPv4-compatible (deprecated)
  ['100::', 64], // discard
  ['2001:db8::', 32], // documentation
  ['fc00::', 7], // unique local
  ['fe80::', 10], // link-local
  ['fec0::', 10], // site-local (deprecated)
  ['ff00::', 8], // multicast
] as const) {
  REFUSED.addSubnet(net, prefix, 'ipv6')
}
const NAT64 = new BlockList()
NAT64.addSubnet('64:ff9b::', 96, 'ipv6')
const SIX_TO_FOUR = new BlockList()
SIX_TO_FOUR.addSubnet('2002::', 16, 'ipv6')

/** True for an address the gateway must not call (also one that embeds a refused IPv4 address: NAT64, 6to4). */
export function isRefusedAddress(address: string): boolean {
  const family = isIP(address)
  if (family === 4) return REFUSED.check(address, 'ipv4')
  if (family !== 6) return true
  if (REFUSED.check(address, 'ipv6')) return true
  if (NAT64.check(address, 'ipv6')) return REFUSED.check(embeddedIpv4(address, 6), 'ipv4')
  if (SIX_TO_FOUR.check(address, 'ipv6')) return REFUSED.check(embeddedIpv4(address, 1), 'ipv4')
  return false
}

/**
 * The problems of a URL that can be seen without the network: scheme, userinfo, fragment, allow-list, and a host
 * that is a refused address literal or a `localhost` name. Empty when it is acceptable.
 */
export function checkWebhookUrl(raw: string, policy: WebhookUrlPolicy = {}): WebhookUrlProblem[] {
  if (typeof raw !== 'string' || !URL.canParse(raw)) return [urlProblem('webhook-url-invalid')]
  const problems: WebhookUrlProblem[] = []
  if (raw.length > MAX_URL_CHARS) problems.push(urlProblem('webhook-url-too-long'))
  const url = new URL(raw)
  if (!(url.protocol === 'https:' || (policy.allowHttp === true && url.protocol === 'http:'))) {
    problems.push(urlProblem('webhook-url-scheme'))
  }
  if (url.username !== '' || url.password !== '') problems.push(urlProblem('webhook-url-userinfo'))
  // `#` alone leaves `hash` empty, and '#' cannot appear unescaped anywhere else in a URL that parsed.
  if (raw.includes('#')) problems.push(urlProblem('webhook-url-fragment'))
  const host = hostOf(url)
  if (host === '') return [...problems, urlProblem('webhook-url-invalid')]
  if (!hostAllowed(host, policy.allowedHosts)) problems.push(urlProblem('webhook-url-host-not-allowed'))
  if (policy.allowPrivateAddresses !== true && (isIP(host) !== 0 ? isRefusedAddress(host) : isLocalhostName(host))) {
    problems.push(urlProblem('webhook-url-address-refused'))
  }
  return problems
}

/**
 * The check at subscription creation: `checkWebhookUrl`, then the host's addresses (a name that does not resolve,
 * or resolves to a refused range, is refused now rather than dead-lettering every event later).
 */
export async function vetWebhookUrl(
  raw: string,
  policy: WebhookUrlPolicy = {},
  resolve: ResolveHost = systemResolve,
): Promise<WebhookUrlProblem[]> {
  const problems = checkWebhookUrl(raw, policy)
  if (problems.length > 0) return problems
  const host = hostOf(new URL(raw))
  if (isIP(host) !== 0) return []
  let addresses: Awaited<ReturnType<ResolveHost>>
  try {
    addresses = await resolve(host)
  } catch {
    return [urlProblem('webhook-url-unresolvable')]
  }
  if (addresses.length === 0) return [urlProblem('webhook-url-unresolvable')]
  if (policy.allowPrivateAddresses !== true && addresses.some((a) => isRefusedAddress(a.address))) {
    return [urlProblem('webhook-url-address-refused')]
  }
  return []
}

/** `checkWebhookUrl` that throws a `WebhookUrlError` with every problem; answers the parsed URL. */
export function assertWebhookUrl(raw: string, policy: WebhookUrlPolicy = {}): URL {
  const problems = checkWebhookUrl(raw, policy)
  if (problems.length > 0) throw new WebhookUrlError(problems)
  return new URL(raw)
}

/** The code of the connection error when a host resolves to a refused address at delivery. */
export const ADDRESS_REFUSED_CODE = 'QIAO_WEBHOOK_ADDRESS_REFUSED'

/**
 * A `lookup` for the socket (undici's `connect.lookup`, passed on to `net.connect`): resolves the host on every
 * connection and fails it when any address is refused — the check and the connection use the same answer, so a DNS
 * answer that changes between them (rebinding) cannot slip through.
 */
export function guardedLookup(policy: WebhookUrlPolicy = {}, resolve: ResolveHost = systemResolve): LookupFunction {
  return (hostname, options, callback) => {
    resolve(hostname).then(
      (all) => {
        const family = options.family === 'IPv4' ? 4 : options.family === 'IPv6' ? 6 : options.family
        const addresses = family === 4 || family === 6 ? all.filter((a) => a.family === family) : all
        if (addresses.length === 0) {
          callback(Object.assign(new Error('webhook host does not resolve'), { code: 'ENOTFOUND' }), '', 0)
          return
        }
        if (policy.allowPrivateAddresses !== true && all.some((a) => isRefusedAddress(a.address))) {
          callback(
            Object.assign(new Error('webhook host resolves to a refused address'), { code: ADDRESS_REFUSED_CODE }),
            '',
            0,
          )
          return
        }
        const [first] = addresses as [(typeof addresses)[number]]
        if (options.all === true)
          callback(
            null,
            addresses.map((a) => ({ address: a.address, family: a.family })),
          )
        else callback(null, first.address, first.family)
      },
      (err: NodeJS.ErrnoException) => callback(err, '', 0),
    )
  }
}

/** Lower-case host without the brackets of an IPv6 literal or a trailing root dot. */
function hostOf(url: URL): string {
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname
  return host.endsWith('.') ? host.slice(0, -1) : host
}

function hostAllowed(host: string, allowed: readonly string[] | undefined): boolean {
  if (allowed === undefined || allowed.length === 0) return true
  return allowed.some((entry) => {
    const pattern = entry.toLowerCase()
    return pattern.startsWith('*.')
      ? host.endsWith(pattern.slice(1)) && host.length > pattern.length - 1
      : host === pattern
  })
}

/** RFC 6761: `localhost` and its subdomains are loopback by definition, whatever a resolver says. */
const isLocalhostName = (host: string): boolean => host === 'localhost' || host.endsWith('.localhost')

/** The IPv4 address in hextets `at` and `at + 1` of an IPv6 address. */
function embeddedIpv4(address: string, at: number): string {
  const hextets = expandIpv6(address)
  const high = hextets[at] ?? 0
  const low = hextets[at + 1] ?? 0
  return [high >> 8, high & 0xff, low >> 8, low & 0xff].join('.')
}

/** Eight 16-bit groups of an IPv6 address (a trailing dotted IPv4 part counts as two). */
function expandIpv6(address: string): number[] {
  let text = address
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text)
  if (dotted !== null) {
    const [a, b, c, d] = (dotted[1] as string).split('.').map(Number) as [number, number, number, number]
    text = `${text.slice(0, dotted.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`
  }
  const [head = '', tail] = text.split('::')
  const parse = (part: string) => (part === '' ? [] : part.split(':').map((h) => Number.parseInt(h, 16)))
  const front = parse(head)
  if (tail === undefined) return front
  const back = parse(tail)
  return [...front, ...Array<number>(8 - front.length - back.length).fill(0), ...back]
}
