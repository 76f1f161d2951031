import { appendFile, mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { openFileIdempotencyStore } from './file-store.js'

let dir: string
let now = 1_000_000
const answer = { status: 201, contentType: 'application/json', body: '{"data":{"receiptId":"R1"}}', auditId: 'a1' }

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'qiao-idem-'))
  now = 1_000_000
})
afterEach(async () => {
  await rm(dir, { recursive: true, force: true })
})

const open = () => openFileIdempotencyStore({ dir, ttlMs: 60_000, now: () => now })

describe('file idempotency store', () => {
  it('claims a key once, then replays the stored answer; another request with the key conflicts', async () => {
    const store = await open()
    expect(await store.begin('k', 'fp1', now)).toEqual({ kind: 'new' })
    expect(await store.begin('k', 'fp1', now)).toEqual({ kind: 'in-flight' })
    await store.complete('k', answer)
    expect(await store.begin('k', 'fp1', now)).toEqual({ kind: 'replay', answer })
    expect(await store.begin('k', 'fp2', now)).toEqual({ kind: 'conflict' })
    await store.close()
  })

  it('a released key can be claimed again; an unknown outcome never is', async () => {
    const store = await open()
    await store.begin('a', 'fp', now)
    await store.release('a')
    expect(await store.begin('a', 'fp', now)).toEqual({ kind: 'new' })
    await store.begin('b', 'fp', now)
    await store.markUnknown('b')
    expect(await store.begin('b', 'fp', now)).toEqual({ kind: 'unknown' })
    await store.close()
  })

  it('keys survive a restart; a key in flight at the stop becomes unknown; expired keys are forgotten', async () => {
    const first = await open()
    await first.begin('done', 'fp', now)
    await first.complete('done', answer)
    await first.begin('crashed', 'fp', now)
    await first.begin('short', 'fp', now - 59_000)
    await first.close()

    now += 2_000 // 'short' is now past its 60 s
    const second = await open()
    expect(await second.begin('done', 'fp', now)).toEqual({ kind: 'replay', answer })
    expect(await second.begin('crashed', 'fp', now)).toEqual({ kind: 'unknown' })
    expect(await second.begin('short', 'fp', now)).toEqual({ kind: 'new' })
    await second.close()
  })

  it('ignores a torn last line and compacts the journal at start', async () => {
    const first = await open()
    await first.begin('x', 'fp', now)
    await first.complete('x', answer)
    await first.begin('y', 'fp', now)
    await first.release('y')
    await first.close()
    await appendFile(join(dir, 'idempotency.jsonl'), '{"op":"begin","key":"z","fp":')
    const second = await open()
    expect(await second.begin('x', 'fp', now)).toEqual({ kind: 'replay', answer })
    const lines = (await readFile(join(dir, 'idempotency.jsonl'), 'utf8')).trim().split('\n')
    expect(lines.map((l) => JSON.parse(l).op)).toEqual(['begin', 'done'])
    await second.close()
  })
})
