import { readFile } from 'node:fs/promises'
import type { AuditBackend } from '../backend.js'
import type { SignedCheckpoint } from '../checkpoint.js'
import type { TsaPolicy } from './policy.js'
import { checkpointImprint, parseTsaRoots, verifyCheckpointToken } from './token.js'

/**
 * `qiao audit verify`'s timestamp checks, per log: each checkpoint's token is over that checkpoint's JWS, signed by
 * a TSA whose certificate chains to a configured root; genTimes never go back in log order. Skew between a
 * checkpoint's own time and its genTime is reported: a genTime more than `maxSkewMs` before the checkpoint's time is
 * a problem (the checkpoint claims a time it cannot have had), one long after is a warning (under `continue` a
 * backlog is timestamped late by design). A checkpoint without a token is a warning under `continue` and a problem
 * under `refuse-after`.
 */
export interface TimestampCheckOptions {
  /** PEM bundle of trusted TSA roots. */
  readonly rootsFile: string
  readonly policy: TsaPolicy
  /** Tolerated |genTime − checkpoint time| (clock skew); default 10 minutes. */
  readonly maxSkewMs?: number
}

export interface TimestampFindings {
  readonly problems: Array<{ segment: number; message: string }>
  readonly warnings: string[]
}

const DEFAULT_MAX_SKEW_MS = 10 * 60_000

export async function checkCheckpointTimestamps(
  backend: Pick<AuditBackend, 'timestamps'>,
  logId: string,
  checkpoints: readonly SignedCheckpoint[],
  options: TimestampCheckOptions,
): Promise<TimestampFindings> {
  const roots = parseTsaRoots(await readFile(options.rootsFile, 'utf8'))
  const maxSkewMs = options.maxSkewMs ?? DEFAULT_MAX_SKEW_MS
  const tokens = await backend.timestamps(logId)
  const problems: TimestampFindings['problems'] = []
  const warnings: string[] = []
  let previous: { genTime: number; where: string } | undefined
  let missing = 0
  let largestSkewMs = 0
  /** Timestamped well after signing: a backlog caught up, or the gateway's clock runs behind. */
  let late = 0
  for (const cp of checkpoints) {
    const where = `checkpoint of segment ${cp.body.segment} at size ${cp.body.size} (${cp.body.time})`
    const token = tokens.get(checkpointImprint(cp.jws).toString('hex'))
    if (!token) {
      missing++
      continue
    }
    let genTime: number
    try {
      genTime = (await verifyCheckpointToken(token, cp.jws, roots)).genTime.getTime()
    } catch (err) {
      problems.push({
        segment: cp.body.segment,
        message: `${where}: timestamp token does not verify: ${(err as Error).message}`,
      })
      continue
    }
    const skewMs = genTime - Date.parse(cp.body.time)
    largestSkewMs = Math.max(largestSkewMs, Math.abs(skewMs))
    if (skewMs < -maxSkewMs) {
      // The independent time says the checkpoint was signed later than it claims: its time is not to be trusted.
      problems.push({
        segment: cp.body.segment,
        message: `${where}: timestamped at ${new Date(genTime).toISOString()}, ${Math.round(-skewMs / 1000)} s before its own time`,
      })
    } else if (skewMs > maxSkewMs) late++
    if (previous && genTime < previous.genTime) {
      problems.push({
        segment: cp.body.segment,
        message: `${where}: timestamp ${new Date(genTime).toISOString()} is earlier than that of the ${previous.where}`,
      })
    }
    previous = { genTime, where }
  }
  const timestamped = checkpoints.length - missing
  warnings.push(
    `${logId}: ${timestamped} of ${checkpoints.length} checkpoint(s) carry an RFC 3161 timestamp token; largest skew ${Math.round(largestSkewMs / 1000)} s`,
  )
  if (late > 0) {
    warnings.push(
      `${logId}: ${late} checkpoint(s) were timestamped more than ${maxSkewMs / 1000} s after their own time (a backlog caught up, or the gateway clock is behind)`,
    )
  }
  if (missing > 0) {
    const message = `${missing} checkpoint(s) have no timestamp token`
    if (options.policy.kind === 'continue')
      warnings.push(`${logId}: ${message} (allowed under QIAO_AUDIT_TSA_POLICY=continue)`)
    else
      problems.push({
        segment: checkpoints.at(-1)?.body.segment ?? 0,
        message: `${message} (QIAO_AUDIT_TSA_POLICY requires one on each)`,
      })
  }
  return { problems, warnings }
}

/** The verify option for a roots file (the CLI's --tsa-roots, else QIAO_AUDIT_TSA_ROOTS_FILE): none without one. */
export function timestampCheck(
  rootsFile: string | undefined,
  policy: TsaPolicy,
): { timestamps?: TimestampCheckOptions } {
  return rootsFile === undefined ? {} : { timestamps: { rootsFile, policy } }
}
