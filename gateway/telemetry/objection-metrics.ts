import { Counter, Gauge, Histogram, type Registry } from 'prom-client'

/**
 * The data objections' figures (fed by calls, as the sharing scheduler's are): how many are open per provider —
 * set whenever this instance recompiles them, so every instance reports the same — and the ones this instance
 * resolved, with the working days each took. Provider labels are catalog department codes.
 */
export interface ObjectionMetrics {
  open(counts: ReadonlyMap<string, number>): void
  resolved(provider: string, outcome: 'accepted' | 'rejected' | 'withdrawn', workingDays: number): void
}

export function objectionMetrics(registry: Registry): ObjectionMetrics {
  const open = new Gauge({
    name: 'qiao_objections_open',
    help: 'Data objections (数据异议) open now, by provider: each one marks its record on every answer.',
    labelNames: ['provider'] as const,
    registers: [registry],
  })
  const resolved = new Counter({
    name: 'qiao_objections_resolved_total',
    help: 'Data objections this instance closed, by provider and outcome: accepted, rejected or withdrawn.',
    labelNames: ['provider', 'outcome'] as const,
    registers: [registry],
  })
  const days = new Histogram({
    name: 'qiao_objection_resolution_working_days',
    help: 'Working days from raising a data objection to the provider accepting or rejecting it (0 = the same day).',
    labelNames: ['provider'] as const,
    buckets: [0, 1, 2, 3, 5, 8, 13, 20],
    registers: [registry],
  })
  return {
    open(counts) {
      open.reset()
      for (const [provider, n] of counts) open.set({ provider }, n)
    },
    resolved(provider, outcome, workingDays) {
      resolved.inc({ provider, outcome })
      if (outcome !== 'withdrawn') days.observe({ provider }, workingDays)
    },
  }
}
