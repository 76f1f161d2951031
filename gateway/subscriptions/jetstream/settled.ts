/**
 * Recognising a settled message that the broker sends again. nats-server before the fix of nats-io/nats-server#5305
 * (April 2024; Debian 12 ships 2.9.10) can, after a failed delivery, send a message that was redelivered and
 * acknowledged once more with a delivery count of 1. Settled here: this engine acknowledged or terminated it (and the
 * server confirmed). At or below the consumer's ack floor: every message up to the floor is settled, so a "first"
 * delivery there is such a repeat, whichever instance settled it.
 */

/** Stream sequences of settled deliveries kept per subscription (the newest). */
const SETTLED_KEPT = 4_096

export function settledAlready(
  streamSeq: number,
  deliveryCount: number,
  settledHere: boolean,
  ackFloor: number | undefined,
): boolean {
  if (settledHere) return true
  return deliveryCount === 1 && ackFloor !== undefined && streamSeq <= ackFloor
}

/** Per subscription, the stream sequences this engine settled (insertion order: the oldest goes first). */
export class SettledSequences {
  readonly #bySubscription = new Map<string, Set<number>>()

  add(id: string, streamSeq: number): void {
    let seqs = this.#bySubscription.get(id)
    if (seqs === undefined) {
      seqs = new Set()
      this.#bySubscription.set(id, seqs)
    }
    seqs.add(streamSeq)
    if (seqs.size > SETTLED_KEPT) seqs.delete(seqs.values().next().value as number)
  }

  has(id: string, streamSeq: number): boolean {
    return this.#bySubscription.get(id)?.has(streamSeq) === true
  }

  /** The subscription's consumer went (suspended, removed): its sequences cannot come again from it. */
  forget(id: string): void {
    this.#bySubscription.delete(id)
  }
}
