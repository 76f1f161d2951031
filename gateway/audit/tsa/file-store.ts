import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { AuditBackend } from '../backend.js'
import { type AuditFileSystem, nodeFileSystem, writeFully } from '../file-io.js'
import { checkpointImprint } from './token.js'

/**
 * The file store's checkpoint timestamps: `<audit dir>/<log id>/timestamps.jsonl`, one line per token,
 * `{"checkpoint": <hex SHA-256 of the checkpoint's JWS>, "token": <base64 DER TimeStampToken>}`, appended and
 * fsync'ed. A file of its own beside checkpoints.jsonl, so stores written before timestamping read as they did
 * (no tokens) and checkpoints.jsonl stays append-only. A torn last line was never acknowledged and is skipped.
 */
export const TIMESTAMPS = 'timestamps.jsonl'

export function fileTimestampStore(
  dir: string,
  fs: AuditFileSystem = nodeFileSystem,
): Pick<AuditBackend, 'storeTimestamp' | 'timestamps'> {
  return {
    async storeTimestamp(logId, jws, token) {
      const line = `${JSON.stringify({ checkpoint: checkpointImprint(jws).toString('hex'), token: Buffer.from(token).toString('base64') })}\n`
      const file = await fs.open(join(dir, logId, TIMESTAMPS), 'a', 0o600)
      try {
        await writeFully(file, Buffer.from(line, 'utf8'))
        await file.sync()
      } finally {
        await file.close()
      }
    },
    async timestamps(logId) {
      const found = new Map<string, Uint8Array>()
      let text: string
      try {
        text = await readFile(join(dir, logId, TIMESTAMPS), 'utf8')
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return found
        throw err
      }
      for (const line of text.split('\n')) {
        if (line === '') continue
        let parsed: { checkpoint?: unknown; token?: unknown }
        try {
          parsed = JSON.parse(line) as typeof parsed
        } catch {
          continue
        }
        if (typeof parsed.checkpoint === 'string' && typeof parsed.token === 'string') {
          found.set(parsed.checkpoint, new Uint8Array(Buffer.from(parsed.token, 'base64')))
        }
      }
      return found
    },
  }
}
