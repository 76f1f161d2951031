import { describe, expect, it } from 'vitest'
import { runSectionSteps, type SectionProgress } from './section-runner.js'
import { WrkRunError } from './wrk-result.js'

describe('the section runner', () => {
  it('records a failing section and runs the others, telling after each where the run stands', async () => {
    const ran: string[] = []
    const logs: string[] = []
    const seen: SectionProgress[] = []
    const step = (name: string, fail?: Error) => ({
      name,
      run: async () => {
        ran.push(name)
        if (fail) throw fail
      },
    })
    const lost = new WrkRunError('no-result-line', 'wrk exited 0 without its BENCH_RESULT line', 'wrk tail line')
    const failures = await runSectionSteps([step('main'), step('pair', lost), step('soak')], {
      log: (m) => logs.push(m),
      afterSection: (p) => {
        seen.push(p)
      },
    })

    expect(ran).toEqual(['main', 'pair', 'soak'])
    expect(failures).toEqual([{ section: 'pair', reason: 'wrk exited 0 without its BENCH_RESULT line' }])
    expect(seen.map((p) => p.completed)).toEqual([['main'], ['main', 'pair'], ['main', 'pair', 'soak']])
    expect(seen.map((p) => p.pending)).toEqual([['pair', 'soak'], ['soak'], []])
    expect(seen.map((p) => p.failures.length)).toEqual([0, 1, 1])
    // The log gets the whole error for diagnosis, the recorded reason only its first line.
    expect(logs.some((m) => m.includes('section pair failed') && m.includes('wrk tail line'))).toBe(true)
  })

  it('goes on when writing the results after a section fails', async () => {
    const ran: string[] = []
    const logs: string[] = []
    const failures = await runSectionSteps(
      ['a', 'b'].map((name) => ({ name, run: async () => void ran.push(name) })),
      {
        log: (m) => logs.push(m),
        afterSection: () => {
          throw new Error('disk full')
        },
      },
    )
    expect(ran).toEqual(['a', 'b'])
    expect(failures).toEqual([])
    expect(logs.filter((m) => m.includes('disk full'))).toHaveLength(2)
  })

  it('records every failing section, non-Error throws included', async () => {
    const failures = await runSectionSteps(
      [
        {
          name: 'x',
          run: async () => {
            throw 'bare string'
          },
        },
        {
          name: 'y',
          run: async () => {
            throw new Error('first line\nsecond line')
          },
        },
      ],
      { log: () => {} },
    )
    expect(failures).toEqual([
      { section: 'x', reason: 'bare string' },
      { section: 'y', reason: 'first line' },
    ])
  })
})
