import { setFlagsFromString } from 'node:v8'

/**
 * How far V8 lets the old generation grow past what its last full collection kept, in percent. V8 picks the
 * factor itself, up to 4× on a machine with memory to spare; the gateway keeps about 50 MB live, and at saturation
 * its calls promote enough short-lived objects (calls in flight across two scavenges, audit batches) that old space
 * reached 150–180 MB before the next full collection: RSS peaks of 220–300 MB. A fixed 1.5× holds them under the
 * 200 MB the soak allows (README "Performance"; figures in issue 16's commit).
 */
export const HEAP_GROWING_PERCENT = 50

const GIVEN = /^--heap[-_]growing[-_]percent(=|$)/

/**
 * Sets V8's heap growing factor for this process, unless its operator set one (node options or NODE_OPTIONS).
 * V8 reads the flag at every full collection, so setting it once the process runs takes effect at the next one
 * (measured: the same peaks as the command-line flag). Returns whether it was set.
 */
export function boundHeapGrowth(
  execArgv: readonly string[] = process.execArgv,
  nodeOptions: string = process.env.NODE_OPTIONS ?? '',
): boolean {
  if ([...execArgv, ...nodeOptions.split(/\s+/)].some((arg) => GIVEN.test(arg))) return false
  setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`)
  return true
}
