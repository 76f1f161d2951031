#!/usr/bin/env node
// One-shot key set-up for the docker-compose stack (service `init-keys`), run inside the Qiao image after the build:
//
//   node deploy/init-keys.mjs
//       creates, if absent, in $QIAO_DATA_DIR (the `qiao-keys` volume):
//         dev-signing-key.jwk.json  the development issuer's Ed25519 private key (never leaves this volume)
//         gateway/jwks.json         its public half: the gateways' QIAO_JWKS_FILE
//         gateway/audit-hmac.key    the audit HMAC key every gateway instance shares (QIAO_AUDIT_KEY_FILE), so that
//                                   subject digests agree across the instances' logs and the auditor needs one key
//   node deploy/init-keys.mjs token --dept D --sub S --scope "…"
//       the same, then `qiao token` (demo mode) signs an access token with that development key
//
// The gateways mount only the `gateway/` sub-directory of the volume, read-only. Development only: in production,
// tokens come from the identity provider (QIAO_JWKS_URL) and the audit key from the secret store
// (QIAO_AUDIT_KEY_FILE); nothing here is needed then.
import { mkdir, writeFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { loadOrCreateAuditKey } from '../dist/gateway/audit/digest.js'
import { loadOrCreateDevKey } from '../dist/gateway/auth/dev-keys.js'

const [command, ...rest] = process.argv.slice(2)
if (command !== undefined && command !== 'token') {
  console.error(`init-keys: unknown command ${JSON.stringify(command)}; usage: init-keys.mjs [token --dept … …]`)
  process.exit(2)
}

const dataDir = resolve(process.env.QIAO_DATA_DIR || './.qiao')
const shared = join(dataDir, 'gateway')

await mkdir(shared, { recursive: true, mode: 0o700 })
const devKey = await loadOrCreateDevKey(dataDir)
await writeFile(join(shared, 'jwks.json'), `${JSON.stringify(devKey.publicJwks, null, 2)}\n`, { mode: 0o644 })
await loadOrCreateAuditKey(join(shared, 'audit-hmac.key'))

if (command === undefined) {
  console.error(`init-keys: development issuer key ${devKey.kid}; ${join(shared, 'jwks.json')} and audit key ready`)
} else {
  // Hand over to the CLI, which parses process.argv when imported; demo mode finds the same key in QIAO_DATA_DIR.
  const cli = fileURLToPath(new URL('../dist/gateway/cli.js', import.meta.url))
  process.argv = [process.argv[0], cli, 'token', ...rest]
  await import('../dist/gateway/cli.js')
}
