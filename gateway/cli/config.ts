import { type Config, type ReadConfigOptions, readConfig } from '../config/settings.js'

/**
 * Reads the configuration or prints every problem and exits 1. `qiao serve` passes `requireKeySource`; only
 * `qiao demo` (and `qiao token`, which mints for the demo) pass `demo`, so demo mode is never a silent fallback.
 */
export function configOrExit(env: NodeJS.ProcessEnv = process.env, options: ReadConfigOptions = {}): Config {
  const result = readConfig(env, process.cwd(), options)
  if (!result.ok) {
    for (const error of result.errors) console.error(`configuration: ${error}`)
    console.error(`${result.errors.length} configuration problem(s); see README "Configuration"`)
    process.exit(1)
  }
  return result.config
}

/** `1h`, `30m`, `3600` (seconds) → seconds. */
export function parseTtlSeconds(raw: string): number {
  const m = /^(\d+)\s*(s|m|h|d)?$/.exec(raw.trim())
  if (!m) throw new Error('ttl must look like 3600, 30m, 1h or 1d')
  const unit = { s: 1, m: 60, h: 3600, d: 86400 }[(m[2] ?? 's') as 's' | 'm' | 'h' | 'd']
  return Number(m[1]) * unit
}
