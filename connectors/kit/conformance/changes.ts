import { expect, it } from 'vitest'
import type { Resource } from '../../../gateway/catalog/types.js'
import type { ConnectorError } from '../connector-error.js'
import {
  type CallContext,
  type Change,
  type ChangePage,
  type ChangesOperation,
  type Connector,
  encodeChangeCursor,
  INVALID_CURSOR,
} from '../types.js'
import type { ConformanceFixture } from './suite.js'

/** Page size of the change-feed checks (a drain reads pages of it). */
export const CHANGES_PAGE = 500
/** A drain that needs more pages than this is taken for a feed whose `more` never ends. */
const MAX_DRAIN_PAGES = 200

/** What the change-feed checks take from the suite's harness (suite.ts). */
export interface ChangeFeedKit {
  create(options?: unknown): Connector
  context(deadlineMs?: number): CallContext & { cancel(): void }
  fixture(): ConformanceFixture<unknown>
  failureOf(promise: Promise<unknown>): Promise<ConnectorError>
  resourcesOf(operation: string): Resource[]
  readonly stallDeadlineMs: number
}

async function poll(
  kit: ChangeFeedKit,
  connector: Connector,
  operation: string,
  after: string | undefined,
  limit = CHANGES_PAGE,
  deadlineMs?: number,
): Promise<ChangePage> {
  const op = connector.operations[operation]
  if (op?.kind !== 'changes') throw new Error(`no changes operation ${operation}`)
  const ctx = kit.context(deadlineMs)
  try {
    return await (op as ChangesOperation).handle({ after, limit }, ctx)
  } finally {
    ctx.cancel()
  }
}

/** Every change after `after`, page by page, and the cursor after the last one. */
async function drain(
  kit: ChangeFeedKit,
  connector: Connector,
  operation: string,
  after: string | undefined,
  limit = CHANGES_PAGE,
) {
  const changes: Change[] = []
  let cursor = after
  for (let pages = 0; ; pages++) {
    if (pages > MAX_DRAIN_PAGES) throw new Error(`${operation}: more than ${MAX_DRAIN_PAGES} pages (more never ends)`)
    const page = await poll(kit, connector, operation, cursor, limit)
    expect(page.changes.length, 'a page holds at most limit changes').toBeLessThanOrEqual(limit)
    expect(typeof page.next).toBe('string')
    changes.push(...page.changes)
    cursor = page.next
    if (!page.more) return { changes, cursor: page.next }
  }
}

/** The change-feed capability: shared tests for one `changes` operation. */
export function describeChangeFeed(kit: ChangeFeedKit, operation: string): void {
  const id = (c: Change) => `${c.key}\u0000${c.version}`
  const makeChange = async (): Promise<string> => {
    const fixture = kit.fixture()
    if (!fixture.makeChange) throw new Error('the fixture must provide makeChange for a changes operation')
    return fixture.makeChange()
  }

  it(`${operation}: the first page from the beginning holds well-formed changes and a cursor`, async () => {
    const page = await poll(kit, kit.create(), operation, undefined)
    expect(page.changes.length, 'the fixture upstream has changes').toBeGreaterThan(0)
    expect(typeof page.next).toBe('string')
    expect(typeof page.more).toBe('boolean')
    for (const change of page.changes) {
      expect(typeof change.key === 'string' && change.key.length > 0, 'key').toBe(true)
      expect(typeof change.version === 'string' && change.version.length > 0, 'version').toBe(true)
      expect(['upsert', 'delete']).toContain(change.op)
      expect(Number.isNaN(Date.parse(change.changedAt)), 'changedAt is ISO 8601').toBe(false)
      if (change.op === 'upsert') expect(change.record, 'an upsert carries its record').toBeDefined()
    }
  })

  it(`${operation}: paging with a small limit covers every change exactly once, in order`, async () => {
    const connector = kit.create()
    const whole = await drain(kit, connector, operation, undefined)
    expect(new Set(whole.changes.map(id)).size, 'no change twice in one drain').toBe(whole.changes.length)
    const limit = Math.max(1, Math.ceil(whole.changes.length / 7))
    const paged = await drain(kit, connector, operation, undefined, limit)
    expect(paged.changes.map(id)).toEqual(whole.changes.map(id))
    // At the end, the cursor answers nothing new.
    expect((await poll(kit, connector, operation, paged.cursor)).changes).toEqual([])
  })

  it(`${operation}: a change made at the upstream after the last cursor shows up on the next poll`, async () => {
    const connector = kit.create()
    const before = await drain(kit, connector, operation, undefined)
    const key = await makeChange()
    const next = await drain(kit, connector, operation, before.cursor)
    expect(
      next.changes.map((c) => c.key),
      'the new change',
    ).toContain(key)
    const seen = new Set(before.changes.map(id))
    for (const change of next.changes) expect(seen.has(id(change)), 'a change already handed over').toBe(false)
  })

  it(`${operation}: polling again with an old cursor repeats (a superset), never loses a change`, async () => {
    const connector = kit.create()
    const first = await poll(kit, connector, operation, undefined, 1)
    const rest = await drain(kit, connector, operation, first.next)
    const key = await makeChange()
    const again = await drain(kit, connector, operation, first.next)
    const repeated = new Set(again.changes.map(id))
    for (const change of rest.changes) expect(repeated.has(id(change)), 'a change lost on repeat').toBe(true)
    expect(again.changes.map((c) => c.key)).toContain(key)
    const fromStart = new Set((await drain(kit, connector, operation, undefined)).changes.map(id))
    for (const change of [...first.changes, ...again.changes]) expect(fromStart.has(id(change))).toBe(true)
  })

  it(`${operation}: a garbled or foreign cursor is refused with a clear error, not read from the beginning`, async () => {
    const connector = kit.create()
    for (const cursor of ['not a cursor', '', '%%%', encodeChangeCursor('another-feed', [1]), 'W1tdXQ']) {
      const err = await kit.failureOf(poll(kit, connector, operation, cursor))
      expect(err.kind, JSON.stringify(cursor)).toBe('rejected')
      expect(err.upstreamCode).toBe(INVALID_CURSOR)
    }
  })

  it(`${operation}: honours the deadline: a stalled upstream ends in timeout`, async () => {
    const fault = await kit.fixture().inject('stall')
    try {
      const err = await kit.failureOf(
        poll(kit, kit.create(fault.options), operation, undefined, CHANGES_PAGE, kit.stallDeadlineMs),
      )
      expect(err.kind).toBe('timeout')
    } finally {
      await fault.undo()
    }
  })

  it(`${operation}: records in changes are canonical, valid against the resource's response schema`, async () => {
    const { changes } = await drain(kit, kit.create(), operation, undefined)
    const resources = kit.resourcesOf(operation)
    expect(resources.length).toBeGreaterThan(0)
    for (const resource of resources) {
      const validate = resource.read?.response.validate
      expect(validate, `${resource.id} has a read response schema`).toBeDefined()
      const declared = new Set(resource.fields.map((f) => f.key))
      for (const change of changes) {
        if (change.op === 'delete') {
          expect(change.record).toBeUndefined()
          continue
        }
        expect(validate?.(change.record), JSON.stringify(validate?.errors?.slice(0, 3))).toBe(true)
        for (const key of Object.keys(change.record ?? {})) {
          expect(declared.has(key), `undeclared field ${key}`).toBe(true)
        }
      }
    }
  })
}
