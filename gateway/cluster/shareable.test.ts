import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Config, readConfig } from '../config/settings.js'
import { unshareableProblems } from './shareable.js'

const NFS = 0x6969
const EXT4 = 0xef53

function config(env: Record<string, string>): Config {
  const result = readConfig({ QIAO_WORKERS: '4', QIAO_AUDIT_LOG_ID: 'gw', ...env }, '/srv/qiao')
  if (!result.ok) throw new Error(result.errors.join('\n'))
  return result.config
}

describe('what several workers cannot share', () => {
  let dir: string
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'qiao-shareable-'))
  })
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true })
  })

  it('accepts the embedded state store on a local disk, quotas in memory (the primary holds them), PostgreSQL', async () => {
    expect(await unshareableProblems(config({ QIAO_DATA_DIR: dir }))).toEqual([])
    expect(await unshareableProblems(config({ QIAO_DATA_DIR: join(dir, 'not', 'made', 'yet') }))).toEqual([])
    const pg = config({ QIAO_STATE_URL: 'postgres://qiao@db/qiao', QIAO_DATA_DIR: dir })
    expect(await unshareableProblems(pg, { fileSystemType: async () => NFS })).toEqual([])
  })

  it('lists every problem at once: log ids too long for the suffix, console sessions, SQLite on NFS', async () => {
    const seen: string[] = []
    const problems = await unshareableProblems(
      config({
        QIAO_DATA_DIR: join(dir, 'nfs', 'data'),
        QIAO_AUDIT_LOG_ID: 'x'.repeat(62),
        QIAO_CONSOLE_OIDC_ISSUER: 'https://idp.example.gov.cn/realms/zwfw',
        QIAO_CONSOLE_OIDC_CLIENT_ID: 'qiao-console',
        QIAO_CONSOLE_URL: 'https://qiao.example.gov.cn',
      }),
      {
        // The data directory does not exist yet: its nearest existing ancestor decides.
        fileSystemType: async (path) => {
          seen.push(path)
          if (path !== dir) throw Object.assign(new Error('missing'), { code: 'ENOENT' })
          return NFS
        },
      },
    )
    expect(problems.map((p) => p.split(':')[0])).toEqual([
      'QIAO_AUDIT_LOG_ID',
      'QIAO_CONSOLE_OIDC_ISSUER',
      'QIAO_STATE_URL',
    ])
    expect(problems[0]).toContain('up to 65 characters (at most 64); set an id of at most 61 characters')
    expect(problems[2]).toContain('network file system (nfs)')
    expect(problems[2]).toContain(join(dir, 'nfs', 'data', 'state.sqlite'))
    expect(seen).toEqual([join(dir, 'nfs', 'data'), join(dir, 'nfs'), dir])
  })

  it('takes the longest id the slots give: 61 characters leave room for -w4', async () => {
    const fits = config({ QIAO_DATA_DIR: dir, QIAO_AUDIT_LOG_ID: 'x'.repeat(61) })
    expect(await unshareableProblems(fits, { fileSystemType: async () => EXT4 })).toEqual([])
    const ten = config({ QIAO_DATA_DIR: dir, QIAO_AUDIT_LOG_ID: 'x'.repeat(61), QIAO_WORKERS: '10' })
    expect(await unshareableProblems(ten, { fileSystemType: async () => EXT4 })).toHaveLength(1)
  })
})
