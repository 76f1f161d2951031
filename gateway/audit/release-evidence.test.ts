import { createHmac } from 'node:crypto'
import canonicalize from 'canonicalize'
import { describe, expect, it } from 'vitest'
import { canonicalJson } from './canonical-json.js'
import { createKeyedDigest } from './digest.js'
import {
  type CanonicalRequest,
  contentDigestOf,
  createCanonicalTextDigest,
  readFiledAnswer,
  requestDigestOf,
} from './release-evidence.js'
import {
  RELEASE_RECEIPT_TYP,
  type ReleaseReceiptBody,
  signReleaseReceipt,
  verifyReleaseReceipt,
} from './release-receipt.js'
import { generateSigningJwk, signerFromJwk } from './signing.js'
import { signCompactJws } from './signing-jws.js'

const KEY = new Uint8Array(32).fill(9)
const digest = createKeyedDigest(KEY)
const hmac = (text: string) => createHmac('sha256', KEY).update(text, 'utf8').digest('hex')

const REQUEST: CanonicalRequest = {
  action: 'read',
  case: 'NJ-2026-000123',
  dept: 'drc',
  matter: 'QT00301001',
  params: { projectCode: '2403-320102-04-01-123456', ownerUscc: '91320115MA1W2K7Q0P' },
  resource: 'housing.construction-permit',
}

/** Released records as projection leaves them: keys in the grant's order, Chinese text, escapes, numbers. */
const RELEASED = [
  { permitNo: '320102202611260101', projectName: '九龙湖青溪云庭“住宅”\n小区', ownerLeadName: '张*', area: 12345.6 },
  { permitNo: '320102202611260102', ownerLeadIdNo: '320102********1234', area: 0.1 + 0.2, remarks: null },
]

describe('canonical request digest', () => {
  it('is the keyed HMAC of the RFC 8785 request {action, case, dept, matter, params, resource}', () => {
    const expected = hmac(canonicalize(REQUEST) as string)
    expect(requestDigestOf(digest, REQUEST)).toBe(expected)
    // Parameters in another order are the same request.
    const reordered = {
      ...REQUEST,
      params: { ownerUscc: '91320115MA1W2K7Q0P', projectCode: '2403-320102-04-01-123456' },
    }
    expect(requestDigestOf(digest, reordered)).toBe(expected)
  })

  it('changes with every part of the request, and with the key', () => {
    const base = requestDigestOf(digest, REQUEST)
    const variants: CanonicalRequest[] = [
      { ...REQUEST, action: 'write' },
      { ...REQUEST, case: 'NJ-2026-000124' },
      { ...REQUEST, dept: 'urban' },
      { ...REQUEST, matter: 'XK00208001' },
      { ...REQUEST, resource: 'housing.drawing-review' },
      { ...REQUEST, params: { ...REQUEST.params, projectCode: '2403-320102-04-01-123457' } },
    ]
    const digests = variants.map((v) => requestDigestOf(digest, v))
    expect(new Set([base, ...digests]).size).toBe(variants.length + 1)
    expect(requestDigestOf(createKeyedDigest(new Uint8Array(32).fill(8)), REQUEST)).not.toBe(base)
    // Not the parameters' own digest (paramsDigest): the request binds its matter, case and department too.
    expect(base).not.toBe(digest(REQUEST.params))
  })
})

describe('release digest', () => {
  it('over the rendered canonical text equals the keyed digest of the parsed records (what prove-release recomputes)', () => {
    const text = canonicalJson(RELEASED)
    expect(text).toBe(canonicalize(RELEASED))
    const releaseDigest = createCanonicalTextDigest(KEY)(text)
    expect(releaseDigest).toBe(hmac(text))
    expect(digest(JSON.parse(text))).toBe(releaseDigest)
    // A body filed after being re-serialised with other spacing and key order still proves the same records.
    const refiled = JSON.parse(JSON.stringify({ data: JSON.parse(text) }, null, 2)) as { data: unknown }
    expect(digest(refiled.data)).toBe(releaseDigest)
  })

  it('differs when one character of one value differs', () => {
    const changed = structuredClone(RELEASED)
    ;(changed[0] as { ownerLeadName: string }).ownerLeadName = '李*'
    expect(digest(changed)).not.toBe(digest(RELEASED))
    expect(digest(RELEASED.slice(0, 1))).not.toBe(digest(RELEASED))
  })
})

