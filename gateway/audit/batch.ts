import { entryLineLength, type LogEntry, leafText, nextChainBytes, writeEntryLine } from './entry.js'
import type { Hasher } from './merkle.js'
import type { AuditRecord } from './record.js'

/** Where a batch continues the log: the committed state before it. */
export interface BatchStart {
  readonly logId: string
  readonly nextSeq: number
  readonly segment: number
  /** Leaf index in the open segment of the batch's first entry. */
  readonly index: number
  /** Chain value (hex) after the last committed entry. */
  readonly chain: string
  /** One ISO time for the whole batch. */
  readonly loggedAt: string
}

/** A batch ready for the backend: its entries, their leaves, and the same entries as canonical JSON lines. */
export interface Batch {
  readonly entries: LogEntry[]
  readonly leaves: Buffer[]
  readonly lines: Buffer
  /** Bytes of `lines` (what file stores rotate by). */
  readonly bytes: number
  /** Chain value (hex) after the batch's last entry. */
  readonly chain: string
}

/**
 * Builds a batch's entries against the committed state; it changes nothing, so a batch the backend refuses leaves
 * seq, chain and tree as they were.
 */
export function buildBatch(hasher: Hasher, start: BatchStart, records: readonly AuditRecord[]): Batch {
  const entries: LogEntry[] = new Array(records.length)
  const inputs: Buffer[] = new Array(records.length)
  const leaves: Buffer[] = new Array(records.length)
  let bytes = 0
  let c: Buffer = Buffer.from(start.chain, 'hex')
  let cHex = start.chain
  for (let i = 0; i < records.length; i++) {
    const base = {
      logId: start.logId,
      seq: start.nextSeq + i,
      segment: start.segment,
      index: start.index + i,
      loggedAt: start.loggedAt,
      record: records[i] as AuditRecord,
    }
    // One canonical serialisation and one UTF-8 encoding per record: hashed as the leaf, and (with the chain
    // value spliced in) stored as the line.
    const input = Buffer.from(leafText(base), 'utf8')
    const leaf = hasher.leaf(input)
    c = nextChainBytes(hasher, c, leaf)
    cHex = c.toString('hex')
    inputs[i] = input
    leaves[i] = leaf
    entries[i] = { ...base, chain: cHex }
    bytes += entryLineLength(input, hasher.size)
  }
  const lines = Buffer.allocUnsafe(bytes)
  let at = 0
  for (let i = 0; i < records.length; i++)
    at = writeEntryLine(lines, at, inputs[i] as Buffer, (entries[i] as LogEntry).chain)
  return { entries, leaves, lines, bytes, chain: cHex }
}
