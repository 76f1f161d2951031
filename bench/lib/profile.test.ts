import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { summarizeProfile } from './profile.js'

const GATEWAY = 'file:///srv/qiao/dist/gateway'
// root → processTicks → audit record → JSON.stringify (a builtin, no URL); root → auth → jose; root → hono router;
// plus the idle and GC pseudo-frames.
const nodes = [
  { id: 1, callFrame: { functionName: '(root)', url: '', lineNumber: -1 }, children: [2, 6, 8, 9, 10] },
  {
    id: 2,
    callFrame: { functionName: 'processTicksAndRejections', url: 'node:internal/process/task_queues', lineNumber: 1 },
    children: [3],
  },
  {
    id: 3,
    callFrame: { functionName: 'auditRecordOf', url: `${GATEWAY}/pipeline/70-audit.js`, lineNumber: 6 },
    children: [4],
  },
  { id: 4, callFrame: { functionName: 'stringify', url: '', lineNumber: -1 }, children: [] },
  {
    id: 5,
    callFrame: { functionName: 'compactVerify', url: 'file:///srv/qiao/node_modules/jose/x.js', lineNumber: 1 },
  },
  { id: 6, callFrame: { functionName: 'verifyToken', url: `${GATEWAY}/auth/tokens.js`, lineNumber: 9 }, children: [5] },
  {
    id: 8,
    callFrame: { functionName: 'search', url: 'file:///srv/qiao/node_modules/hono/dist/router.js', lineNumber: 2 },
  },
  { id: 9, callFrame: { functionName: '(idle)', url: '', lineNumber: -1 } },
  { id: 10, callFrame: { functionName: '(garbage collector)', url: '', lineNumber: -1 } },
]

function profileFile(samples: Array<[node: number, gapUs: number]>): string {
  const file = join(mkdtempSync(join(tmpdir(), 'qiao-prof-')), 'p.cpuprofile')
  // A sample lasts until the next one: its duration is the next delta (the last one gets 0).
  const timeDeltas = samples.map((_, i) => (i === 0 ? 0 : (samples[i - 1] as [number, number])[1]))
  writeFileSync(file, JSON.stringify({ nodes, startTime: 0, endTime: 1, samples: samples.map(([n]) => n), timeDeltas }))
  return file
}

describe('summarizeProfile', () => {
  it('charges builtins and libraries to the stage that called them, leaves idle out, and divides per request', () => {
    const file = profileFile([
      [4, 300], // JSON.stringify under the audit stage
      [5, 200], // jose under authentication
      [8, 100], // Hono's router
      [9, 1000], // idle
      [10, 400], // GC
      [3, 0],
    ])
    const s = summarizeProfile(file, { requests: 10 })
    expect(s.busyMs).toBeCloseTo(1.0)
    expect(s.idleMs).toBeCloseTo(1.0)
    const byStage = Object.fromEntries(s.stages.map((x) => [x.stage.split(' (')[0], x.usPerRequest]))
    expect(byStage).toEqual({
      audit: 30,
      authenticate: 20,
      'framework, routing, error mapping': 10,
      'garbage collection': 40,
    })
    expect(s.topSelf[0]).toEqual({ fn: '(garbage collector)', share: 0.4 })
  })

  it('counts only the samples inside the window', () => {
    const file = profileFile([
      [8, 1000], // start-up, before the window
      [4, 500],
      [5, 500],
      [8, 0],
    ])
    const s = summarizeProfile(file, { fromMs: 0.9, toMs: 1.9 })
    expect(s.stages.map((x) => [x.stage.split(' (')[0], x.share])).toEqual([
      ['audit', 0.5],
      ['authenticate', 0.5],
    ])
  })
})
