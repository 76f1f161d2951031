import { shortReason } from './wrk-result.js'

/**
 * Runs the benchmark's sections one after the other so that one failing does not cost the others (issue 16: a
 * wrk run that lost its report 42 minutes in ended the run, and nothing was written). A failure is recorded with a
 * short reason and the next section runs; after every section, failed or not, `afterSection` is told where the run
 * stands, so the results so far can be written.
 */

export interface SectionFailure {
  readonly section: string
  /** The error's first line (never wrk's output tail, which goes to the log). */
  readonly reason: string
}

export interface SectionStep {
  readonly name: string
  readonly run: () => Promise<void>
}

export interface SectionProgress {
  /** Sections that have run, failed ones included, in order. */
  readonly completed: readonly string[]
  readonly pending: readonly string[]
  readonly failures: readonly SectionFailure[]
}

export interface SectionRunnerHooks {
  readonly log: (message: string) => void
  /** After each section; an error here is logged and the run goes on (the next write may succeed). */
  readonly afterSection?: (progress: SectionProgress) => void | Promise<void>
}

export async function runSectionSteps(
  steps: readonly SectionStep[],
  hooks: SectionRunnerHooks,
): Promise<SectionFailure[]> {
  const completed: string[] = []
  const failures: SectionFailure[] = []
  for (const [i, step] of steps.entries()) {
    try {
      await step.run()
    } catch (err) {
      const failure = { section: step.name, reason: shortReason(err) }
      failures.push(failure)
      // The whole message (wrk's output tail included) for diagnosis; the results keep the short reason.
      const detail = err instanceof Error ? (err.stack ?? err.message) : String(err)
      hooks.log(`ERROR section ${step.name} failed, going on with the others: ${detail}`)
    }
    completed.push(step.name)
    const progress = {
      completed: [...completed],
      pending: steps.slice(i + 1).map((s) => s.name),
      failures: [...failures],
    }
    try {
      await hooks.afterSection?.(progress)
    } catch (err) {
      hooks.log(`WARNING after section ${step.name}: ${shortReason(err)}`)
    }
  }
  return failures
}
