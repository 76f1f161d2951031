import { mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createFileAuditStore } from './file-store.js'
import type { AuditRecord } from './record.js'
import { AuditUnavailableError } from './store.js'

let dir: string
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'qiao-audit-'))
})
afterEach(async () => {
  await rm(dir, { recursive: true, force: true })
})

function record(i: number): AuditRecord {
  return {
    id: `id-${i}`,
    time: '2026-11-26T02:00:00.000Z',
    kind: 'exchange',
    requestId: `req-${i}`,
    requester: { dept: 'drc', sub: 'officer-001' },
    decision: 'allow',
    reason: 'ok',
    status: 200,
    fields: ['permitNo'],
    masked: [],
    recordCount: 1,
    totalMs: 3,
    catalogVersion: 'test',
  }
}

describe('file audit store', () => {
  it('appends JSON lines and resolves once synced', async () => {
    const store = createFileAuditStore({ dir })
    await store.append(record(1))
    await store.append(record(2))
    const lines = (await readFile(join(dir, 'audit.jsonl'), 'utf8')).trim().split('\n')
    expect(lines.map((l) => JSON.parse(l).id)).toEqual(['id-1', 'id-2'])
    expect(store.stats).toEqual({ appended: 2, syncs: 2 })
    await store.close()
  })

  it('shares one fsync among concurrent appends (group commit) and keeps every record', async () => {
    const store = createFileAuditStore({ dir })
    await Promise.all(Array.from({ length: 200 }, (_, i) => store.append(record(i))))
    const ids = (await readFile(join(dir, 'audit.jsonl'), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l).id)
    expect(new Set(ids).size).toBe(200)
    expect(store.stats.appended).toBe(200)
    expect(store.stats.syncs).toBeLessThan(200 / 4)
    await store.close()
  })

  it('rejects (fail closed) when the disk refuses the write, and recovers when it accepts again', async () => {
    // /dev/full answers every write with ENOSPC, as a full disk would; root ignores file permissions.
    await symlink('/dev/full', join(dir, 'audit.jsonl'))
    const store = createFileAuditStore({ dir })
    await expect(store.append(record(1))).rejects.toBeInstanceOf(AuditUnavailableError)
    await rm(join(dir, 'audit.jsonl'))
    await store.append(record(2))
    expect(JSON.parse(await readFile(join(dir, 'audit.jsonl'), 'utf8')).id).toBe('id-2')
    await store.close()
  })

  it('rejects when the directory cannot be created', async () => {
    const blocked = join(dir, 'not-a-dir')
    await writeFile(blocked, 'x')
    const store = createFileAuditStore({ dir: join(blocked, 'audit') })
    await expect(store.append(record(1))).rejects.toThrow(/audit write failed/)
    await store.close()
  })

  it('refuses appends after close', async () => {
    const store = createFileAuditStore({ dir })
    await store.close()
    await expect(store.append(record(1))).rejects.toBeInstanceOf(AuditUnavailableError)
  })
})
