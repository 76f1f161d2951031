/**
 * Idempotency keys for writes (`Idempotency-Key`). A key is scoped to the calling department and the resource;
 * its first request's fingerprint and final answer are kept until the key expires, so a retry returns the first
 * answer without a second delivery, and the same key with another request is refused.
 */
export interface StoredAnswer {
  readonly status: number
  readonly contentType: string
  readonly body: string
  /** Audit id of the call that produced this answer. */
  readonly auditId: string
}

export type BeginOutcome =
  /** First use: the caller delivers, then completes or releases the key. */
  | { readonly kind: 'new' }
  /** Same request as before, finished: answer with the stored answer. */
  | { readonly kind: 'replay'; readonly answer: StoredAnswer }
  /** Key used before for a different request. */
  | { readonly kind: 'conflict' }
  /** Same request, still being delivered by another call. */
  | { readonly kind: 'in-flight' }
  /** Same request, but its delivery's outcome is unknown (timeout, crash): never delivered again under this key. */
  | { readonly kind: 'unknown' }

export interface IdempotencyStore {
  /** Claims the key for this fingerprint, durably, before any delivery. */
  begin(key: string, fingerprint: string, now: number): Promise<BeginOutcome>
  /** Records the final answer (durably) for replays. */
  complete(key: string, answer: StoredAnswer): Promise<void>
  /** Frees the key: the delivery certainly did not reach the provider, so a retry may deliver. */
  release(key: string): Promise<void>
  /** The delivery's outcome is unknown: retries with this key are refused, never re-delivered. */
  markUnknown(key: string): Promise<void>
  close(): Promise<void>
}
