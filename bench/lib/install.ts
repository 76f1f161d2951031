import { spawnSync } from 'node:child_process'
import { existsSync, rmSync, writeFileSync } from 'node:fs'
import { commandExists } from './proc.js'

/**
 * Makes sure the peers and the load generator are installed: nginx (nginx-light), HAProxy 2.6 and wrk from Debian,
 * with apt-get, non-interactively. Idempotent: nothing is installed when the commands exist. When something is
 * missing and apt-get cannot run (not Debian, not root), this throws: the benchmark never skips a peer silently.
 */

const NEEDED: ReadonlyArray<{ readonly command: string; readonly pkg: string }> = [
  { command: 'nginx', pkg: 'nginx-light' },
  { command: 'haproxy', pkg: 'haproxy' },
  { command: 'wrk', pkg: 'wrk' },
  { command: 'taskset', pkg: 'util-linux' },
]

const POLICY_RC_D = '/usr/sbin/policy-rc.d'

function apt(args: readonly string[]): { ok: boolean; output: string } {
  const result = spawnSync('apt-get', args, {
    encoding: 'utf8',
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive', NEEDRESTART_MODE: 'a' },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  return { ok: result.status === 0, output: `${result.stdout ?? ''}${result.stderr ?? ''}` }
}

export function ensureTools(log: (msg: string) => void): string[] {
  // nginx and haproxy live in /usr/sbin, which a non-login PATH may lack.
  for (const dir of ['/usr/sbin', '/sbin']) {
    if (!(process.env.PATH ?? '').split(':').includes(dir)) process.env.PATH = `${process.env.PATH}:${dir}`
  }
  const missing = NEEDED.filter((n) => !commandExists(n.command))
  if (missing.length === 0) return []
  const pkgs = missing.map((m) => m.pkg)
  log(`installing ${pkgs.join(' ')} with apt-get`)
  if (!commandExists('apt-get')) {
    throw new Error(
      `missing ${missing.map((m) => m.command).join(', ')} and apt-get is not available: install ${pkgs.join(' ')}`,
    )
  }
  if (process.getuid?.() !== 0) {
    throw new Error(
      `missing ${missing.map((m) => m.command).join(', ')}; run as root (apt-get install -y ${pkgs.join(' ')})`,
    )
  }
  // Installing nginx or haproxy must not start system services (nginx would take port 80): deny service starts for
  // the duration of the install, unless the machine already has a policy.
  const ownPolicy = !existsSync(POLICY_RC_D)
  if (ownPolicy)
    writeFileSync(POLICY_RC_D, '#!/bin/sh\n# qiao bench: no service starts during apt-get install\nexit 101\n', {
      mode: 0o755,
    })
  try {
    const installArgs = [
      'install',
      '-y',
      '-q',
      '--no-install-recommends',
      '-o',
      'Dpkg::Options::=--force-confold',
      ...pkgs,
    ]
    let result = apt(installArgs)
    if (!result.ok) {
      log('apt-get install failed; running apt-get update and trying again')
      const update = apt(['update', '-q'])
      if (!update.ok) throw new Error(`apt-get update failed:\n${update.output.slice(-2000)}`)
      result = apt(installArgs)
    }
    if (!result.ok) throw new Error(`apt-get install ${pkgs.join(' ')} failed:\n${result.output.slice(-2000)}`)
  } finally {
    if (ownPolicy) rmSync(POLICY_RC_D, { force: true })
  }
  const still = NEEDED.filter((n) => !commandExists(n.command))
  if (still.length > 0)
    throw new Error(`still missing after apt-get install: ${still.map((m) => m.command).join(', ')}`)
  return pkgs
}
