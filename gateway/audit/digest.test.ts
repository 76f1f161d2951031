import { createHmac, randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { canonicalJson } from './canonical-json.js'
import { createKeyedDigest, DIGEST_CACHE_MAX_TEXT } from './digest.js'
import { subjectDigest } from './subjects.js'

/** The oracle: an HMAC computed afresh, with nothing remembered. */
const hmacOf = (key: Uint8Array, value: unknown) => createHmac('sha256', key).update(canonicalJson(value)).digest('hex')

describe('keyed digests (remembered per key)', () => {
  const key = randomBytes(32)

  it('a remembered digest is the HMAC of the canonical value, whatever the key order it was given in', () => {
    const digest = createKeyedDigest(key)
    const params = { projectCode: '2401-320115-89-01-123456', ownerUscc: '91320115MA1XYZ1234' }
    const first = digest(params)
    expect(first).toBe(hmacOf(key, params))
    expect(digest({ ownerUscc: params.ownerUscc, projectCode: params.projectCode })).toBe(first)
    expect(digest(params)).toBe(first)
    expect(digest({ ...params, projectCode: '2401-320115-89-01-654321' })).not.toBe(first)
  })

  it('another key (a rotation) never gets a digest remembered under the former one', () => {
    const formerKey = createKeyedDigest(key)
    const nextKey = createKeyedDigest(randomBytes(32))
    const value = `subject:${'91320115MA1XYZ1234'}`
    expect(formerKey(value)).toBe(hmacOf(key, value))
    expect(nextKey(value)).not.toBe(formerKey(value))
    expect(formerKey(value)).toBe(hmacOf(key, value))
  })

  it('stays right beyond its bound: evicted values are hashed again, long texts are never kept', () => {
    const digest = createKeyedDigest(key, 4)
    const values = Array.from({ length: 12 }, (_, i) => ({ n: i }))
    for (let round = 0; round < 3; round++) {
      for (const v of values) expect(digest(v)).toBe(hmacOf(key, v))
    }
    const long = { text: 'x'.repeat(DIGEST_CACHE_MAX_TEXT + 1) }
    expect(digest(long)).toBe(hmacOf(key, long))
    expect(digest(long)).toBe(hmacOf(key, long))
    expect(createKeyedDigest(key, 0)(values[0])).toBe(hmacOf(key, values[0]))
  })

  it('subject digests go through it: one spelling per identifier, the same digest every time', () => {
    const digest = createKeyedDigest(key)
    const expected = hmacOf(key, 'subject:91320115MA1XYZ1234')
    expect(subjectDigest(digest, ' 91320115ma1xyz1234 ')).toBe(expected)
    expect(subjectDigest(digest, '91320115MA1XYZ1234')).toBe(expected)
  })
})
