import type { ConnectorLogger } from '../types.js'

export interface LogEntry {
  readonly level: 'debug' | 'info' | 'warn' | 'error'
  readonly obj: object
  readonly msg: string | undefined
}

/** A ConnectorLogger that keeps every call, so tests can prove nothing sensitive was logged. */
export class CapturingLogger implements ConnectorLogger {
  readonly entries: LogEntry[] = []
  debug(obj: object, msg?: string): void {
    this.entries.push({ level: 'debug', obj, msg })
  }
  info(obj: object, msg?: string): void {
    this.entries.push({ level: 'info', obj, msg })
  }
  warn(obj: object, msg?: string): void {
    this.entries.push({ level: 'warn', obj, msg })
  }
  error(obj: object, msg?: string): void {
    this.entries.push({ level: 'error', obj, msg })
  }
  /** Everything logged, as one string (for "does not contain" checks). */
  text(): string {
    return this.entries.map((e) => `${e.level} ${e.msg ?? ''} ${safeStringify(e.obj)}`).join('\n')
  }
}

function safeStringify(obj: object): string {
  try {
    return JSON.stringify(obj, (_k, v: unknown) => (v instanceof Error ? { name: v.name, message: v.message } : v))
  } catch {
    return String(obj)
  }
}
