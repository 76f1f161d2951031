import { mkdtemp, readFile, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { sm2 } from 'sm-crypto-v2'
import { describe, expect, it } from 'vitest'
import {
  algorithmOfJwk,
  generateSigningJwk,
  loadOrCreateAuditSigner,
  SM2_DEFAULT_USER_ID,
  signerFromJwk,
  verifySignature,
} from './signing.js'
import { signCompactJws, verifyCompactJws } from './signing-jws.js'

/**
 * SM2 digital signature example on the recommended curve: GM/T 0003.5-2012 Annex A (= GB/T 32918.5-2017 Annex A),
 * "数字签名与验证示例": ID = 1234567812345678, M = "message digest", the key pair, Z_A, e, the random k and (r, s).
 * GB/T 32918.2's own Annex A uses an example curve of its own, which the library does not take; Part 5's example
 * is the one on the curve signatures are made with. The same numbers are OpenSSL's sm2_internal_test.c vector.
 */
const STANDARD = {
  d: '3945208F7B2144B13F36E38AC6D39F95889393692860B51A42FB81EF4DF7C5B8',
  x: '09F9DF311E5421A150DD7D161E4BC5C672179FAD1833FC076BB08FF356F35020',
  y: 'CCEA490CE26775A52DC6EA718CC1AA600AED05FBF35E084A6632F6072DA9AD13',
  message: 'message digest',
  za: 'B2E14C5C79C6DF5B85F4FE7ED8DB7A262B9DA7E07CCB0EA9F4747B8CCDA8A4F3',
  e: 'F0B43E94BA45ACCAACE692ED534382EB17E6AB5A19CE7B31F4486FDFC0D28640',
  k: '59276E27D506861A16680F3AD9C02DCCEF3CC1FA3CDBE4CE6D54B80DEAC1BC21',
  r: 'F5A03B0648D2C4630EEAC513E1BB81A15944DA3827D5B74143AC7EACEEE720B3',
  s: 'B1B6AA29DF212FD8763182BC0D421CA1BB9038FD1F7F42D4840B69C485BBC1AA',
}
const b64 = (hex: string) => Buffer.from(hex, 'hex').toString('base64url')
const STANDARD_PUBLIC_JWK = { kty: 'EC', crv: 'SM2', x: b64(STANDARD.x), y: b64(STANDARD.y) }
const STANDARD_SIGNATURE = new Uint8Array(Buffer.from(STANDARD.r + STANDARD.s, 'hex'))
const MESSAGE = new TextEncoder().encode(STANDARD.message)
const publicHex = `04${STANDARD.x}${STANDARD.y}`.toLowerCase()

function flipped(bytes: Uint8Array, at: number): Uint8Array {
  const copy = new Uint8Array(bytes)
  copy[at] = (copy[at] as number) ^ 0x01
  return copy
}

describe('SM2 against GM/T 0003.5 / GB/T 32918.5 Annex A', () => {
  it('derives the published public key, Z_A and e for the default user ID', () => {
    expect(sm2.getPublicKeyFromPrivateKey(STANDARD.d.toLowerCase())).toBe(publicHex)
    expect(Buffer.from(sm2.getZ(publicHex, SM2_DEFAULT_USER_ID)).toString('hex')).toBe(STANDARD.za.toLowerCase())
    expect(sm2.getHash(MESSAGE, publicHex, SM2_DEFAULT_USER_ID)).toBe(STANDARD.e.toLowerCase())
  })

  it('verifies the published signature (r ‖ s) with the published public key', async () => {
    expect(await verifySignature('SM2SM3', STANDARD_PUBLIC_JWK, MESSAGE, STANDARD_SIGNATURE)).toBe(true)
  })

  it('makes the published signature from the published k', () => {
    // The signer's random point, fixed to the standard's k so that (r, s) are reproducible.
    const k = BigInt(`0x${STANDARD.k}`)
    const x1 = BigInt(`0x${sm2.getPublicKeyFromPrivateKey(STANDARD.k.toLowerCase()).slice(2, 66)}`)
    const signature = sm2.doSignature(MESSAGE, STANDARD.d.toLowerCase(), {
      hash: true,
      publicKey: publicHex,
      userId: SM2_DEFAULT_USER_ID,
      pointPool: [{ k, x1 }],
    })
    expect(signature).toBe((STANDARD.r + STANDARD.s).toLowerCase())
  })

  it('refuses the published signature for a changed byte of the message, r or s, another user ID or key', async () => {
    expect(await verifySignature('SM2SM3', STANDARD_PUBLIC_JWK, flipped(MESSAGE, 3), STANDARD_SIGNATURE)).toBe(false)
    expect(await verifySignature('SM2SM3', STANDARD_PUBLIC_JWK, MESSAGE, flipped(STANDARD_SIGNATURE, 5))).toBe(false)
    expect(await verifySignature('SM2SM3', STANDARD_PUBLIC_JWK, MESSAGE, flipped(STANDARD_SIGNATURE, 40))).toBe(false)
    // The user ID is part of e: the same signature under another ID is not valid.
    const otherId = sm2.doVerifySignature(MESSAGE, (STANDARD.r + STANDARD.s).toLowerCase(), publicHex, {
      hash: true,
      userId: 'ALICE123@YAHOO.COM',
    })
    expect(otherId).toBe(false)
    const other = await generateSigningJwk('SM2')
    const { d: _d, ...otherPublic } = other
    expect(await verifySignature('SM2SM3', otherPublic, MESSAGE, STANDARD_SIGNATURE)).toBe(false)
  })

  it('refuses r or s out of [1, n-1], a DER signature, the wrong alg and a point off the curve', async () => {
    const zeroS = new Uint8Array(64)
    zeroS.set(STANDARD_SIGNATURE.subarray(0, 32))
    expect(await verifySignature('SM2SM3', STANDARD_PUBLIC_JWK, MESSAGE, zeroS)).toBe(false)
    const n = Buffer.from('FFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFF7203DF6B21C6052B53BBF40939D54123', 'hex')
    const rIsN = new Uint8Array([...n, ...STANDARD_SIGNATURE.subarray(32)])
    expect(await verifySignature('SM2SM3', STANDARD_PUBLIC_JWK, MESSAGE, rIsN)).toBe(false)
    const der = Buffer.from(sm2.doSignature(MESSAGE, STANDARD.d.toLowerCase(), { hash: true, der: true }), 'hex')
    expect(await verifySignature('SM2SM3', STANDARD_PUBLIC_JWK, MESSAGE, new Uint8Array(der))).toBe(false)
    expect(await verifySignature('EdDSA', STANDARD_PUBLIC_JWK, MESSAGE, STANDARD_SIGNATURE)).toBe(false)
    expect(await verifySignature('ES256', STANDARD_PUBLIC_JWK, MESSAGE, STANDARD_SIGNATURE)).toBe(false)
    const offCurve = { ...STANDARD_PUBLIC_JWK, y: b64(`${STANDARD.y.slice(0, 62)}00`) }
    expect(await verifySignature('SM2SM3', offCurve, MESSAGE, STANDARD_SIGNATURE)).toBe(false)
  })
})

describe('Ed25519 against RFC 8032 §7.1 TEST 1', () => {
  // Secret key, public key and the signature of the empty message.
  const d = '9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60'
  const x = 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a'
  const sig =
    'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b'
  const jwk = { kty: 'OKP', crv: 'Ed25519', x: b64(x), d: b64(d) }

  it('signs and verifies the published signature', async () => {
    const signer = await signerFromJwk(jwk)
    expect(signer.alg).toBe('EdDSA')
    expect(Buffer.from(await signer.sign(new Uint8Array())).toString('hex')).toBe(sig)
    const signature = new Uint8Array(Buffer.from(sig, 'hex'))
    expect(await verifySignature('EdDSA', signer.publicJwk, new Uint8Array(), signature)).toBe(true)
    expect(await verifySignature('EdDSA', signer.publicJwk, new Uint8Array([0]), signature)).toBe(false)
    expect(await verifySignature('SM2SM3', signer.publicJwk, new Uint8Array(), signature)).toBe(false)
  })
})

describe('signers', () => {
  for (const algorithm of ['Ed25519', 'SM2'] as const) {
    it(`${algorithm}: a new key signs, the public JWK verifies, any changed byte fails`, async () => {
      const privateJwk = await generateSigningJwk(algorithm)
      expect(algorithmOfJwk(privateJwk)).toBe(algorithm)
      const signer = await signerFromJwk(privateJwk)
      expect(signer.publicJwk).not.toHaveProperty('d')
      expect(signer.publicJwk).toMatchObject({ kid: privateJwk.kid, alg: signer.alg, use: 'sig' })
      if (algorithm === 'SM2') expect(signer.publicJwk).toMatchObject({ kty: 'EC', crv: 'SM2', alg: 'SM2SM3' })
      const bytes = new TextEncoder().encode('{"logId":"qiao-gw-1","size":42}')
      const signature = await signer.sign(bytes)
      expect(signature).toHaveLength(64)
      expect(await verifySignature(signer.alg, signer.publicJwk, bytes, signature)).toBe(true)
      for (const at of [0, 17, bytes.length - 1]) {
        expect(await verifySignature(signer.alg, signer.publicJwk, flipped(bytes, at), signature)).toBe(false)
      }
      for (const at of [0, 31, 32, 63]) {
        expect(await verifySignature(signer.alg, signer.publicJwk, bytes, flipped(signature, at))).toBe(false)
      }
    })
  }

  it('refuses an SM2 key file whose public half does not match its private half', async () => {
    const a = await generateSigningJwk('SM2')
    const b = await generateSigningJwk('SM2')
    await expect(signerFromJwk({ ...a, x: b.x, y: b.y })).rejects.toThrow(/do not match/)
  })

  it('makes the key file of the configured kind once (0600), and refuses one of the other kind', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'qiao-signing-'))
    const path = join(dir, 'keys', 'audit-signing-key.jwk.json')
    const first = await loadOrCreateAuditSigner(path, 'SM2')
    const again = await loadOrCreateAuditSigner(path, 'SM2')
    expect(again.kid).toBe(first.kid)
    expect(JSON.parse(await readFile(path, 'utf8'))).toMatchObject({ kty: 'EC', crv: 'SM2', kid: first.kid })
    expect((await stat(path)).mode & 0o777).toBe(0o600)
    await expect(loadOrCreateAuditSigner(path, 'Ed25519')).rejects.toThrow(/is an SM2 key but QIAO_AUDIT_SIGNATURE_ALG/)
    const other = join(dir, 'other.jwk.json')
    await writeFile(other, JSON.stringify(await generateSigningJwk('Ed25519')))
    await expect(loadOrCreateAuditSigner(other, 'SM2')).rejects.toThrow(/is an Ed25519 key/)
  })
})

