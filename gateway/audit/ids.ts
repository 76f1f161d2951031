import { randomFillSync } from 'node:crypto'

const pool = new Uint8Array(16 * 256)
let offset = pool.length

/**
 * UUIDv7 (RFC 9562 §5.7): 48-bit millisecond time then random bits, so audit ids sort by time and are unique
 * across gateway instances. Random bytes come from a pooled CSPRNG fill to keep this off the hot path's profile.
 */
export function uuidv7(now: number): string {
  if (offset + 10 > pool.length) {
    randomFillSync(pool)
    offset = 0
  }
  const b = new Uint8Array(16)
  b[0] = Math.floor(now / 2 ** 40) & 0xff
  b[1] = Math.floor(now / 2 ** 32) & 0xff
  b[2] = (now >>> 24) & 0xff
  b[3] = (now >>> 16) & 0xff
  b[4] = (now >>> 8) & 0xff
  b[5] = now & 0xff
  b.set(pool.subarray(offset, offset + 10), 6)
  offset += 10
  b[6] = ((b[6] as number) & 0x0f) | 0x70 // version 7
  b[8] = ((b[8] as number) & 0x3f) | 0x80 // variant 10
  const hex = Buffer.from(b).toString('hex')
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`
}
