#!/usr/bin/env node
// Container health check for the Qiao image, which has no curl or wget (node:20-bookworm-slim):
//
//   node deploy/healthcheck.mjs [URL]
//
// GETs URL (default: the gateway's liveness endpoint, http://127.0.0.1:$QIAO_PORT/healthz) and exits 0 on a 2xx
// answer within 4 s, 1 otherwise. Used by the Dockerfile's HEALTHCHECK and by docker-compose.yml for the gateways
// and the simulators (`/__sim/knobs`).

const url = process.argv[2] ?? `http://127.0.0.1:${process.env.QIAO_PORT || '8080'}/healthz`

try {
  const response = await fetch(url, { signal: AbortSignal.timeout(4000), redirect: 'manual' })
  await response.body?.cancel()
  if (!response.ok) {
    console.error(`healthcheck: ${url} answered ${response.status}`)
    process.exit(1)
  }
  process.exit(0)
} catch (err) {
  console.error(`healthcheck: ${url} unreachable (${err instanceof Error ? err.message : String(err)})`)
  process.exit(1)
}
