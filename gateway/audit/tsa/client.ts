import { randomBytes } from 'node:crypto'
import * as asn1js from 'asn1js'
import * as pkijs from 'pkijs'
import { request } from 'undici'
import { checkpointImprint, integerHex, readToken, SHA256_OID } from './token.js'

/** An RFC 3161 request over HTTP (RFC 3161 §3.4): POST application/timestamp-query, answer timestamp-reply. */

export interface TsaClientOptions {
  readonly url: string
  /** TSA policy to ask for (reqPolicy); the TSA's default when unset. */
  readonly policyOid?: string
  readonly timeoutMs: number
}

/** Why one request got no token; the message names no URL or credentials. */
export class TimestampRequestError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'TimestampRequestError'
  }
}

/** Replies are a few KiB (a token with the TSA's certificate); anything much bigger is not one. */
const MAX_REPLY_BYTES = 256 * 1024
const GRANTED = 0
const GRANTED_WITH_MODS = 1

/** Asks the TSA for a token over the SHA-256 of `jws` (nonce, certReq true) and checks the reply before use. */
export async function requestCheckpointToken(options: TsaClientOptions, jws: string): Promise<Uint8Array> {
  const imprint = checkpointImprint(jws)
  const nonceBytes = randomBytes(8)
  nonceBytes[0] = ((nonceBytes[0] as number) & 0x7f) | 0x01 // positive, no leading zero byte
  const query = new pkijs.TimeStampReq({
    version: 1,
    messageImprint: new pkijs.MessageImprint({
      hashAlgorithm: new pkijs.AlgorithmIdentifier({ algorithmId: SHA256_OID, algorithmParams: new asn1js.Null() }),
      hashedMessage: new asn1js.OctetString({ valueHex: imprint }),
    }),
    nonce: new asn1js.Integer({ valueHex: nonceBytes }),
    certReq: true,
    ...(options.policyOid ? { reqPolicy: options.policyOid } : {}),
  })
  const body = Buffer.from(query.toSchema().toBER())

  let reply: Buffer
  try {
    const res = await request(options.url, {
      method: 'POST',
      headers: { 'content-type': 'application/timestamp-query' },
      body,
      headersTimeout: options.timeoutMs,
      bodyTimeout: options.timeoutMs,
      signal: AbortSignal.timeout(options.timeoutMs),
    })
    if (res.statusCode !== 200) {
      await res.body.dump()
      throw new TimestampRequestError(`TSA answered HTTP ${res.statusCode}`)
    }
    const type = String(res.headers['content-type'] ?? '')
    if (!type.startsWith('application/timestamp-reply')) {
      await res.body.dump()
      throw new TimestampRequestError('TSA reply is not application/timestamp-reply')
    }
    const chunks: Buffer[] = []
    let size = 0
    for await (const chunk of res.body) {
      size += (chunk as Buffer).length
      if (size > MAX_REPLY_BYTES) throw new TimestampRequestError('TSA reply too large')
      chunks.push(chunk as Buffer)
    }
    reply = Buffer.concat(chunks)
  } catch (err) {
    if (err instanceof TimestampRequestError) throw err
    throw new TimestampRequestError(`TSA unreachable (${(err as NodeJS.ErrnoException).code ?? (err as Error).name})`, {
      cause: err,
    })
  }
  return tokenOfReply(reply, imprint, integerHex(new asn1js.Integer({ valueHex: nonceBytes })), options.policyOid)
}

/** The token of a TimeStampResp, once its status is granted and it answers this very request (RFC 3161 §2.4.2). */
function tokenOfReply(reply: Buffer, imprint: Buffer, nonce: string, policyOid: string | undefined): Uint8Array {
  let resp: pkijs.TimeStampResp
  try {
    resp = pkijs.TimeStampResp.fromBER(reply.buffer.slice(reply.byteOffset, reply.byteOffset + reply.length))
  } catch {
    throw new TimestampRequestError('TSA reply is not a TimeStampResp')
  }
  const status = resp.status.status
  if (status !== GRANTED && status !== GRANTED_WITH_MODS) {
    const text = (resp.status.statusStrings ?? []).map((s) => s.valueBlock.value).join('; ')
    throw new TimestampRequestError(`TSA refused the request (status ${status}${text ? `: ${text}` : ''})`)
  }
  if (!resp.timeStampToken) throw new TimestampRequestError('TSA granted the request but sent no token')
  const token = new Uint8Array(resp.timeStampToken.toSchema().toBER())
  let content: ReturnType<typeof readToken>
  try {
    content = readToken(token)
  } catch (err) {
    throw new TimestampRequestError(`TSA token unreadable (${(err as Error).message})`)
  }
  if (!content.imprint.equals(imprint)) throw new TimestampRequestError('TSA token is for other data')
  if (content.nonce !== nonce) throw new TimestampRequestError('TSA token does not carry the request nonce')
  if (policyOid && content.policy !== policyOid) throw new TimestampRequestError('TSA token is under another policy')
  return token
}
