import type pg from 'pg'
import type { RecoveredLog } from '../backend.js'
import { genesisChain, leafInput, nextChain } from '../entry.js'
import type { Hasher } from '../merkle.js'
import type { PgContext } from './context.js'
import { type PgReader, toCheckpoint } from './reader.js'

/** Reads the open segment back under the lock and checks it against the chain; throws on any inconsistency. */
export async function recoverOpenLog(
  ctx: PgContext,
  reader: Pick<PgReader, 'segmentEntries' | 'lastEntryOf'>,
  client: pg.ClientBase,
  logId: string,
  hasher: Hasher,
): Promise<RecoveredLog> {
  const { options, T } = ctx
  const damaged = (what: string) => new Error(`audit log ${logId} damaged: ${what}; run \`qiao audit verify\``)
  // New log: its row and segment 1, in one statement.
  await client.query(
    `WITH l AS (
       INSERT INTO ${T.logs} (log_id, hash_alg, created_at) VALUES ($1, $2, $3::timestamptz)
       ON CONFLICT (log_id) DO NOTHING RETURNING log_id
     )
     INSERT INTO ${T.segments} (log_id, segment, first_seq, opened_at) SELECT log_id, 1, 0, $3::timestamptz FROM l`,
    [logId, hasher.algorithm, new Date(options.now()).toISOString()],
  )
  const [log] = (await client.query<{ hash_alg: string }>(`SELECT hash_alg FROM ${T.logs} WHERE log_id = $1`, [logId]))
    .rows
  if (log?.hash_alg !== hasher.algorithm) {
    throw new Error(`audit log ${logId} uses ${log?.hash_alg}; it cannot continue with ${hasher.algorithm}`)
  }
  const [current] = (
    await client.query<{ segment: number; first_seq: string; opened_at: Date; purged: boolean }>(
      `SELECT segment, first_seq, opened_at, purged FROM ${T.segments} WHERE log_id = $1 ORDER BY segment DESC LIMIT 1`,
      [logId],
    )
  ).rows
  if (!current) throw damaged('no segment')
  if (current.purged) throw damaged(`open segment ${current.segment} is marked purged`)
  const segment = current.segment
  const firstSeq = Number(current.first_seq)
  const lastOf = async (where: string, values: unknown[]) => {
    const [row] = (
      await client.query<{ jws: string }>(
        `SELECT jws FROM ${T.checkpoints} WHERE log_id = $1 AND ${where} ORDER BY id DESC LIMIT 1`,
        [logId, ...values],
      )
    ).rows
    return row ? toCheckpoint(row.jws) : undefined
  }
  const lastCheckpoint = await lastOf('segment = $2', [segment])
  const lastSeal = await lastOf('sealed', [])

  // The chain value before the open segment: the previous segment's last entry, or its seal.
  let chain = genesisChain(hasher, logId)
  let lastLoggedAt = 0
  if (segment > 1) {
    const previous = await reader.lastEntryOf(logId, segment - 1)
    const seal = await lastOf('sealed AND segment = $2', [segment - 1])
    if (previous) {
      if (previous.seq + 1 !== firstSeq) {
        throw damaged(`segment ${segment} starts at seq ${firstSeq}, segment ${segment - 1} ends at ${previous.seq}`)
      }
      chain = previous.chain
      lastLoggedAt = Date.parse(previous.loggedAt)
    } else if (seal) chain = seal.body.chainHead
  }

  // The open segment, in seq order, against the chain.
  const leaves: Buffer[] = []
  /** Chain after the last checkpointed leaf, to check the checkpoint against. */
  let chainAtCheckpoint: string | undefined
  let nextSeq = firstSeq
  for await (const entry of reader.segmentEntries(logId, segment)) {
    const leaf = hasher.leaf(leafInput(entry))
    const expected = nextChain(hasher, chain, leaf)
    if (entry.logId !== logId || entry.seq !== nextSeq || entry.index !== leaves.length || entry.chain !== expected) {
      throw damaged(`at seq ${nextSeq} (segment ${segment} index ${leaves.length})`)
    }
    chain = expected
    leaves.push(leaf)
    if (lastCheckpoint && leaves.length === lastCheckpoint.body.size) chainAtCheckpoint = chain
    lastLoggedAt = Date.parse(entry.loggedAt)
    nextSeq++
  }
  // Entries past the open segment (or in it but not read above) would collide with the next appends.
  const [{ max } = { max: null }] = (
    await client.query<{ max: string | null }>(`SELECT max(seq) AS max FROM ${T.entries} WHERE log_id = $1`, [logId])
  ).rows
  if (max !== null && Number(max) !== nextSeq - 1) {
    throw damaged(`holds seq ${max}, but the open segment ${segment} ends before seq ${nextSeq}`)
  }
  if (lastCheckpoint && lastCheckpoint.body.size > leaves.length) {
    throw damaged(
      `checkpoint covers ${lastCheckpoint.body.size} records of segment ${segment}, only ${leaves.length} remain`,
    )
  }
  if (lastCheckpoint && lastCheckpoint.body.size > 0 && chainAtCheckpoint !== lastCheckpoint.body.chainHead) {
    throw damaged(`segment ${segment} differs from its checkpoint at size ${lastCheckpoint.body.size}`)
  }

  let recovered: RecoveredLog = {
    nextSeq,
    chain,
    lastLoggedAt,
    segment,
    segmentFirstSeq: firstSeq,
    segmentLeaves: leaves,
    segmentOpenedAt: current.opened_at.getTime(),
    segmentSize: leaves.length,
    lastCheckpoint,
    lastSeal: lastCheckpoint?.body.sealed ? lastCheckpoint : lastSeal,
    repairs: [],
  }
  // Stopped between sealing a segment and starting the next: start it now.
  if (lastCheckpoint?.body.sealed) {
    const openedAt = options.now()
    await client.query(
      `INSERT INTO ${T.segments} (log_id, segment, first_seq, opened_at) VALUES ($1, $2, $3, $4::timestamptz)`,
      [logId, segment + 1, nextSeq, new Date(openedAt).toISOString()],
    )
    recovered = {
      ...recovered,
      segment: segment + 1,
      segmentFirstSeq: nextSeq,
      segmentLeaves: [],
      segmentOpenedAt: openedAt,
      segmentSize: 0,
      lastCheckpoint: undefined,
    }
  }
  return recovered
}
