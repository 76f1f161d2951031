import type { SegmentListing } from '../backend.js'
import type { PgContext } from './context.js'
import type { PgReader } from './reader.js'
import { transaction } from './schema.js'

/**
 * Retention: deletes the entries of sealed, checkpointed segments whose newest record is older than `before`
 * (the segment rows stay, marked purged, and so do their checkpoints); returns the segments removed.
 */
export async function purgeSegments(
  ctx: PgContext,
  reader: PgReader,
  logId: string,
  before: number,
): Promise<number[]> {
  const { T, rows } = ctx
  const segments = await reader.segments(logId)
  const sealed = new Set(
    (
      await rows<{ segment: number }>(`SELECT DISTINCT segment FROM ${T.checkpoints} WHERE log_id = $1 AND sealed`, [
        logId,
      ])
    ).map((r) => r.segment),
  )
  const removed: number[] = []
  for (let i = 0; i < segments.length - 1; i++) {
    const info = segments[i] as SegmentListing
    if (info.purged || !sealed.has(info.segment)) continue
    // Only a sealed, checkpointed segment whose newest record is older than the cut-off goes.
    const last = await reader.lastEntryOf(logId, info.segment)
    if (!last || Date.parse(last.loggedAt) >= before) break
    const client = await ctx.readPool().connect()
    try {
      // Marking it first takes the segment row's lock: of two concurrent purges, one removes it, once.
      const claimed = await transaction(client, async () => {
        const marked = await client.query(
          `UPDATE ${T.segments} SET purged = true WHERE log_id = $1 AND segment = $2 AND NOT purged`,
          [logId, info.segment],
        )
        if (marked.rowCount !== 1) return false
        await client.query(`DELETE FROM ${T.entries} WHERE log_id = $1 AND segment = $2`, [logId, info.segment])
        return true
      })
      if (claimed) removed.push(info.segment)
    } finally {
      client.release()
    }
  }
  return removed
}
