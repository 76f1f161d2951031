import { canonicalJson } from './canonical-json.js'
import type { Hasher } from './merkle.js'
import type { AuditRecord } from './record.js'

/**
 * One line of the audit log. Entries are numbered per log (`seq`, gap-free from 0), grouped in segments, each
 * segment is an RFC 9162 Merkle tree (`index` is the leaf index in it), and every entry also extends a hash chain
 * that runs across segments: chain_i = H(chain_{i-1} || leaf_i).
 */
export interface LogEntry {
  readonly logId: string
  readonly seq: number
  readonly segment: number
  readonly index: number
  /** ISO time the entry was sequenced; never decreases within a log (the order auditors page through). */
  readonly loggedAt: string
  /** Hex chain value after this entry. */
  readonly chain: string
  readonly record: AuditRecord
}

/** The text a leaf hashes: RFC 8785 canonical JSON of everything but the derived chain value. */
export function leafText(entry: Omit<LogEntry, 'chain'>): string {
  return canonicalJson({
    logId: entry.logId,
    seq: entry.seq,
    segment: entry.segment,
    index: entry.index,
    loggedAt: entry.loggedAt,
    record: entry.record,
  })
}

/** The bytes a leaf hashes. */
export function leafInput(entry: Omit<LogEntry, 'chain'>): Buffer {
  return Buffer.from(leafText(entry), 'utf8')
}

/**
 * The stored line: the canonical entry with its chain value. `chain` sorts before every other key, so the line is
 * the leaf text with the chain spliced in first — itself canonical JSON, without serialising twice.
 */
export function entryLineFrom(leafTextOfEntry: string, chain: string): string {
  return `{"chain":"${chain}",${leafTextOfEntry.slice(1)}\n`
}

/** Chain value before the first entry of a log. */
export function genesisChain(hasher: Hasher, logId: string): string {
  return hasher.digest(Buffer.from(`qiao:audit-chain:${logId}`, 'utf8')).toString('hex')
}

export function nextChain(hasher: Hasher, previous: string, leafHash: Uint8Array): string {
  return hasher.digest(Buffer.from(previous, 'hex'), leafHash).toString('hex')
}
