import { execFileSync } from 'node:child_process'
import { readdir } from 'node:fs/promises'
import { join } from 'node:path'
import { type AuditFile, type AuditFileSystem, nodeFileSystem } from '../../gateway/audit/file-io.js'

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

/** A real small file system (tmpfs of `size`, e.g. '4m') at `dir`; unmount it with unmountFs. Needs root. */
export function mountTmpfs(dir: string, size: string): void {
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size},mode=0700`, 'tmpfs', dir])
}

/** Unmounts what mountTmpfs mounted; quiet if it is not mounted (afterAll after a failed start). */
export function unmountFs(dir: string): void {
  try {
    execFileSync('umount', [dir], { stdio: 'ignore' })
  } catch {
    // not mounted
  }
}

/** The faults a test can arm on a FaultyFileSystem: each fires once, on the next matching call. */
export interface FaultyFileSystem {
  readonly fs: AuditFileSystem
  /** The next datasync of a file whose path ends with `suffix` fails with EIO, after its write went through. */
  failNextDatasync(suffix: string): void
  /** Every datasync of files ending with `suffix` fails with EIO (a disk that keeps failing), until undefined. */
  failDatasyncs(suffix: string | undefined): void
  /** The next write to a file ending with `suffix` writes `bytes` bytes, then the write after fails with ENOSPC. */
  failNextWrite(suffix: string, bytes: number): void
  /** Writes to files ending with `suffix` write at most `bytes` bytes each (short writes), until cleared. */
  shortWrites(suffix: string, bytes: number | undefined): void
  /** The bytes of writes whose datasync then failed (what a failed batch tried to put on disk). */
  readonly unsynced: Buffer[]
  /** The faults that fired, as `write <path>` / `datasync <path>`. */
  readonly fired: string[]
}

/** node:fs/promises behind the audit store's seam, with faults a real disk shows rarely. */
export function faultyFileSystem(): FaultyFileSystem {
  let datasyncFault: string | undefined
  let datasyncFaults: string | undefined
  let writeFault: { suffix: string; bytes: number; spent: boolean } | undefined
  let short: { suffix: string; bytes: number } | undefined
  const unsynced: Buffer[] = []
  const fired: string[] = []
  const fs: AuditFileSystem = {
    ...nodeFileSystem,
    async open(path, flags, mode) {
      const file = await nodeFileSystem.open(path, flags, mode)
      let pending: Buffer[] = []
      const wrapped: AuditFile = {
        async write(buffer, offset, length) {
          let n = length
          if (writeFault && path.endsWith(writeFault.suffix)) {
            if (writeFault.spent) {
              writeFault = undefined
              fired.push(`write ${path}`)
              throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' })
            }
            writeFault.spent = true
            n = Math.min(n, writeFault.bytes)
          }
          if (short && path.endsWith(short.suffix)) n = Math.min(n, short.bytes)
          const result = await file.write(buffer, offset, n)
          pending.push(Buffer.from(buffer.subarray(offset, offset + result.bytesWritten)))
          return result
        },
        async datasync() {
          const once = datasyncFault !== undefined && path.endsWith(datasyncFault)
          if (once || (datasyncFaults !== undefined && path.endsWith(datasyncFaults))) {
            if (once) datasyncFault = undefined
            fired.push(`datasync ${path}`)
            unsynced.push(Buffer.concat(pending))
            pending = []
            throw Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' })
          }
          pending = []
          await file.datasync()
        },
        sync: () => file.sync(),
        truncate: (length) => file.truncate(length),
        stat: () => file.stat(),
        close: () => file.close(),
      }
      return wrapped
    },
  }
  return {
    fs,
    failNextDatasync(suffix) {
      datasyncFault = suffix
    },
    failDatasyncs(suffix) {
      datasyncFaults = suffix
    },
    failNextWrite(suffix, bytes) {
      writeFault = { suffix, bytes, spent: false }
    },
    shortWrites(suffix, bytes) {
      short = bytes === undefined ? undefined : { suffix, bytes }
    },
    unsynced,
    fired,
  }
}
