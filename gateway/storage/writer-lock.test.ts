import { spawn } from 'node:child_process'
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { hostname, tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import {
  acquireWriterLock,
  inspectWriterLock,
  type LockHolder,
  type WriterLock,
  WriterLockHeldError,
} from './writer-lock.js'

const REPO = resolve(import.meta.dirname, '../..')
const options = { subject: 'test log (dir)', remedy: 'give this one its own QIAO_DATA_DIR' }
let dir: string
let file: string

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'qiao-lock-'))
  file = join(dir, 'log', 'writer.lock')
})
afterEach(async () => {
  await rm(dir, { recursive: true, force: true })
})

/** The pid of a process that has exited: a holder that is certainly not running. */
async function deadPid(): Promise<number> {
  const child = spawn('true')
  await new Promise((resolve) => child.once('exit', resolve))
  return child.pid as number
}

async function writeLock(path: string, holder: Partial<LockHolder>): Promise<LockHolder> {
  const full: LockHolder = {
    id: `stale-${Math.random().toString(36).slice(2)}`,
    pid: await deadPid(),
    host: hostname(),
    since: '2026-11-26T02:00:00.000Z',
    ...holder,
  }
  await mkdir(join(path, '..'), { recursive: true })
  await writeFile(path, JSON.stringify(full))
  return full
}

async function lockOnDisk(): Promise<LockHolder> {
  return JSON.parse(await readFile(file, 'utf8')) as LockHolder
}

