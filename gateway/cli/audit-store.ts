import { readFile, stat } from 'node:fs/promises'
import { resolve } from 'node:path'
import type { CommanderError } from 'commander'
import type { JSONWebKeySet } from 'jose'
import { configuredAuditBackend } from '../audit/open.js'
import { type Config, readConfig, SETTINGS } from '../config/settings.js'

/**
 * What every `qiao audit` subcommand shares: exit codes (0 OK, 1 problems found, 2 usage or I/O), the configuration
 * read from the environment, and the store to read (--dir, --url, or the environment's).
 */

/** A usage or I/O problem: exit 2. */
export class UsageError extends Error {}

const USAGE_EXIT = 2

export function exitOnUsage(err: CommanderError): never {
  process.exit(err.exitCode === 0 ? 0 : USAGE_EXIT)
}

export async function run(command: string, task: () => Promise<number>): Promise<void> {
  try {
    process.exitCode = await task()
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err)
    console.error(`qiao audit ${command}: ${message}`)
    process.exitCode = USAGE_EXIT
  }
}

export interface StoreOptions {
  readonly dir?: string
  readonly url?: string
}

/** The environment's configuration; with an explicit --dir/--url a broken environment is not in the way. */
export function environmentConfig(required: boolean): Config {
  const result = readConfig(process.env)
  if (result.ok) return result.config
  if (required) throw new UsageError(result.errors.map((e) => `configuration: ${e}`).join('\n'))
  const defaults = readConfig({})
  if (!defaults.ok) throw new UsageError(defaults.errors.join('\n'))
  return defaults.config
}

/** The store to read: --dir, --url, else QIAO_AUDIT_URL, else QIAO_AUDIT_DIR (default `<data dir>/audit`). */
export async function openStore(options: StoreOptions, config: Config) {
  if (options.dir !== undefined && options.url !== undefined) throw new UsageError('give --dir or --url, not both')
  let target: Config
  if (options.url !== undefined) {
    let url: string
    try {
      url = SETTINGS.auditUrl.parse(options.url)
    } catch (err) {
      throw new UsageError(`--url: ${(err as Error).message}`)
    }
    target = { ...config, auditUrl: url }
  } else if (options.dir !== undefined) {
    target = { ...config, auditUrl: undefined, auditDir: resolve(options.dir) }
  } else {
    target = config
  }
  let where: string
  if (target.auditUrl === undefined) {
    where = target.auditDir
    const info = await stat(target.auditDir).catch(() => undefined)
    if (!info?.isDirectory()) throw new UsageError(`${target.auditDir}: no such audit directory`)
  } else {
    where = redactUrl(target.auditUrl)
  }
  const backend = await configuredAuditBackend(target, { now: () => Date.now() })
  return { backend, where }
}

function redactUrl(raw: string): string {
  const url = new URL(raw)
  if (url.password) url.password = '***'
  return url.toString()
}

export async function readJwks(path: string): Promise<JSONWebKeySet> {
  let jwks: unknown
  try {
    jwks = JSON.parse(await readFile(path, 'utf8'))
  } catch (err) {
    throw new UsageError(`--keys ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`)
  }
  const keys = (jwks as { keys?: unknown })?.keys
  if (!Array.isArray(keys) || keys.length === 0) throw new UsageError(`--keys ${path}: not a JWKS with keys`)
  return jwks as JSONWebKeySet
}

export async function subjectKey(path: string): Promise<Uint8Array> {
  let key: Uint8Array
  try {
    key = new Uint8Array(await readFile(path))
  } catch (err) {
    throw new UsageError(`--key-file ${path}: ${(err as NodeJS.ErrnoException).code ?? 'unreadable'}`)
  }
  if (key.byteLength < 32) throw new UsageError(`--key-file ${path}: an audit key has at least 32 bytes`)
  return key
}
