import type { AuditRecord } from './record.js'

/** Where audit records go. `append` resolves only once the record is durable; a rejection means fail closed. */
export interface AuditStore {
  append(record: AuditRecord): Promise<void>
  /** Records made durable and the batch writes that did it; appended/syncs > 1 shows group commit at work. */
  readonly stats: { readonly appended: number; readonly syncs: number }
  /** Flushes pending records, writes a last checkpoint and releases files; appends after close reject. */
  close(): Promise<void>
}

export class AuditUnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'AuditUnavailableError'
  }
}
