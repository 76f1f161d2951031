import { describe, expect, it } from 'vitest'
import { createHasher, MerkleTree, verifyConsistency, verifyInclusion } from './merkle.js'

const sha = createHasher('sha256')

/** Reference MTH straight from RFC 9162 §2.1.1, recursive over the raw entries. */
function referenceMth(entries: Buffer[]): Buffer {
  if (entries.length === 0) return sha.digest()
  if (entries.length === 1) return sha.leaf(entries[0] as Buffer)
  let k = 1
  while (k * 2 < entries.length) k *= 2
  return sha.node(referenceMth(entries.slice(0, k)), referenceMth(entries.slice(k)))
}

function tree(n: number): { t: MerkleTree; entries: Buffer[] } {
  const t = new MerkleTree(sha)
  const entries = Array.from({ length: n }, (_, i) => Buffer.from(`entry-${i}`))
  for (const e of entries) t.appendLeaf(sha.leaf(e))
  return { t, entries }
}

describe('RFC 9162 Merkle tree', () => {
  it('empty tree root is the hash of the empty string', () => {
    expect(new MerkleTree(sha).root().toString('hex')).toBe(
      'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
    )
  })

  it('roots of every prefix match the recursive definition', () => {
    const { t, entries } = tree(70)
    for (let n = 0; n <= 70; n++) expect(t.root(n).equals(referenceMth(entries.slice(0, n)))).toBe(true)
  })

  it('every inclusion proof verifies, and fails for a wrong leaf, index or root', () => {
    const { t } = tree(37)
    for (let n = 1; n <= 37; n++) {
      for (let m = 0; m < n; m++) {
        const proof = t.inclusionProof(m, n)
        expect(verifyInclusion(sha, m, n, t.leaf(m), proof, t.root(n))).toBe(true)
      }
    }
    const proof = t.inclusionProof(5, 20)
    expect(verifyInclusion(sha, 5, 20, t.leaf(6), proof, t.root(20))).toBe(false)
    expect(verifyInclusion(sha, 4, 20, t.leaf(5), proof, t.root(20))).toBe(false)
    expect(verifyInclusion(sha, 5, 20, t.leaf(5), proof, t.root(21))).toBe(false)
  })

  it('every consistency proof verifies, and fails for wrong roots', () => {
    const { t } = tree(33)
    for (let n = 1; n <= 33; n++) {
      for (let m = 1; m <= n; m++) {
        expect(verifyConsistency(sha, m, n, t.root(m), t.root(n), t.consistencyProof(m, n))).toBe(true)
      }
    }
    expect(verifyConsistency(sha, 7, 20, t.root(6), t.root(20), t.consistencyProof(7, 20))).toBe(false)
  })

  it('works with SM3 too (GB/T 32905 test vector "abc")', () => {
    const sm3 = createHasher('sm3')
    expect(sm3.digest(Buffer.from('abc')).toString('hex')).toBe(
      '66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0',
    )
    const t = new MerkleTree(sm3)
    for (let i = 0; i < 10; i++) t.appendLeaf(sm3.leaf(Buffer.from(`e${i}`)))
    expect(verifyInclusion(sm3, 3, 10, t.leaf(3), t.inclusionProof(3), t.root())).toBe(true)
  })
})