describe('writer lock', () => {
  it('is created with pid, host and start time, and removed on release', async () => {
    const lock = await acquireWriterLock(file, options)
    const onDisk = await lockOnDisk()
    expect(onDisk).toMatchObject({ pid: process.pid, host: hostname(), id: lock.holder.id })
    expect(Number.isNaN(Date.parse(onDisk.since))).toBe(false)
    expect(lock.tookOverFrom).toBeUndefined()
    await lock.update({ port: 8080, url: 'http://127.0.0.1:8080' })
    expect(await lockOnDisk()).toMatchObject({ id: lock.holder.id, port: 8080, url: 'http://127.0.0.1:8080' })
    await lock.release()
    expect(await inspectWriterLock(file)).toEqual({ state: 'free' })
    // Nothing left behind: no temporary files, no guards.
    expect(await readdir(join(dir, 'log'))).toEqual([])
  })

  it('refuses a second holder while the first runs, naming it; free again after release', async () => {
    const first = await acquireWriterLock(file, options)
    const err = await acquireWriterLock(file, options).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(WriterLockHeldError)
    const held = err as WriterLockHeldError
    expect(held.reason).toBe('held')
    expect(held.holder?.id).toBe(first.holder.id)
    expect(held.message).toContain(`pid ${process.pid} on ${hostname()} since ${first.holder.since}`)
    expect(held.message).toContain('QIAO_DATA_DIR')
    await first.release()
    const second = await acquireWriterLock(file, options)
    expect((await lockOnDisk()).id).toBe(second.holder.id)
    await second.release()
  })

  it('takes over a lock whose holder on this host is dead, and says from whom', async () => {
    const stale = await writeLock(file, {})
    expect((await inspectWriterLock(file)).state).toBe('stale')
    const lock = await acquireWriterLock(file, options)
    expect(lock.tookOverFrom).toEqual(stale)
    expect((await lockOnDisk()).id).toBe(lock.holder.id)
    await lock.release()
    expect(await readdir(join(dir, 'log'))).toEqual([])
  })

  it('takes over a lock that names this very pid but not a lock this process holds (a restarted container)', async () => {
    const stale = await writeLock(file, { pid: process.pid })
    const lock = await acquireWriterLock(file, options)
    expect(lock.tookOverFrom?.id).toBe(stale.id)
    await lock.release()
  })

  it('refuses another host’s lock and says how to remove it', async () => {
    await writeLock(file, { host: 'some-other-host', pid: 4242 })
    const err = (await acquireWriterLock(file, options).catch((e: unknown) => e)) as WriterLockHeldError
    expect(err).toBeInstanceOf(WriterLockHeldError)
    expect(err.reason).toBe('foreign-host')
    expect(err.message).toContain('pid 4242 on some-other-host')
    expect(err.message).toContain(`remove ${file}`)
    expect((await lockOnDisk()).host).toBe('some-other-host')
  })

  it('refuses a lock file it cannot read instead of guessing', async () => {
    await writeLock(file, {})
    await writeFile(file, '{"pid": 0, "host"')
    const err = (await acquireWriterLock(file, options).catch((e: unknown) => e)) as WriterLockHeldError
    expect(err.reason).toBe('unreadable')
    expect(err.message).toContain(file)
  })

  it('refuses a lock whose id could point outside its directory', async () => {
    await writeLock(file, { id: '../../escape' })
    const err = (await acquireWriterLock(file, options).catch((e: unknown) => e)) as WriterLockHeldError
    expect(err.reason).toBe('unreadable')
    expect(await readdir(dir)).toEqual(['log'])
  })

  it('releases only its own lock', async () => {
    const lock = await acquireWriterLock(file, options)
    const other = await writeLock(file, { pid: 4242, host: 'some-other-host' })
    await lock.release()
    expect((await lockOnDisk()).id).toBe(other.id)
  })

  it('takes over when an earlier takeover died holding its guard', async () => {
    const stale = await writeLock(file, {})
    await writeFile(
      `${file}.takeover-${stale.id}`,
      JSON.stringify({ id: 'dead-guard', pid: await deadPid(), host: hostname(), since: stale.since }),
    )
    const lock = await acquireWriterLock(file, options)
    expect(lock.tookOverFrom?.id).toBe(stale.id)
    await lock.release()
    expect(await readdir(join(dir, 'log'))).toEqual([])
  })

  it('two (or more) takeovers racing on one stale lock in one process: exactly one wins, every time', async () => {
    for (const racers of [2, 3, 5, 8]) {
      for (let round = 0; round < 3; round++) {
        await writeLock(file, {})
        // Every racer has read the stale lock before any of them tries to take it over. A racer that lost the guard
        // looks again and may find the lock still stale (the winner has not replaced it yet), so count racers, not
        // calls.
        const seen = new Set<number>()
        let go: () => void = () => {}
        const together = new Promise<void>((resolve) => {
          go = resolve
        })
        const onStaleFor = (racer: number) => async () => {
          seen.add(racer)
          if (seen.size === racers) go()
          await together
        }
        // Replacements staggered, so that a racer could read its own lock back before the next one replaces it.
        let replacing = 0
        const beforeReplace = () => new Promise<void>((resolve) => setTimeout(resolve, 15 * replacing++))
        const results = await Promise.allSettled(
          Array.from({ length: racers }, (_, racer) =>
            acquireWriterLock(file, { ...options, hooks: { onStale: onStaleFor(racer), beforeReplace } }),
          ),
        )
        const won = results.filter((r): r is PromiseFulfilledResult<WriterLock> => r.status === 'fulfilled')
        const lost = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected')
        expect(won.length).toBe(1)
        expect(seen.size).toBe(racers)
        for (const r of lost) {
          expect(r.reason).toBeInstanceOf(WriterLockHeldError)
          expect((r.reason as WriterLockHeldError).holder?.id).toBe(won[0]?.value.holder.id)
        }
        expect((await lockOnDisk()).id).toBe(won[0]?.value.holder.id)
        await won[0]?.value.release()
      }
    }
  })

  it('takeovers racing from separate processes: exactly one wins, and the others name it', async () => {
    // Each racer: waits at a file barrier until all have read the stale lock, replaces it staggered, reports, and
    // holds what it won until its stdin closes.
    const racer = `
      import { readdirSync, writeFileSync } from 'node:fs'
      import { join, resolve } from 'node:path'
      import { acquireWriterLock } from './gateway/storage/writer-lock.ts'
      const { LOCK_FILE, BARRIER, RACERS, INDEX } = process.env
      const sleep = (ms) => new Promise((r) => setTimeout(r, ms))
      const hooks = {
        async onStale() {
          writeFileSync(join(BARRIER, 'ready-' + INDEX), '')
          while (readdirSync(BARRIER).length < Number(RACERS)) await sleep(5)
        },
        beforeReplace: () => sleep(15 * Number(INDEX)),
      }
      try {
        const lock = await acquireWriterLock(LOCK_FILE, { subject: 'test log', remedy: 'r', hooks })
        console.log('won ' + lock.holder.id)
        process.stdin.on('end', () => lock.release().then(() => process.exit(0)))
        process.stdin.resume()
      } catch (err) {
        console.log('lost ' + err.name + ' ' + (err.holder?.id ?? ''))
      }
    `
    const racers = 4
    for (let round = 0; round < 2; round++) {
      await writeLock(file, {})
      const barrier = await mkdtemp(join(dir, 'barrier-'))
      const children = Array.from({ length: racers }, (_, i) => {
        const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', racer], {
          cwd: REPO,
          env: { PATH: process.env.PATH, LOCK_FILE: file, BARRIER: barrier, RACERS: String(racers), INDEX: String(i) },
        })
        let out = ''
        const reported = new Promise<string>((resolve, reject) => {
          child.stdout.on('data', (b: Buffer) => {
            out += b.toString()
            if (out.includes('\n')) resolve(out.trim())
          })
          child.stderr.on('data', (b: Buffer) => {
            out += b.toString()
          })
          child.once('exit', (code) => reject(new Error(`racer exited ${code}: ${out}`)))
        })
        return { child, reported }
      })
      const reports = await Promise.all(children.map((c) => c.reported))
      const winners = reports.filter((r) => r.startsWith('won '))
      expect(winners, reports.join('\n')).toHaveLength(1)
      const winnerId = (winners[0] as string).slice('won '.length)
      expect((await lockOnDisk()).id).toBe(winnerId)
      for (const r of reports.filter((r) => !r.startsWith('won ')))
        expect(r).toBe(`lost WriterLockHeldError ${winnerId}`)
      await Promise.all(
        children.map(async ({ child }) => {
          if (child.exitCode === null) {
            const exited = new Promise((resolve) => child.once('exit', resolve))
            child.stdin.end()
            await exited
          }
        }),
      )
      expect(await inspectWriterLock(file)).toEqual({ state: 'free' })
    }
  }, 60_000)
})
