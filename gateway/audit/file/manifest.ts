import { mkdir, readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { JSONWebKeySet, JWK } from 'jose'
import type { SetAsideInfo } from '../backend.js'
import { type AuditFileSystem, replaceFile } from '../file-io.js'

/**
 * The file store's layout on disk: per log, `<audit dir>/<log id>/` holds segment files, `checkpoints.jsonl` and the
 * manifest `log.json` (segment starts, purges, set-asides); the audit dir holds the public key history.
 */

export interface SegmentInfo {
  readonly segment: number
  readonly firstSeq: number
  readonly openedAt: number
  /** Set once retention removed the segment's file (its checkpoints stay). */
  readonly purged?: boolean
  readonly setAside?: SetAsideInfo
}

export interface Manifest {
  readonly logId: string
  readonly hashAlg: string
  readonly segments: SegmentInfo[]
}

export const segmentFile = (segment: number) => `segment-${String(segment).padStart(6, '0')}.jsonl`
export const setAsideFile = (segment: number) => `segment-${String(segment).padStart(6, '0')}.set-aside.jsonl`
/** The file holding a segment's lines, and how many of them belong to the log (a set-aside file: its prefix). */
export const fileOf = (info: SegmentInfo) => (info.setAside ? info.setAside.file : segmentFile(info.segment))
export const linesOf = (info: SegmentInfo) => info.setAside?.records
export const CHECKPOINTS = 'checkpoints.jsonl'
export const MANIFEST = 'log.json'
/** Public audit keys, every one ever used here: what `qiao audit verify` checks signatures with. */
export const KEYS = 'audit-keys.jwks.json'

export const codeOf = (err: unknown) => (err as NodeJS.ErrnoException).code ?? 'error'

export async function readManifest(dir: string): Promise<Manifest | undefined> {
  try {
    return JSON.parse(await readFile(join(dir, MANIFEST), 'utf8')) as Manifest
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw err
  }
}

export async function listLogs(dir: string): Promise<string[]> {
  try {
    const names = await readdir(dir, { withFileTypes: true })
    const logs: string[] = []
    for (const d of names) {
      if (d.isDirectory() && (await readManifest(join(dir, d.name)))) logs.push(d.name)
    }
    return logs.sort()
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return []
    throw err
  }
}

/** Replaces a log's manifest atomically and durably. */
export async function writeManifestFile(fs: AuditFileSystem, logDir: string, next: Manifest): Promise<void> {
  await replaceFile(fs, logDir, join(logDir, MANIFEST), `${JSON.stringify(next)}\n`, 0o600)
}

export async function readKeys(dir: string): Promise<JSONWebKeySet> {
  try {
    return JSON.parse(await readFile(join(dir, KEYS), 'utf8')) as JSONWebKeySet
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { keys: [] }
    throw err
  }
}

/** Adds a public key to the key history (idempotent by kid). */
export async function publishKeyFile(fs: AuditFileSystem, dir: string, jwk: JWK): Promise<void> {
  const current = await readKeys(dir)
  if (current.keys.some((k) => k.kid === jwk.kid)) return
  await mkdir(dir, { recursive: true, mode: 0o700 })
  const body = `${JSON.stringify({ keys: [...current.keys, jwk] }, null, 2)}\n`
  await replaceFile(fs, dir, join(dir, KEYS), body, 0o644)
}
