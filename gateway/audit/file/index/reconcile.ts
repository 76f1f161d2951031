import { open } from 'node:fs/promises'
import { join } from 'node:path'
import { fileOf, type Manifest } from '../manifest.js'
import { entryOf, type Position, readAt, segmentLimit } from './lines.js'
import {
  type Database,
  deleteAll,
  deleteFrom,
  deleteRange,
  EMPTY_PROGRESS,
  type Progress,
  readProgress,
  type Statements,
  writeProgress,
} from './store.js'

/**
 * The index checked against its log when the writer opens it; the log is the truth. Rows of the lines a set-aside
 * file no longer counts, of purged segments, and past the log's end (a tail cut off since) are taken away; an
 * index whose last line is not the log's (another log's file, rows that disagree with its progress) is emptied and
 * built again. Returns the progress and where the first unindexed line starts.
 */
export async function reconcile(
  db: Database,
  st: Statements,
  logDir: string,
  logId: string,
  m: Manifest,
  recovered: { readonly nextSeq: number; readonly chain: string },
  warn: (msg: string, reason: string) => void,
): Promise<{ progress: Progress; next: Position }> {
  let p = readProgress(db)
  const save = (next: Progress, work: () => void) => {
    db.transaction(() => {
      work()
      writeProgress(db, next)
    })()
    p = next
  }
  const cut = (seq: number, chain: string | null) =>
    save({ ...p, nextSeq: seq, lastChain: chain, generation: p.generation + 1 }, () => deleteFrom(db, seq))

  m.segments.forEach((info, i) => {
    if (info.setAside) {
      const limit = segmentLimit(info)
      const holding = st.runAt(limit)
      const after = st.runFrom(limit)
      const beyond =
        (holding?.segment === info.segment && holding.first + holding.ends.length > limit) ||
        after?.segment === info.segment
      if (beyond) cut(limit, null)
    }
    const following = m.segments[i + 1]
    if (info.purged && following) {
      const r = st.runFrom(info.firstSeq)
      if (r && r.first < following.firstSeq) {
        save({ ...p, generation: p.generation + 1 }, () => deleteRange(db, info.firstSeq, following.firstSeq))
      }
    }
  })
  if (p.nextSeq > recovered.nextSeq) cut(recovered.nextSeq, recovered.nextSeq > 0 ? recovered.chain : null)

  for (let attempt = 0; ; attempt++) {
    const problem = await lastLineProblem(st, logDir, logId, m, p, recovered)
    if (problem === undefined) break
    if (attempt > 0) throw new Error(`audit index of ${logId} cannot be made to match the log: ${problem}`)
    warn('audit index does not match the log; rebuilding it from the segments', problem)
    save({ ...EMPTY_PROGRESS, generation: p.generation + 1 }, () => deleteAll(db))
  }

  const last = st.lastRun()
  if (last) {
    return {
      progress: p,
      next: { segment: last.segment, offset: last.offset + (last.ends.at(-1) ?? 0), seq: p.nextSeq },
    }
  }
  // Nothing indexed, or only lines of segments purged since: start at the first segment still there.
  const first = m.segments.find((s) => !s.purged)
  const next = { segment: first?.segment ?? 1, offset: 0, seq: first?.firstSeq ?? 0 }
  if (p.nextSeq !== next.seq) save({ ...p, nextSeq: next.seq, lastChain: null }, () => {})
  return { progress: p, next }
}

/** Why the index's last line is not this log's (undefined when it is). */
async function lastLineProblem(
  st: Statements,
  logDir: string,
  logId: string,
  m: Manifest,
  p: Progress,
  recovered: { readonly nextSeq: number; readonly chain: string },
): Promise<string | undefined> {
  const last = st.lastRun()
  if (!last) {
    const first = m.segments.find((s) => !s.purged)
    return p.nextSeq > (first?.firstSeq ?? 0) ? 'progress without rows' : undefined
  }
  if (last.first + last.ends.length !== p.nextSeq) return 'rows do not end where the progress says'
  const info = m.segments.find((s) => s.segment === last.segment)
  if (!info || info.purged) return `its last line is in segment ${last.segment}, which the log no longer has`
  const start = last.offset + (last.ends.length > 1 ? (last.ends.at(-2) as number) : 0)
  const end = last.offset + (last.ends.at(-1) as number)
  let bytes: Buffer
  try {
    const file = await open(join(logDir, fileOf(info)), 'r')
    try {
      bytes = await readAt(file, start, end - start)
    } finally {
      await file.close()
    }
  } catch (err) {
    return `its last line cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'})`
  }
  const entry = entryOf(bytes.subarray(0, Math.max(0, bytes.length - 1)), logId, p.nextSeq - 1)
  if (!entry || bytes.at(-1) !== 0x0a) return `seq ${p.nextSeq - 1} is not where the index has it`
  if (p.lastChain !== null && entry.chain !== p.lastChain) return `seq ${p.nextSeq - 1} is another record`
  if (p.nextSeq === recovered.nextSeq && entry.chain !== recovered.chain) return 'the log ends with another record'
  return undefined
}
