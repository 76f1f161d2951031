/**
 * Polls `probe` until it answers something other than undefined, and answers that; throws `timed out waiting until
 * <what>` after `timeoutMs`. For conditions another process or a background loop makes true.
 */
export async function until<T>(
  what: string,
  probe: () => T | undefined | Promise<T | undefined>,
  timeoutMs = 10_000,
  intervalMs = 50,
): Promise<T> {
  const end = Date.now() + timeoutMs
  for (;;) {
    const value = await probe()
    if (value !== undefined) return value
    if (Date.now() > end) throw new Error(`timed out waiting until ${what}`)
    await new Promise((r) => setTimeout(r, intervalMs))
  }
}
