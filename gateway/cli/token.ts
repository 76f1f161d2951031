import type { Command } from 'commander'
import { loadOrCreateDevKey, mintDevToken } from '../auth/dev-keys.js'
import { configOrExit, parseTtlSeconds } from './config.js'

export function registerTokenCommand(program: Command): void {
  program
    .command('token')
    .description('demo mode: mint an access token signed with the dev key in the data directory')
    .requiredOption('--dept <code>', 'consumer department code (token `dept`)')
    .requiredOption('--sub <officer>', 'officer id (token `sub`)')
    .requiredOption('--scope <scopes>', 'space-separated scopes, e.g. "QT00301001:housing.construction-permit:read"')
    .option('--ttl <duration>', 'lifetime: seconds or 30m, 1h, 1d', '1h')
    .option('--client-id <id>', 'calling application (token `client_id`)')
    .action(async (options: { dept: string; sub: string; scope: string; ttl: string; clientId?: string }) => {
      const config = configOrExit(process.env, { demo: true })
      if (!config.demoMode) {
        console.error(
          'qiao token: only in demo mode; with QIAO_JWKS_URL/QIAO_JWKS_FILE set, tokens come from your issuer',
        )
        process.exit(1)
      }
      let ttlSeconds: number
      try {
        ttlSeconds = parseTtlSeconds(options.ttl)
      } catch (err) {
        console.error(`qiao token: ${(err as Error).message}`)
        process.exit(1)
      }
      const key = await loadOrCreateDevKey(config.dataDir)
      const token = await mintDevToken(key, {
        issuer: config.issuer as string,
        audience: config.audience,
        dept: options.dept,
        sub: options.sub,
        scope: options.scope,
        ttlSeconds,
        clientId: options.clientId,
      })
      process.stdout.write(`${token}\n`)
    })
}
