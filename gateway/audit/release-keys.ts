import { readFile } from 'node:fs/promises'
import { loadOrCreateAuditKey } from './digest.js'
import { type CanonicalTextDigest, createCanonicalTextDigest } from './release-evidence.js'
import { type AuditSigner, signerFromJwk } from './signing.js'

/** The keys release evidence is made with: the audit HMAC key, and the audit signing key for receipts. */
export interface ReleaseKeys {
  readonly releaseDigest: CanonicalTextDigest
  /** The key checkpoints are signed with (whatever its algorithm), for `Qiao-Release-Receipt`. */
  signer(): Promise<AuditSigner>
}

export interface ReleaseKeyFiles {
  /** QIAO_AUDIT_KEY_FILE: the HMAC key of every keyed digest in the log. */
  readonly auditKeyFile: string
  /** QIAO_AUDIT_SIGNING_KEY_FILE: made by the audit log when it opened, before any call is served. */
  readonly auditSigningKeyFile: string
}

/**
 * The keys, read from their files on first use and then kept (a failed read is tried again on the next call,
 * which meanwhile fails closed). Read here rather than handed over by the gateway's start so that the exchange
 * route needs nothing new from it; the files are the ones the gateway and the audit log opened at start.
 */
export function releaseKeysFrom(files: ReleaseKeyFiles): () => Promise<ReleaseKeys> {
  let keys: Promise<ReleaseKeys> | undefined
  let signer: Promise<AuditSigner> | undefined
  const loadSigner = () => {
    signer ??= readFile(files.auditSigningKeyFile, 'utf8').then((text) => signerFromJwk(JSON.parse(text)))
    signer.catch(() => {
      signer = undefined
    })
    return signer
  }
  return () => {
    keys ??= loadOrCreateAuditKey(files.auditKeyFile).then((key) => ({
      releaseDigest: createCanonicalTextDigest(key),
      signer: loadSigner,
    }))
    keys.catch(() => {
      keys = undefined
    })
    return keys
  }
}
