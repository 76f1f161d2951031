import { MATTER, type PeerHandle, QUERY_PATH } from './peers.js'

/**
 * Checks, before measuring, that a peer answers the benchmark request the way it should: the upstream's envelope
 * through P0–P2, N1 and N2, the upstream's records through N3 (the Hono floor answers `{data}`), Qiao's projected
 * and masked records through every Qiao instance, and refusals for bad tokens where a peer checks them. A benchmark
 * of a peer that answers 401 to everything would measure nothing.
 */

/** Peers that are Qiao itself (the side-by-side P3 and P3W, the paired and the workers instances). */
export function isQiao(peer: PeerHandle): boolean {
  return !['P0', 'P1', 'P2', 'N1', 'N2', 'N3'].includes(peer.id)
}

export interface ProbeTokens {
  readonly good: string
  /** Signature no longer matches (payload changed). */
  readonly forged: string
  readonly expired: string
  readonly wrongScope: string
}

export function requestHeaders(projectCase = 'NJ-2026-000123'): Record<string, string> {
  return { 'Qiao-Matter': MATTER, 'Qiao-Case': projectCase, 'Content-Type': 'application/json' }
}

async function post(peer: PeerHandle, token: string | undefined, body: string) {
  const res = await fetch(`${peer.baseUrl}${QUERY_PATH}`, {
    method: 'POST',
    headers: { ...requestHeaders(), ...(token ? { Authorization: `Bearer ${token}` } : {}) },
    body,
  })
  return { status: res.status, headers: res.headers, text: await res.text() }
}

function fail(peer: PeerHandle, what: string, detail: string): never {
  throw new Error(`probe of ${peer.id} failed: ${what}: ${detail.slice(0, 500)}`)
}

/** Returns the number of records the peer answered. */
export async function probePeer(
  peer: PeerHandle,
  tokens: ProbeTokens,
  body: string,
  options: { negatives: boolean; expectRows: number },
): Promise<number> {
  const ok = await post(peer, tokens.good, body)
  if (ok.status !== 200) fail(peer, `valid request answered ${ok.status}`, ok.text)
  const json = JSON.parse(ok.text) as Record<string, unknown>
  let rows: number
  if (isQiao(peer)) {
    const data = json.data as Array<Record<string, unknown>>
    const meta = json.meta as { masked?: string[]; auditId?: string }
    rows = data.length
    if (!ok.headers.get('qiao-audit-id') || !meta.auditId) fail(peer, 'no audit id', ok.text)
    if (!meta.masked?.includes('ownerLeadIdNo')) fail(peer, 'ownerLeadIdNo not masked', ok.text)
    const first = data[0] ?? {}
    if (typeof first.ownerLeadIdNo !== 'string' || !first.ownerLeadIdNo.includes('*')) {
      fail(peer, 'masking not applied', JSON.stringify(first))
    }
    if ('SGXKZBH' in first || 'JSFZRZJHM' in first) fail(peer, 'wire columns leaked', JSON.stringify(first))
  } else {
    const envelope = peer.id === 'N3' ? Array.isArray(json.data) : json.code === '00' && Array.isArray(json.data)
    if (!envelope) fail(peer, 'not the upstream envelope', ok.text)
    rows = (json.data as unknown[]).length
  }
  if (rows !== options.expectRows) fail(peer, `expected ${options.expectRows} records, got ${rows}`, ok.text)

  if (options.negatives && (peer.id === 'P2' || isQiao(peer))) {
    const cases: Array<[string, string | undefined, number[]]> = [
      ['no token', undefined, [401, 403]],
      ['forged token', tokens.forged, [401, 403]],
      ['expired token', tokens.expired, [401, 403]],
      ['token without the scope', tokens.wrongScope, [403]],
    ]
    for (const [what, token, expected] of cases) {
      const res = await post(peer, token, body)
      if (!expected.includes(res.status)) fail(peer, `${what} answered ${res.status}`, res.text)
    }
  }
  return rows
}
