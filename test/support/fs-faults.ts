import { execFileSync } from 'node:child_process'
import { readdir } from 'node:fs/promises'
import { join } from 'node:path'

/**
 * Makes files refuse writes, as a full or failing disk would. The tests run as root, which ignores permission
 * bits, so chmod proves nothing; the ext4 immutable attribute (chattr +i) stops even root, also through file
 * handles opened before.
 */
export function setImmutable(path: string, on: boolean): void {
  execFileSync('chattr', [on ? '+i' : '-i', path])
}

/** The open (newest) segment file of an audit log directory. */
export async function openSegmentFile(logDir: string): Promise<string> {
  const segments = (await readdir(logDir)).filter((f) => /^segment-\d+\.jsonl$/.test(f)).sort()
  const last = segments.at(-1)
  if (!last) throw new Error(`no segment in ${logDir}`)
  return join(logDir, last)
}
