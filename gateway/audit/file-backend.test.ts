import { appendFile, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { openAuditLog } from './audit-log.js'
import { canonicalJson } from './canonical-json.js'
import { loadOrCreateAuditSigningKey } from './checkpoint.js'
import { exchangeRecord } from './conformance/records.js'
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

describe('file audit segments', () => {
  it('store each entry as one line of RFC 8785 canonical JSON, byte for byte, including non-ASCII text', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'qiao-auditlines-'))
    try {
      const log = await openAuditLog({
        backend: createFileAuditBackend({ dir, now: () => Date.now() }),
        logId: 'gw-lines',
        hashAlgorithm: 'sha256',
        signingKey: await loadOrCreateAuditSigningKey(join(dir, 'key.jwk.json')),
        clock: { now: () => Date.parse('2026-11-26T02:00:00Z') },
        checkpointEvery: 1000,
        checkpointIntervalMs: 60_000,
        segmentMaxSize: 64 * 1024 * 1024,
        segmentMaxAgeMs: 24 * 3_600_000,
      })
      // Concurrent appends: one batch, so the lines are laid out back to back in one buffer.
      await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          log.append(exchangeRecord(i, { approvalRef: `宁住建共享〔2026〕${i}号 𠮷`, case: `办件-${i}` })),
        ),
      )
      await log.close()
      const text = await readFile(join(dir, 'gw-lines', 'segment-000001.jsonl'), 'utf8')
      const lines = text.split('\n')
      expect(lines.pop()).toBe('')
      expect(lines).toHaveLength(20)
      for (const line of lines) expect(line).toBe(canonicalJson(JSON.parse(line)))
      expect(JSON.parse(lines[19] as string).record.approvalRef).toBe('宁住建共享〔2026〕19号 𠮷')
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})
