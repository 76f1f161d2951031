/**
 * Idempotency keys for writes (`Idempotency-Key`). A key is scoped to the calling department and the resource;
 * its first request's fingerprint and final answer are kept until the key expires, so a retry returns the first
 * answer without a second delivery, and the same key with another request is refused.
 */
export interface IdempotencyScope {
  /** The calling department. */
  readonly dept: string
  readonly resource: string
  /** The `Idempotency-Key` header. */
  readonly key: string
}

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
  /**
   * Same request as before, finished, but its answer was larger than the store keeps: the status and audit id
   * of the first call are known, its body is not. Never delivered again.
   */
  | { readonly kind: 'answer-not-kept'; readonly status: number; readonly auditId: string }
  /** Key used before for a different request. */
  | { readonly kind: 'conflict' }
  /** Same request, still being delivered by another call. */
  | { readonly kind: 'in-flight' }
  /** Same request, but its delivery's outcome is unknown (timeout, crash): never delivered again under this key. */
  | { readonly kind: 'unknown' }

export interface IdempotencyStore {
  /**
   * Claims the key for this fingerprint, durably and atomically across instances, before any delivery.
   * `inFlightUntil`: by then the claimer will have completed, released or marked the key unknown — unless it
   * died; an in-flight claim past that time is reported (and kept) as unknown.
   */
  begin(scope: IdempotencyScope, fingerprint: string, now: number, inFlightUntil: number): Promise<BeginOutcome>
  /** Records the final answer (durably) for replays. */
  complete(scope: IdempotencyScope, answer: StoredAnswer): Promise<void>
  /** Frees the key: the delivery certainly did not reach the provider, so a retry may deliver. */
  release(scope: IdempotencyScope): Promise<void>
  /** The delivery's outcome is unknown: retries with this key are refused, never re-delivered. */
  markUnknown(scope: IdempotencyScope): Promise<void>
  /** Deletes the keys expired at `now`; returns how many. Also runs periodically while the store is open. */
  purge(now: number): Promise<number>
  /** Stops the periodic purge (the state store itself is closed by its owner). */
  close(): Promise<void>
}
