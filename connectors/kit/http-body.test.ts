import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import iconv from 'iconv-lite'
import { Agent, request } from 'undici'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ConnectorError } from './connector-error.js'
import { bodyCharset, decodeBody, drainBody, readBodyBytes, readBodyText } from './http-body.js'

/** Answers `/<content-type>` with the query's body: GB18030 bytes for 吉𠮷, or `n` bytes of x. */
let server: Server
let base: string
const agent = new Agent({ connect: { timeout: 1_000 } })

beforeAll(async () => {
  server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://test')
    const n = url.searchParams.get('n')
    const body = n === null ? iconv.encode('吉𠮷', 'gb18030') : Buffer.alloc(Number(n), 'x')
    res.writeHead(200, { 'content-type': decodeURIComponent(url.pathname.slice(1)) })
    res.end(body)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})
afterAll(async () => {
  await agent.close()
  await new Promise((resolve) => server.close(resolve))
})

const get = (type: string, n?: number) =>
  request(`${base}/${encodeURIComponent(type)}${n === undefined ? '' : `?n=${n}`}`, { dispatcher: agent })

describe('bodyCharset', () => {
  it('honours GB labels for UTF-8 interfaces and UTF-8 labels for GB systems', () => {
    expect(bodyCharset('application/json;charset=UTF-8')).toBe('utf-8')
    expect(bodyCharset('application/json; charset="GBK"')).toBe('gb18030')
    expect(bodyCharset(['text/plain', 'charset=gb2312'])).toBe('gb18030')
    expect(bodyCharset(undefined)).toBe('utf-8')
    expect(bodyCharset('text/xml; charset=GBK', 'gb18030')).toBe('gb18030')
    expect(bodyCharset('text/xml', 'gb18030')).toBe('gb18030')
    expect(bodyCharset('text/xml; charset=utf8', 'gb18030')).toBe('utf-8')
  })
})

describe('reading bodies', () => {
  it('decodes GB18030 (4-byte characters included) when the label says GB', async () => {
    const res = await get('text/plain; charset=GBK')
    expect(await readBodyText(res.body, res.headers['content-type'], { limit: 1024 })).toBe('吉𠮷')
  })

  it('refuses bytes that are not valid in the charset, and bodies over the limit', async () => {
    const wrong = await get('application/json; charset=utf-8')
    const decoding = readBodyText(wrong.body, wrong.headers['content-type'], { limit: 1024 })
    await expect(decoding).rejects.toBeInstanceOf(ConnectorError)
    await expect(decoding).rejects.toMatchObject({ kind: 'bad-response', message: 'response body is not valid utf-8' })
    const big = await get('text/plain', 100)
    await expect(readBodyBytes(big.body, 99)).rejects.toMatchObject({
      kind: 'bad-response',
      message: 'response body exceeds 99 bytes',
    })
    expect(() => decodeBody(Buffer.from([0xff]), 'gb18030')).toThrow('response body is not valid gb18030')
  })

  it('drains what it will not read', async () => {
    const res = await get('text/plain', 10)
    await drainBody(res.body, 64)
    expect(res.body.destroyed || res.body.readableEnded).toBe(true)
    const big = await get('text/plain', 100_000)
    await drainBody(big.body, 10)
    expect(big.body.destroyed).toBe(true)
  })
})
