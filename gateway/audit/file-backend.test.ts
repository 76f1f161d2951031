import { appendFile, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type Tampering, testAuditBackend } from './conformance/suite.js'
import { createFileAuditBackend } from './file-backend.js'

/** File-level tampering of the first segment, as someone with write access to the data directory could. */
async function tamperFile(dir: string, logId: string, kind: Tampering): Promise<void> {
  const path = join(dir, logId, 'segment-000001.jsonl')
  const lines = (await readFile(path, 'utf8')).trimEnd().split('\n')
  switch (kind) {
    case 'edit': {
      const entry = JSON.parse(lines[10] as string)
      entry.record.requester.dept = 'housing'
      lines[10] = JSON.stringify(entry)
      break
    }
    case 'delete':
      lines.splice(10, 1)
      break
    case 'insert':
      lines.splice(10, 0, lines[20] as string)
      break
    case 'swap':
      ;[lines[10], lines[11]] = [lines[11] as string, lines[10] as string]
      break
    case 'truncate':
      lines.splice(45)
      break
  }
  await writeFile(path, `${lines.join('\n')}\n`)
}

testAuditBackend({
  name: 'file',
  segmentUnit: 'bytes',
  async storage() {
    const dir = await mkdtemp(join(tmpdir(), 'qiao-auditlog-'))
    return {
      backend: () => createFileAuditBackend({ dir, now: () => Date.now() }),
      tamper: (logId, kind) => tamperFile(dir, logId, kind),
      async tear(logId) {
        const files = (await readdir(join(dir, logId))).filter((f) => f.startsWith('segment-')).sort()
        await appendFile(join(dir, logId, files.at(-1) as string), '{"logId":"gw-1","seq":10,"segm')
      },
      cleanup: () => rm(dir, { recursive: true, force: true }),
    }
  },
})
