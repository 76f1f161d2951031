/** The time source both sides take by injection, so that tests can freeze time. */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number
}
