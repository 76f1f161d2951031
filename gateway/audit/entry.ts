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
  // Keys in canonical order, so canonicalJson takes its one-JSON.stringify path.
  return canonicalJson({
    index: entry.index,
    logId: entry.logId,
    loggedAt: entry.loggedAt,
    record: entry.record,
    segment: entry.segment,
    seq: entry.seq,
  })
}

/** The bytes a leaf hashes. */
export function leafInput(entry: Omit<LogEntry, 'chain'>): Buffer {
  return Buffer.from(leafText(entry), 'utf8')
}

/**
 * The stored line: the canonical entry with its chain value, `{"chain":"<hex>",<leaf text after its "{">}\n`. `chain`
 * sorts before every other key, so the line is itself canonical JSON, built from the leaf's bytes without
 * serialising twice.
 */
const LINE_HEAD = Buffer.from('{"chain":"', 'latin1')
const LINE_AFTER_CHAIN = Buffer.from('",', 'latin1')
const NEWLINE = 0x0a

/** Bytes of the stored line for a leaf input already encoded (UTF-8) and a chain of `hashSize` bytes. */
export function entryLineLength(leafBytes: Uint8Array, hashSize: number): number {
  return LINE_HEAD.length + hashSize * 2 + LINE_AFTER_CHAIN.length + leafBytes.length - 1 + 1
}

/**
 * Writes the stored line into `out` at `offset` from the encoded leaf input and the chain value's hex text, so a
 * batch is encoded to UTF-8 once (for the leaf hash) and stored from the same bytes; returns the next offset.
 */
export function writeEntryLine(out: Buffer, offset: number, leafBytes: Uint8Array, chainHex: string): number {
  let at = offset + LINE_HEAD.copy(out, offset)
  at += out.write(chainHex, at, 'latin1')
  at += LINE_AFTER_CHAIN.copy(out, at)
  out.set(leafBytes.subarray(1), at)
  at += leafBytes.length - 1
  out[at] = NEWLINE
  return at + 1
}

/** Chain value before the first entry of a log. */
export function genesisChain(hasher: Hasher, logId: string): string {
  return hasher.digest(Buffer.from(`qiao:audit-chain:${logId}`, 'utf8')).toString('hex')
}

export function nextChain(hasher: Hasher, previous: string, leafHash: Uint8Array): string {
  return hasher.digest(Buffer.from(previous, 'hex'), leafHash).toString('hex')
}

/** nextChain on raw bytes, for the append path (no hex round trip per record). */
export function nextChainBytes(hasher: Hasher, previous: Uint8Array, leafHash: Uint8Array): Buffer {
  return hasher.digest(previous, leafHash)
}
