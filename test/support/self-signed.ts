import { execFile } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'

const run = promisify(execFile)

export interface SelfSignedCertificate {
  /** PEM files in `dir`: the certificate doubles as its own CA (NODE_EXTRA_CA_CERTS of a process that calls it). */
  readonly keyFile: string
  readonly certFile: string
  readonly key: Buffer
  readonly cert: Buffer
}

/** A P-256 certificate for 127.0.0.1 and localhost, valid two days, made with openssl in `dir`. */
export async function selfSignedCertificate(dir: string): Promise<SelfSignedCertificate> {
  const keyFile = join(dir, 'key.pem')
  const certFile = join(dir, 'cert.pem')
  await run('openssl', [
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-keyout',
    keyFile,
    '-out',
    certFile,
    '-days',
    '2',
    '-subj',
    '/CN=127.0.0.1',
    '-addext',
    'subjectAltName=IP:127.0.0.1,DNS:localhost',
  ])
  return { keyFile, certFile, key: await readFile(keyFile), cert: await readFile(certFile) }
}
