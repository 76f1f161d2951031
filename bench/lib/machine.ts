import { spawnSync } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { availableParallelism, release, totalmem } from 'node:os'
import { loadAverage } from './procfs.js'

/** What the numbers were measured on. */
export interface Machine {
  readonly nproc: number
  readonly cpuModel: string
  readonly cpuMHz: string | undefined
  readonly memoryGiB: number
  readonly kernel: string
  readonly os: string
  readonly virtualization: string | undefined
  readonly scalingGovernor: string
  readonly filesystem: string | undefined
  readonly node: string
  readonly openssl: string
  readonly nginx: string | undefined
  readonly haproxy: string | undefined
  readonly wrk: string | undefined
  readonly git: {
    readonly commit: string | undefined
    readonly uncommittedGatewayFiles: number | undefined
    /** `git status --porcelain` lines under gateway/ and connectors/. */
    readonly uncommitted: readonly string[]
  }
  readonly loadAverageAtStart: readonly number[]
}

function output(command: string, args: readonly string[]): string | undefined {
  const r = spawnSync(command, args, { encoding: 'utf8' })
  if (r.error) return undefined
  const text = `${r.stdout ?? ''}${r.stderr ?? ''}`.trim()
  return text === '' ? undefined : text
}

function firstLine(text: string | undefined): string | undefined {
  return text?.split('\n')[0]?.trim()
}

function cpuInfo(field: string): string | undefined {
  const match = new RegExp(`^${field}\\s*:\\s*(.*)$`, 'm').exec(readFileSync('/proc/cpuinfo', 'utf8'))
  return match?.[1]?.trim()
}

export function describeMachine(root: string, dataDir: string): Machine {
  const governorFile = '/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor'
  const osRelease = existsSync('/etc/os-release') ? readFileSync('/etc/os-release', 'utf8') : ''
  const status = output('git', ['-C', root, 'status', '--porcelain', '--', 'gateway', 'connectors'])
  return {
    nproc: availableParallelism(),
    cpuModel: cpuInfo('model name') ?? 'unknown',
    cpuMHz: cpuInfo('cpu MHz'),
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    kernel: release(),
    os: /^PRETTY_NAME="?([^"\n]*)"?$/m.exec(osRelease)?.[1] ?? 'unknown',
    virtualization: firstLine(output('systemd-detect-virt', [])) ?? readDmi(),
    scalingGovernor: existsSync(governorFile)
      ? readFileSync(governorFile, 'utf8').trim()
      : 'not exposed (no cpufreq; typical of VMs)',
    filesystem: firstLine(output('findmnt', ['-n', '-o', 'FSTYPE,SOURCE', '-T', dataDir])),
    node: process.version,
    openssl: process.versions.openssl,
    nginx: firstLine(output('nginx', ['-v'])),
    haproxy: firstLine(output('haproxy', ['-v'])),
    wrk: firstLine(output('wrk', ['-v'])),
    git: {
      commit: firstLine(output('git', ['-C', root, 'rev-parse', '--short=12', 'HEAD'])),
      uncommittedGatewayFiles: status === undefined ? 0 : status.split('\n').filter(Boolean).length,
      uncommitted: status === undefined ? [] : status.split('\n').filter(Boolean),
    },
    loadAverageAtStart: loadAverage(),
  }
}

function readDmi(): string | undefined {
  try {
    return readFileSync('/sys/class/dmi/id/product_name', 'utf8').trim() || undefined
  } catch {
    return undefined
  }
}
