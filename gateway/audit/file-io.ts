import * as fsp from 'node:fs/promises'

/**
 * The file-system calls the file audit store writes through, so that a test can inject what a real disk does
 * rarely — a short write, ENOSPC, a failed fsync — without a real failing disk. The default is node:fs/promises;
 * a node FileHandle is an AuditFile as it is, so the normal path costs nothing extra.
 */
export interface AuditFile {
  write(buffer: Uint8Array, offset: number, length: number): Promise<{ bytesWritten: number }>
  datasync(): Promise<void>
  sync(): Promise<void>
  truncate(length: number): Promise<void>
  stat(): Promise<{ size: number }>
  close(): Promise<void>
}

export interface AuditFileSystem {
  open(path: string, flags: string, mode?: number): Promise<AuditFile>
  rename(from: string, to: string): Promise<void>
  unlink(path: string): Promise<void>
  truncate(path: string, length: number): Promise<void>
  stat(path: string): Promise<{ size: number }>
  /** Free bytes for an unprivileged writer on the file system holding `path`. */
  freeBytes(path: string): Promise<number>
}

export const nodeFileSystem: AuditFileSystem = {
  open: (path, flags, mode) => fsp.open(path, flags, mode),
  rename: fsp.rename,
  unlink: fsp.unlink,
  truncate: fsp.truncate,
  stat: fsp.stat,
  async freeBytes(path) {
    const s = await fsp.statfs(path)
    return s.bavail * s.bsize
  },
}

/** Writes every byte, looping on short writes (a filling disk returns fewer bytes before it returns ENOSPC). */
export async function writeFully(file: AuditFile, data: Uint8Array): Promise<void> {
  let offset = 0
  while (offset < data.length) {
    const { bytesWritten } = await file.write(data, offset, data.length - offset)
    if (bytesWritten <= 0) throw Object.assign(new Error('write made no progress'), { code: 'EIO' })
    offset += bytesWritten
  }
}

/**
 * Replaces a small file atomically and durably: a temporary file written fully and fsync'ed, renamed over the old
 * one, the directory fsync'ed. On failure the temporary file is removed and the old file stays as it was.
 */
export async function replaceFile(
  fs: AuditFileSystem,
  dir: string,
  path: string,
  content: string,
  mode: number,
): Promise<void> {
  const tmp = `${path}.tmp`
  try {
    const fh = await fs.open(tmp, 'w', mode)
    try {
      await writeFully(fh, Buffer.from(content, 'utf8'))
      await fh.sync()
    } finally {
      await fh.close()
    }
    await fs.rename(tmp, path)
  } catch (err) {
    await fs.unlink(tmp).catch(() => {})
    throw err
  }
  await syncDirectory(fs, dir)
}

export async function syncDirectory(fs: AuditFileSystem, dir: string): Promise<void> {
  const fh = await fs.open(dir, 'r')
  try {
    await fh.sync()
  } finally {
    await fh.close()
  }
}
