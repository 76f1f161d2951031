import { execFile } from 'node:child_process'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'

const run = promisify(execFile)

/**
 * A real RFC 3161 time-stamping authority on loopback: every POSTed TimeStampReq is answered by `openssl ts -reply`
 * with a TSA certificate (extendedKeyUsage critical timeStamping) issued by a CA of its own, both made by openssl
 * in a temporary directory. `setAvailable(false)` makes it answer 503, as a TSA that is down.
 */
export interface TestTsa {
  readonly url: string
  /** PEM of this TSA's root CA (what a verifier is configured with). */
  readonly rootsFile: string
  /** Requests answered with a token so far. */
  readonly granted: number
  setAvailable(available: boolean): void
  close(): Promise<void>
}

export const TSA_POLICY_OID = '1.3.6.1.4.1.61000.17.4.1'

export async function startTestTsa(name = 'Qiao Test TSA'): Promise<TestTsa> {
  const dir = await mkdtemp(join(tmpdir(), 'qiao-tsa-'))
  await makePki(dir, name)
  let available = true
  let granted = 0
  let requests = 0
  // openssl keeps the serial number in a file: one reply at a time.
  let lane: Promise<unknown> = Promise.resolve()

  const reply = async (query: Buffer): Promise<Buffer> => {
    const n = ++requests
    const queryFile = join(dir, `q${n}.tsq`)
    const replyFile = join(dir, `r${n}.tsr`)
    await writeFile(queryFile, query)
    await run('openssl', ['ts', '-reply', '-config', join(dir, 'tsa.cnf'), '-queryfile', queryFile, '-out', replyFile])
    const out = await readFile(replyFile)
    await Promise.all([rm(queryFile), rm(replyFile)])
    return out
  }

  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      if (!available) {
        res.writeHead(503).end('down')
        return
      }
      if (req.method !== 'POST' || req.headers['content-type'] !== 'application/timestamp-query') {
        res.writeHead(415).end()
        return
      }
      const answer = lane.then(() => reply(Buffer.concat(chunks)))
      lane = answer.catch(() => {})
      answer.then(
        (body) => {
          granted++
          res.writeHead(200, { 'content-type': 'application/timestamp-reply' }).end(body)
        },
        (err: Error) => res.writeHead(500).end(err.message),
      )
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}/tsa`,
    rootsFile: join(dir, 'ca.crt'),
    get granted() {
      return granted
    },
    setAvailable(value) {
      available = value
    },
    async close() {
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
      await rm(dir, { recursive: true, force: true })
    },
  }
}

async function makePki(dir: string, name: string): Promise<void> {
  const at = (f: string) => join(dir, f)
  await writeFile(
    at('ext.cnf'),
    [
      '[ca]',
      'basicConstraints = critical, CA:TRUE',
      'keyUsage = critical, keyCertSign, cRLSign',
      'subjectKeyIdentifier = hash',
      '[tsa]',
      'basicConstraints = critical, CA:FALSE',
      'keyUsage = critical, digitalSignature',
      'extendedKeyUsage = critical, timeStamping',
      'subjectKeyIdentifier = hash',
      'authorityKeyIdentifier = keyid',
      '',
    ].join('\n'),
  )
  const openssl = (...args: string[]) => run('openssl', args, { cwd: dir })
  await openssl('genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', at('ca.key'))
  await openssl(
    ...['req', '-x509', '-new', '-key', at('ca.key'), '-subj', `/CN=${name} Root`, '-days', '3650'],
    ...['-config', at('ext.cnf'), '-extensions', 'ca', '-out', at('ca.crt')],
  )
  await openssl('genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', at('tsa.key'))
  await openssl('req', '-new', '-key', at('tsa.key'), '-subj', `/CN=${name}`, '-out', at('tsa.csr'))
  await openssl(
    ...['x509', '-req', '-in', at('tsa.csr'), '-CA', at('ca.crt'), '-CAkey', at('ca.key'), '-set_serial', '2'],
    ...['-days', '3650', '-extfile', at('ext.cnf'), '-extensions', 'tsa', '-out', at('tsa.crt')],
  )
  await writeFile(at('serial'), '01\n')
  await writeFile(
    at('tsa.cnf'),
    [
      '[ tsa ]',
      'default_tsa = qiao_test',
      '[ qiao_test ]',
      `serial = ${at('serial')}`,
      'crypto_device = builtin',
      `signer_cert = ${at('tsa.crt')}`,
      `certs = ${at('ca.crt')}`,
      `signer_key = ${at('tsa.key')}`,
      'signer_digest = sha256',
      `default_policy = ${TSA_POLICY_OID}`,
      'digests = sha256, sha384, sha512',
      'accuracy = secs:1',
      'ordering = no',
      'tsa_name = yes',
      'ess_cert_id_chain = no',
      'ess_cert_id_alg = sha256',
      '',
    ].join('\n'),
  )
}
