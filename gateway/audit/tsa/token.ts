import { createHash, webcrypto } from 'node:crypto'
import type * as asn1js from 'asn1js'
import * as pkijs from 'pkijs'

/**
 * RFC 3161 TimeStampTokens of audit checkpoints, parsed and checked with PKI.js (a maintained CMS/TSP
 * implementation with its own test vectors — no DER by hand here). A checkpoint's token is over the SHA-256 of its
 * compact JWS: the bytes the gateway signed, so the token dates exactly that signature.
 */

pkijs.setEngine(
  'node',
  new pkijs.CryptoEngine({ name: 'node', crypto: webcrypto as unknown as pkijs.ICryptoEngine['crypto'] }),
)

export const SHA256_OID = '2.16.840.1.101.3.4.2.1'
const SIGNED_DATA_OID = '1.2.840.113549.1.7.2'
const TST_INFO_OID = '1.2.840.113549.1.9.16.1.4'
const EXTENDED_KEY_USAGE_OID = '2.5.29.37'
const TIME_STAMPING_OID = '1.3.6.1.5.5.7.3.8'

/** What a timestamp is over: the SHA-256 of the checkpoint's JWS (also the key its token is stored under). */
export function checkpointImprint(jws: string): Buffer {
  return createHash('sha256').update(jws, 'utf8').digest()
}

export interface TokenContent {
  readonly genTime: Date
  readonly policy: string
  readonly imprintAlgorithm: string
  readonly imprint: Buffer
  /** Hex, without leading zeros; undefined when the TSA sent none. */
  readonly nonce?: string
  readonly serial: string
}

function arrayBuffer(bytes: Uint8Array): ArrayBuffer {
  return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer
}

export function integerHex(value: asn1js.Integer): string {
  return Buffer.from(value.valueBlock.valueHexView)
    .toString('hex')
    .replace(/^0+(?=.)/, '')
}

function signedDataOf(token: Uint8Array): pkijs.SignedData {
  const info = pkijs.ContentInfo.fromBER(arrayBuffer(token))
  if (info.contentType !== SIGNED_DATA_OID) throw new Error('not a CMS SignedData')
  const signed = new pkijs.SignedData({ schema: info.content })
  if (signed.encapContentInfo.eContentType !== TST_INFO_OID || !signed.encapContentInfo.eContent) {
    throw new Error('SignedData does not hold a TSTInfo')
  }
  return signed
}

/** The TSTInfo of a token, unverified (the client checks its own request's nonce and imprint with it). */
export function readToken(token: Uint8Array): TokenContent {
  const signed = signedDataOf(token)
  const tst = pkijs.TSTInfo.fromBER((signed.encapContentInfo.eContent as asn1js.OctetString).getValue())
  return {
    genTime: tst.genTime,
    policy: tst.policy,
    imprintAlgorithm: tst.messageImprint.hashAlgorithm.algorithmId,
    imprint: Buffer.from(tst.messageImprint.hashedMessage.valueBlock.valueHexView),
    ...(tst.nonce ? { nonce: integerHex(tst.nonce) } : {}),
    serial: integerHex(tst.serialNumber),
  }
}

/** Trusted TSA roots from a PEM bundle (one or more CERTIFICATE blocks). */
export function parseTsaRoots(pem: string): pkijs.Certificate[] {
  const blocks = [...pem.matchAll(/-----BEGIN CERTIFICATE-----([\s\S]*?)-----END CERTIFICATE-----/g)]
  if (blocks.length === 0) throw new Error('no PEM CERTIFICATE in the TSA roots file')
  return blocks.map((m) =>
    pkijs.Certificate.fromBER(arrayBuffer(Buffer.from((m[1] as string).replace(/\s+/g, ''), 'base64'))),
  )
}

/**
 * Checks a checkpoint's token: its imprint is the SHA-256 of this JWS, the CMS signature verifies, and the signing
 * certificate chains to one of `roots` (validity checked at genTime) and is a TSA certificate (extendedKeyUsage
 * timeStamping, critical — RFC 3161 §2.3). Revocation is not checked: offline verification has no CRL or OCSP.
 * Returns the token's content, or throws with the reason.
 */
export async function verifyCheckpointToken(
  token: Uint8Array,
  jws: string,
  roots: readonly pkijs.Certificate[],
): Promise<TokenContent> {
  let content: TokenContent
  let signed: pkijs.SignedData
  try {
    signed = signedDataOf(token)
    content = readToken(token)
  } catch (err) {
    throw new Error(`unreadable token (${(err as Error).message})`)
  }
  if (content.imprintAlgorithm !== SHA256_OID) throw new Error('token is not over a SHA-256 imprint')
  if (!content.imprint.equals(checkpointImprint(jws)))
    throw new Error('token is for other data (messageImprint differs)')
  let result: pkijs.SignedDataVerifyResult
  try {
    result = (await signed.verify({
      signer: 0,
      data: arrayBuffer(Buffer.from(jws, 'utf8')),
      trustedCerts: [...roots],
      checkChain: true,
      extendedMode: true,
    })) as pkijs.SignedDataVerifyResult
  } catch (err) {
    const reason = (err as { message?: string }).message ?? String(err)
    throw new Error(/certificate/i.test(reason) ? `TSA certificate not trusted (${reason})` : reason)
  }
  if (result.signatureVerified !== true) throw new Error('CMS signature does not verify')
  const signer = result.signerCertificate
  const eku = signer?.extensions?.find((e) => e.extnID === EXTENDED_KEY_USAGE_OID)
  const purposes = (eku?.parsedValue as pkijs.ExtKeyUsage | undefined)?.keyPurposes ?? []
  if (!eku?.critical || purposes.length !== 1 || purposes[0] !== TIME_STAMPING_OID) {
    throw new Error('signing certificate is not a TSA certificate (critical extendedKeyUsage timeStamping)')
  }
  return content
}
