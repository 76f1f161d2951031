import type { RunningSimulator } from '../../connectors/kit/simulator.js'
import { exchangeScope, type Principal } from '../auth/principal.js'
import type { Config } from '../config/settings.js'
import type { RunningGateway } from '../gateway.js'

const PERMITS = 'housing.construction-permit'
const SUBSCRIBER = 'drc'

/**
 * `qiao demo`: 发改 subscribes by pull to 住建's construction permits under its catalog grant (reused when the data
 * directory already has it), and the 住建 simulator issues a permit every 30 s, so the pull API has changes to show.
 * Answers the banner's lines and the function that stops the ticker.
 */
export async function startDemoSubscription(
  gateway: RunningGateway,
  config: Config,
  housing: RunningSimulator | undefined,
): Promise<{ lines: string[]; stop: () => void }> {
  const none = { lines: [], stop: () => {} }
  if (!config.demoMode || !issuesPermits(housing)) return none
  const now = Date.now()
  const grant = [...gateway.deps.snapshot().catalog.grants.values()].find(
    (g) =>
      g.consumer === SUBSCRIBER &&
      g.resource === PERMITS &&
      g.action === 'read' &&
      (g.validFromMs ?? 0) <= now &&
      now < (g.validUntilMs ?? Number.POSITIVE_INFINITY),
  )
  if (grant === undefined) return none
  const scope = exchangeScope(grant.matter, PERMITS, 'read')
  const principal: Principal = {
    sub: 'demo-officer-001',
    dept: SUBSCRIBER,
    clientId: 'qiao-demo',
    scopes: new Set([scope]),
    expiresAt: now + 3_600_000,
    tokenId: undefined,
    keyId: undefined,
  }
  const { subscriptions } = gateway.deps
  const existing = (await subscriptions.list(principal)).find(
    (s) => s.resource === PERMITS && s.matter === grant.matter && s.state === 'active' && s.delivery.kind === 'pull',
  )
  const id =
    existing?.id ?? (await subscriptions.create(principal, { matter: grant.matter, resource: PERMITS })).view.id
  const { startDemoPermits } = await import('../../connectors/housing-gongai/simulator/index.js')
  const stop = startDemoPermits(housing)
  const { loadOrCreateDevKey, mintDevToken } = await import('../auth/dev-keys.js')
  const token = await mintDevToken(await loadOrCreateDevKey(config.dataDir), {
    issuer: config.issuer as string,
    audience: config.audience,
    dept: SUBSCRIBER,
    sub: 'demo-officer-001',
    scope,
    ttlSeconds: 8 * 3600,
    clientId: 'qiao-demo',
  })
  return {
    lines: [
      `A subscription (${SUBSCRIBER} follows ${PERMITS} for matter ${grant.matter}; 住建 issues a permit every 30 s):`,
      `  curl -sS '${gateway.url}/v1/subscriptions/${id}/events?limit=10' \\`,
      `    -H 'Authorization: Bearer ${token}'`,
      '  (go on from meta.next with &after=<cursor>)',
    ],
    stop,
  }
}

/** The 住建 simulator, as started by the demo (the kit's RunningSimulator does not say it can issue permits). */
function issuesPermits(sim: RunningSimulator | undefined): sim is RunningSimulator & { issuePermit(): unknown } {
  return sim !== undefined && typeof (sim as { issuePermit?: unknown }).issuePermit === 'function'
}
