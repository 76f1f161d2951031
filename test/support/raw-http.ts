import { connect } from 'node:net'

export interface RawResponse {
  readonly status: number
  /** Header names lower-cased; repeated headers joined with ", ". */
  readonly headers: Record<string, string>
  readonly body: string
}

/**
 * One HTTP/1.1 request written byte for byte on a fresh socket (`Connection: close`), so the path reaches the
 * server exactly as given: no client normalises dot segments, percent-encoding or backslashes. `head` is the
 * request line and header lines without the final CRLF CRLF; `body` follows with its Content-Length.
 */
export function rawRequest(port: number, head: string, body: Buffer | string = ''): Promise<RawResponse> {
  const payload = typeof body === 'string' ? Buffer.from(body, 'utf8') : body
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1')
    const chunks: Buffer[] = []
    socket.setTimeout(30_000, () => socket.destroy(new Error('no answer within 30 s')))
    socket.on('data', (chunk: Buffer) => chunks.push(chunk))
    socket.on('error', reject)
    socket.on('end', () => {
      try {
        resolve(parseResponse(Buffer.concat(chunks)))
      } catch (err) {
        reject(err)
      }
    })
    socket.write(
      Buffer.concat([
        Buffer.from(`${head}\r\ncontent-length: ${payload.length}\r\nconnection: close\r\n\r\n`, 'latin1'),
        payload,
      ]),
    )
  })
}

function parseResponse(bytes: Buffer): RawResponse {
  const end = bytes.indexOf('\r\n\r\n')
  if (end === -1) throw new Error(`not an HTTP response: ${JSON.stringify(bytes.toString('latin1').slice(0, 200))}`)
  const [statusLine, ...lines] = bytes.subarray(0, end).toString('latin1').split('\r\n')
  const status = /^HTTP\/1\.[01] (\d{3})/.exec(statusLine ?? '')
  if (!status) throw new Error(`bad status line ${JSON.stringify(statusLine)}`)
  const headers: Record<string, string> = {}
  for (const line of lines) {
    const colon = line.indexOf(':')
    const name = line.slice(0, colon).trim().toLowerCase()
    const value = line.slice(colon + 1).trim()
    headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`
  }
  let rest = bytes.subarray(end + 4)
  if (/chunked/i.test(headers['transfer-encoding'] ?? '')) rest = dechunk(rest)
  return { status: Number(status[1]), headers, body: rest.toString('utf8') }
}

function dechunk(bytes: Buffer): Buffer {
  const out: Buffer[] = []
  let at = 0
  for (;;) {
    const lineEnd = bytes.indexOf('\r\n', at)
    if (lineEnd === -1) break
    const size = Number.parseInt(bytes.subarray(at, lineEnd).toString('latin1'), 16)
    if (!Number.isFinite(size) || size === 0) break
    out.push(bytes.subarray(lineEnd + 2, lineEnd + 2 + size))
    at = lineEnd + 2 + size + 2
  }
  return Buffer.concat(out)
}