describe('Content-Digest (RFC 9530)', () => {
  it('matches the RFC’s example and covers the exact bytes', () => {
    // RFC 9530 §2: the content {"hello": "world"} has sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:
    expect(contentDigestOf('{"hello": "world"}')).toBe('sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:')
    expect(contentDigestOf(new TextEncoder().encode('{"hello": "world"}'))).toBe(contentDigestOf('{"hello": "world"}'))
    expect(contentDigestOf('{"hello":"world"}')).not.toBe(contentDigestOf('{"hello": "world"}'))
    expect(contentDigestOf('施工许可')).toBe(contentDigestOf(Buffer.from('施工许可', 'utf8')))
  })
})

describe('a filed answer', () => {
  it('yields its data and audit id, or says why it is not a read answer', () => {
    const body = new TextEncoder().encode(JSON.stringify({ data: RELEASED, meta: { auditId: 'a-1' } }))
    expect(readFiledAnswer(body)).toEqual({ ok: true, data: RELEASED, auditId: 'a-1' })
    expect(readFiledAnswer(new TextEncoder().encode('{"data":{}}'))).toMatchObject({ ok: false })
    expect(readFiledAnswer(new TextEncoder().encode('{"data":['))).toEqual({
      ok: false,
      problem: 'the body is not UTF-8 JSON',
    })
    expect(readFiledAnswer(new Uint8Array([0x7b, 0xff, 0x7d]))).toMatchObject({ ok: false })
  })
})

describe('release receipt', () => {
  const body: ReleaseReceiptBody = {
    auditId: '019a-release',
    case: REQUEST.case,
    contentDigest: contentDigestOf('{"data":[],"meta":{}}'),
    matter: REQUEST.matter,
    requestDigest: requestDigestOf(digest, REQUEST),
    resource: REQUEST.resource,
    time: '2026-11-26T02:00:00.000Z',
  }

  for (const algorithm of ['Ed25519', 'SM2'] as const) {
    it(`signed with the audit key (${algorithm}) verifies with its public key; an edited one does not`, async () => {
      const signer = await signerFromJwk(await generateSigningJwk(algorithm))
      const jws = await signReleaseReceipt(signer, body)
      const header = JSON.parse(Buffer.from(jws.split('.')[0] as string, 'base64url').toString())
      expect(header).toMatchObject({ typ: RELEASE_RECEIPT_TYP, kid: signer.kid, alg: signer.alg })
      expect(Buffer.from(jws.split('.')[1] as string, 'base64url').toString()).toBe(canonicalJson(body))
      const keys = { keys: [signer.publicJwk] }
      expect(await verifyReleaseReceipt(jws, keys)).toEqual(body)

      const [h, , s] = jws.split('.')
      const forged = Buffer.from(canonicalJson({ ...body, contentDigest: contentDigestOf('x') })).toString('base64url')
      await expect(verifyReleaseReceipt(`${h}.${forged}.${s}`, keys)).rejects.toThrow(/does not verify/)
      const other = await signerFromJwk(await generateSigningJwk(algorithm))
      await expect(verifyReleaseReceipt(jws, { keys: [other.publicJwk] })).rejects.toThrow()
    })
  }

  it('is not any other JWS of the same key (a checkpoint is no receipt)', async () => {
    const signer = await signerFromJwk(await generateSigningJwk('Ed25519'))
    const payload = new TextEncoder().encode(canonicalJson(body))
    const checkpointTyped = await signCompactJws(signer, 'qiao-audit-checkpoint+jws', payload)
    await expect(verifyReleaseReceipt(checkpointTyped, { keys: [signer.publicJwk] })).rejects.toThrow(/typ/)
    const partial = await signCompactJws(signer, RELEASE_RECEIPT_TYP, new TextEncoder().encode('{"auditId":"x"}'))
    await expect(verifyReleaseReceipt(partial, { keys: [signer.publicJwk] })).rejects.toThrow(/no case/)
  })
})
