/**
 * Why `qiao serve --workers N` stopped or did not start, with stable codes: the primary prints the message and
 * exits 1, and tests and operators' tooling key on the code. A message names settings, slots and log ids only.
 */
export const clusterErrors = {
  'cluster-config-unshareable':
    'This configuration cannot be shared by several worker processes; the gateway did not start.',
  'worker-start-failed':
    'A worker exited before it was ready while the gateway was starting; the gateway did not start.',
  'worker-crash-loop':
    'A worker kept exiting soon after it was started; the gateway was stopped instead of restarting it in a loop.',
  'drain-overrun': 'Workers were still running when the drain time was over; they were killed.',
} as const

export type ClusterErrorCode = keyof typeof clusterErrors

export class ClusterError extends Error {
  readonly code: ClusterErrorCode
  /** One line per problem (cluster-config-unshareable lists every one). */
  readonly problems: readonly string[]

  constructor(code: ClusterErrorCode, problems: readonly string[] = []) {
    super(problems.length === 0 ? clusterErrors[code] : `${clusterErrors[code]}\n${problems.join('\n')}`)
    this.name = 'ClusterError'
    this.code = code
    this.problems = problems
  }
}
