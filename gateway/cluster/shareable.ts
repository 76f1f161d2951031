import { statfs } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import type { Config } from '../config/settings.js'
import { MAX_LOG_ID_LENGTH, workerLogId } from './worker-slot.js'

/**
 * What must hold for several worker processes to serve as one gateway, checked by the primary before it forks any:
 * every problem is listed at once, and the gateway does not start.
 *
 * What the workers share, and why it holds:
 * - the state store (idempotency keys, applications, live grants, objections): PostgreSQL is made for several
 *   instances; the embedded SQLite file is safe for several processes on one host (WAL, BEGIN IMMEDIATE with a busy
 *   timeout, migrations under the file's write lock, grant and objection changes polled every 200 ms) — but not
 *   on a network file system, where its locks do not hold: refused there.
 * - quotas: Redis (QIAO_QUOTA_REDIS_URL) when configured, else the primary's memory (../quota/primary-budget.ts).
 * - the sharing scheduler's escalations and reminders: claimed through the state store, once whichever worker scans.
 * - audit: never shared; each worker writes its own log, `<QIAO_AUDIT_LOG_ID>-w<n>` (a valid id is required).
 *
 * What cannot be shared: console sessions (QIAO_CONSOLE_OIDC_ISSUER), kept in the memory of the process that made
 * them, while node:cluster hands each new connection to any worker — a signed-in officer would be signed out on
 * every other connection, and a sign-in would fail when its callback reached another worker.
 */

/** statfs(2) magic numbers of network file systems (linux/magic.h), where SQLite's file locks cannot be trusted. */
const NETWORK_FILE_SYSTEMS: ReadonlyMap<number, string> = new Map([
  [0x6969, 'nfs'],
  [0x517b, 'smb'],
  [0xff534d42, 'cifs'],
  [0xfe534d42, 'smb2'],
  [0x00c36400, 'ceph'],
  [0x5346414f, 'afs'],
  [0x01021997, '9p'],
])

export interface ShareableOptions {
  /** The file-system type (statfs `type`) of an existing path; tests give their own. */
  readonly fileSystemType?: (path: string) => Promise<number>
}

export async function unshareableProblems(config: Config, options: ShareableOptions = {}): Promise<string[]> {
  const problems: string[] = []
  const { workers } = config
  const longest = workerLogId(config.auditLogId, workers)
  if (longest.length > MAX_LOG_ID_LENGTH) {
    const room = MAX_LOG_ID_LENGTH - (longest.length - config.auditLogId.length)
    problems.push(
      `QIAO_AUDIT_LOG_ID: each of the ${workers} workers keeps its own audit log, <id>-w<n>, here up to ${longest.length} characters (at most ${MAX_LOG_ID_LENGTH}); set an id of at most ${room} characters (unset, it is qiao-<hostname>)`,
    )
  }
  if (config.consoleOidcIssuer !== undefined) {
    problems.push(
      'QIAO_CONSOLE_OIDC_ISSUER: console sessions and sign-ins in progress live in the memory of the worker that made them, and each connection may reach another worker; serve the console from a gateway with QIAO_WORKERS=1 (it can share this state store and audit directory with its own log id)',
    )
  }
  if (config.stateUrl === undefined) {
    const file = join(config.dataDir, 'state.sqlite')
    const kind = await networkFileSystem(config.dataDir, options.fileSystemType ?? statfsType)
    if (kind !== undefined) {
      problems.push(
        `QIAO_STATE_URL: unset, so the ${workers} workers would share the embedded state store ${file} on a network file system (${kind}), where SQLite's locks do not hold; put QIAO_DATA_DIR on a local disk or set QIAO_STATE_URL (PostgreSQL)`,
      )
    }
  }
  return problems
}

const statfsType = async (path: string) => (await statfs(path)).type

/** The network file system `path` is on (or would be created on: its nearest existing ancestor), if it is on one. */
async function networkFileSystem(path: string, typeOf: (path: string) => Promise<number>): Promise<string | undefined> {
  for (let at = path; ; at = dirname(at)) {
    try {
      return NETWORK_FILE_SYSTEMS.get(await typeOf(at))
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || dirname(at) === at) throw err
    }
  }
}
