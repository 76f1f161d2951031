import { appendFile, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, expect } from 'vitest'
import type { AuditBackend } from '../../backend.js'
import { type Tampering, testAuditBackend } from '../../conformance/suite.js'
import { createFileAuditBackend } from '../../file-backend.js'
import type { IndexEvent } from './index.js'

/**
 * The shared conformance suite once more on the file store, every query answered only once the index has caught
 * up with the log, so that the index — not the scan of what it has not reached — answers them; and nothing the
 * suite does makes the index fall back or rebuild.
 */

const events: IndexEvent[] = []

/** Edits the first segment as someone with write access to the directory could (as file-backend.test.ts does). */
async function tamper(dir: string, logId: string, kind: Tampering): Promise<void> {
  const path = join(dir, logId, 'segment-000001.jsonl')
  const lines = (await readFile(path, 'utf8')).trimEnd().split('\n')
  if (kind === 'edit') {
    const entry = JSON.parse(lines[10] as string)
    entry.record.requester.dept = 'housing'
    lines[10] = JSON.stringify(entry)
  } else if (kind === 'delete') lines.splice(10, 1)
  else if (kind === 'insert') lines.splice(10, 0, lines[20] as string)
  else if (kind === 'swap') [lines[10], lines[11]] = [lines[11] as string, lines[10] as string]
  else lines.splice(45)
  await writeFile(path, `${lines.join('\n')}\n`)
}

testAuditBackend({
  name: 'file, queries from the caught-up index',
  segmentUnit: 'bytes',
  async storage() {
    const dir = await mkdtemp(join(tmpdir(), 'qiao-auditlog-indexed-'))
    return {
      backend(): AuditBackend {
        const backend = createFileAuditBackend({ dir, now: () => Date.now(), onIndexEvent: (e) => events.push(e) })
        return {
          ...backend,
          async *query(filter, after) {
            await backend.indexCaughtUp()
            yield* backend.query(filter, after)
          },
        }
      },
      tamper: (logId, kind) => tamper(dir, logId, kind),
      async tear(logId) {
        const files = (await readdir(join(dir, logId))).filter((f) => f.startsWith('segment-')).sort()
        await appendFile(join(dir, logId, files.at(-1) as string), '{"logId":"gw-1","seq":10,"segm')
      },
      cleanup: () => rm(dir, { recursive: true, force: true }),
    }
  },
})

afterAll(() => {
  // Building an index from the segments is news (info); a rebuild, a fallback or a failure would be a warning.
  expect(events.filter((e) => e.level !== 'info')).toEqual([])
})
