import { readFileSync } from 'node:fs'

/**
 * Where a process's CPU time goes, from a V8 `.cpuprofile` (node --cpu-prof): every sample is charged to one stage
 * of the request pipeline (or to the server, the HTTP client, GC …). A sample whose own frame is generic — a builtin
 * such as JSON.stringify, node:crypto, Buffer, promise plumbing — is charged to the nearest caller that names a
 * stage, so that the HMAC of subject identifiers counts for audit and the RS256 check for authentication.
 */

interface CallFrame {
  readonly functionName: string
  readonly url: string
  readonly lineNumber: number
}
interface ProfileNode {
  readonly id: number
  readonly callFrame: CallFrame
  readonly children?: readonly number[]
}
interface CpuProfile {
  readonly nodes: readonly ProfileNode[]
  readonly samples: readonly number[]
  readonly timeDeltas: readonly number[]
}

export interface StageShare {
  readonly stage: string
  /** Share of the busy (non-idle) time, 0..1. */
  readonly share: number
  /** CPU µs per request when the request count is known. */
  readonly usPerRequest?: number
}

export interface ProfileSummary {
  readonly busyMs: number
  readonly idleMs: number
  readonly requests?: number
  readonly stages: StageShare[]
  /** Functions by own (self) time, the leaves of the flame graph. */
  readonly topSelf: Array<{ readonly fn: string; readonly share: number }>
}

// First match wins; tested against the frame's URL (or, for the pseudo-frames, its name).
const STAGES: ReadonlyArray<readonly [string, RegExp]> = [
  ['garbage collection', /^\(garbage collector\)$/],
  // jose is not listed: it counts for its caller (token verification in auth/, checkpoint signing in audit/).
  ['authenticate (JWT, token cache)', /gateway\/(pipeline\/20-authenticate|auth\/)/],
  ['authorize (matter/grant decision, quota)', /gateway\/(pipeline\/3[02]-|policy\/|quota\/)/],
  ['read parameters, validate (ajv)', /gateway\/(pipeline\/(35|50)-|validation\/)|node_modules\/ajv/],
  ['project / mask', /gateway\/(pipeline\/60-|projection\/)/],
  ['audit (record, HMAC of subjects, hash chain, Merkle tree, file write)', /gateway\/(pipeline\/70-|audit\/)/],
  ['respond (render the envelope)', /gateway\/pipeline\/80-/],
  ['connector (legacy format, signing, column mapping)', /\/connectors\//],
  ['resilience (deadline, retry, breaker, bulkhead)', /gateway\/(pipeline\/40-|resilience\/)|node_modules\/cockatiel/],
  ['HTTP client (undici)', /node_modules\/undici\//],
  ['metrics, tracing, logging', /gateway\/telemetry\/|node_modules\/(prom-client|pino|@opentelemetry)/],
  [
    'framework, routing, error mapping (Hono, Qiao glue)',
    /node_modules\/hono\/|gateway\/(app|routes|errors|pipeline\/10-)/,
  ],
  ['HTTP server adapter (@hono/node-server)', /node_modules\/@hono\/node-server/],
  [
    'Node HTTP server, socket reads and writes (both sides)',
    /^node:(_http_|net$|internal\/(streams|stream_base_commons|http))/,
  ],
  ['audit store benchmark driver', /bench\/audit-store/],
]
const GENERIC = 'other (runtime, promise plumbing, module loading)'
const IDLE = '(idle)'

function stageOf(frame: CallFrame): string | undefined {
  const key = frame.url || frame.functionName
  for (const [stage, pattern] of STAGES) if (pattern.test(key)) return stage
  return undefined
}

/** `fromMs`/`toMs`: the window to count, in ms since the profile started (about when the process started). */
export function summarizeProfile(
  file: string,
  options: { fromMs?: number; toMs?: number; requests?: number } = {},
): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile
  const byId = new Map(profile.nodes.map((n) => [n.id, n]))
  const parent = new Map<number, number>()
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id)
  const stageCache = new Map<number, string>()
  const stageOfNode = (id: number): string => {
    const cached = stageCache.get(id)
    if (cached) return cached
    let stage: string | undefined
    for (let cur: number | undefined = id; cur !== undefined && !stage; cur = parent.get(cur)) {
      const node = byId.get(cur)
      if (node) stage = stageOf(node.callFrame)
    }
    stage ??= GENERIC
    stageCache.set(id, stage)
    return stage
  }

  const fromUs = (options.fromMs ?? 0) * 1000
  const toUs = (options.toMs ?? Number.POSITIVE_INFINITY) * 1000
  const stageUs = new Map<string, number>()
  const selfUs = new Map<string, number>()
  let elapsed = 0
  let busy = 0
  let idle = 0
  for (let i = 0; i < profile.samples.length; i++) {
    elapsed += profile.timeDeltas[i] ?? 0
    if (elapsed < fromUs || elapsed > toUs) continue
    // A sample's duration is the gap to the next one.
    const us = profile.timeDeltas[i + 1] ?? 0
    const node = byId.get(profile.samples[i] as number)
    if (!node) continue
    const { functionName, url, lineNumber } = node.callFrame
    if (functionName === IDLE && !url) {
      idle += us
      continue
    }
    busy += us
    const stage = stageOfNode(node.id)
    stageUs.set(stage, (stageUs.get(stage) ?? 0) + us)
    const where = url
      ? `${url.replace(/^.*\/(node_modules|dist)\//, '').replace(/^file:\/\//, '')}:${lineNumber + 1}`
      : ''
    const fn = `${functionName || '(anonymous)'}${where ? ` ${where}` : ''}`
    selfUs.set(fn, (selfUs.get(fn) ?? 0) + us)
  }
  const perRequest = (us: number) => (options.requests ? us / options.requests : undefined)
  const stages = [...stageUs]
    .sort((a, b) => b[1] - a[1])
    .map(([stage, us]) => ({ stage, share: us / busy, usPerRequest: perRequest(us) }))
  const topSelf = [...selfUs]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 20)
    .map(([fn, us]) => ({ fn, share: us / busy }))
  return { busyMs: busy / 1000, idleMs: idle / 1000, requests: options.requests, stages, topSelf }
}