describe('compact JWS', () => {
  it('signs with either algorithm, verifies against a mixed key set, and refuses tampering', async () => {
    const ed = await signerFromJwk(await generateSigningJwk('Ed25519'))
    const sm = await signerFromJwk(await generateSigningJwk('SM2'))
    const keys = { keys: [ed.publicJwk, sm.publicJwk] }
    const payload = new TextEncoder().encode('{"a":1}')
    for (const signer of [ed, sm]) {
      const jws = await signCompactJws(signer, 'qiao-test+jws', payload)
      const verified = await verifyCompactJws(jws, keys, { typ: 'qiao-test+jws' })
      expect(verified.header).toEqual({ alg: signer.alg, kid: signer.kid, typ: 'qiao-test+jws' })
      expect(new TextDecoder().decode(verified.payload)).toBe('{"a":1}')
      expect(verified.key.kid).toBe(signer.kid)

      const [h, p, s] = jws.split('.') as [string, string, string]
      const otherPayload = Buffer.from('{"a":2}').toString('base64url')
      await expect(verifyCompactJws(`${h}.${otherPayload}.${s}`, keys, { typ: 'qiao-test+jws' })).rejects.toThrow(
        /does not verify/,
      )
      const sig = Buffer.from(s, 'base64url')
      sig[10] = (sig[10] as number) ^ 0x80
      await expect(
        verifyCompactJws(`${h}.${p}.${sig.toString('base64url')}`, keys, { typ: 'qiao-test+jws' }),
      ).rejects.toThrow(/does not verify/)
      await expect(verifyCompactJws(jws, keys, { typ: 'other+jws' })).rejects.toThrow(/typ/)
      await expect(verifyCompactJws(jws, { keys: [] }, { typ: 'qiao-test+jws' })).rejects.toThrow(/no key with kid/)
    }
    // A header that claims the other algorithm for a key finds no key of that kind.
    const sm2Jws = await signCompactJws(sm, 'qiao-test+jws', payload)
    const [, p, s] = sm2Jws.split('.') as [string, string, string]
    const forged = Buffer.from(JSON.stringify({ alg: 'EdDSA', kid: sm.kid, typ: 'qiao-test+jws' })).toString(
      'base64url',
    )
    await expect(verifyCompactJws(`${forged}.${p}.${s}`, keys, { typ: 'qiao-test+jws' })).rejects.toThrow()
    await expect(verifyCompactJws(sm2Jws, keys, { typ: 'qiao-test+jws', algorithms: ['EdDSA'] })).rejects.toThrow(
      /not allowed/,
    )
  })

  it('writes EdDSA checkpoints byte for byte as jose does', async () => {
    const { CompactSign, importJWK } = await import('jose')
    const privateJwk = await generateSigningJwk('Ed25519')
    const signer = await signerFromJwk(privateJwk)
    const payload = new TextEncoder().encode('{"size":1}')
    const byJose = await new CompactSign(payload)
      .setProtectedHeader({ alg: 'EdDSA', kid: signer.kid, typ: 'qiao-audit-checkpoint+jws' })
      .sign(await importJWK(privateJwk, 'EdDSA'))
    expect(await signCompactJws(signer, 'qiao-audit-checkpoint+jws', payload)).toBe(byJose)
  })
})
