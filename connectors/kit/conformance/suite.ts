import { resolve } from 'node:path'
import { Agent } from 'undici'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadCatalog } from '../../../gateway/catalog/load.js'
import type { Catalog, Resource } from '../../../gateway/catalog/types.js'
import { connectorDefinitions } from '../../registry.js'
import { ConnectorError, type ConnectorErrorKind } from '../connector-error.js'
import type {
  CallContext,
  CanonicalRecord,
  ChangePage,
  Clock,
  Connector,
  ConnectorDefinition,
  ReadOperation,
  WriteOperation,
} from '../types.js'
import { CapturingLogger } from './capturing-logger.js'
import { CHANGES_PAGE, type ChangeFeedKit, describeChangeFeed } from './changes.js'

/**
 * The connector conformance kit: one suite every connector must pass (cf. unstorage's testDriver, Meltano's
 * standard tap tests). It takes the connector's definition, a fixture that runs its upstream (a simulator or a
 * seeded database) with fault injection, and the catalog that binds the connector's operations to resources, and
 * checks the contract:
 *
 * - health() reports up against a healthy upstream and down (without throwing) against a dead one;
 * - every read answer validates against its resource's response schema and carries no undeclared field;
 * - writes return a receipt;
 * - the AbortSignal/deadline is honoured: a stalled upstream ends in `timeout` (only the deadline can end it);
 * - every upstream failure becomes a typed ConnectorError of the right kind;
 * - parameter and payload values never appear in what the connector logs;
 * - dispose() is idempotent, and calls after it fail with a ConnectorError;
 * - change feeds (operations of kind `changes`, the capability is declared by having one): the first page from the
 *   beginning, paging that covers every change exactly once in order, a change made at the upstream showing up on
 *   the next poll, an old cursor answering a superset (never fewer), a garbled cursor refused with a clear error,
 *   the deadline honoured, and every record canonical. The fixture must then provide `makeChange`.
 */

/** Faults every fixture can inject, and the ConnectorError kind each must turn into. */
export const REQUIRED_FAULTS = {
  /** The upstream stops answering (or answers far too late). */
  stall: 'timeout',
  /** Nothing listens / connection refused or reset. */
  down: 'unavailable',
  /** The upstream answers something unparseable for its protocol. */
  malformed: 'bad-response',
  /** The upstream refuses the call in its own terms (credentials, envelope or fault code). */
  refuse: 'rejected',
} as const satisfies Record<string, ConnectorErrorKind>

export type UpstreamFault = keyof typeof REQUIRED_FAULTS

export interface InjectedFault<O> {
  /** Options to create the connector with while the fault holds (e.g. a closed port); default: the fixture's. */
  readonly options?: O
  /** Ends the fault. */
  undo(): Promise<void>
}

export interface ConformanceFixture<O> {
  /** Options of a connector that reaches the healthy upstream. */
  readonly options: O
  inject(fault: UpstreamFault): Promise<InjectedFault<O>>
  /**
   * Makes one new change at the upstream, as its users would (a new 前置库 row, a permit issued), and returns the
   * business key (`Change.key`) it changed. Required when the connector declares a `changes` operation.
   */
  makeChange?(): Promise<string>
  close(): Promise<void>
}

export interface OperationCase {
  /** Parameters (reads) or body (writes) that succeed against the fixture's upstream; `{}` for change feeds. */
  readonly ok: Record<string, unknown>
  /** Parameters that match nothing: must end in `not-found` or an empty list. Reads only. */
  readonly missing?: Record<string, unknown>
}

export interface ConformanceOptions<O> {
  readonly definition: ConnectorDefinition<O>
  /** Starts the upstream. Called once for the suite. */
  readonly fixture: () => Promise<ConformanceFixture<O>>
  /** Catalog that binds this connector's operations to resources (their schemas and declared fields). */
  readonly catalogFile: string
  /** Connector instance id in that catalog. */
  readonly instance: string
  /** One case per operation the definition declares. */
  readonly cases: Readonly<Record<string, OperationCase>>
  /** Clock handed to the connector (some upstreams check request timestamps). */
  readonly clock?: Clock
  /** Deadline used for the stall check, ms. */
  readonly stallDeadlineMs?: number
  /** Values for ${NAME} in the catalog's connector options. */
  readonly vars?: Record<string, string>
}

interface Harness<O> {
  fixture: ConformanceFixture<O>
  catalog: Catalog
  agent: Agent
  log: CapturingLogger
  connectors: Connector[]
}

export function testConnectorConformance<O>(options: ConformanceOptions<O>): void {
  const { definition } = options
  const clock: Clock = options.clock ?? { now: () => Date.now() }
  const h = {} as Harness<O>

  function create(connectorOptions: O = h.fixture.options): Connector {
    const connector = definition.create(connectorOptions, { dispatcher: h.agent, log: h.log, clock })
    h.connectors.push(connector)
    return connector
  }

  function context(deadlineMs = 5_000): CallContext & { cancel(): void } {
    const controller = new AbortController()
    const timer = setTimeout(() => controller.abort(), deadlineMs)
    return {
      signal: controller.signal,
      deadline: clock.now() + deadlineMs,
      requestId: 'conformance',
      log: h.log,
      cancel: () => clearTimeout(timer),
    }
  }

  async function run(connector: Connector, operation: string, input: Record<string, unknown>, deadlineMs?: number) {
    const op = connector.operations[operation]
    if (!op) throw new Error(`no operation ${operation}`)
    const ctx = context(deadlineMs)
    try {
      if (op.kind === 'changes') return await op.handle({ after: undefined, limit: CHANGES_PAGE }, ctx)
      return op.kind === 'read'
        ? await (op as ReadOperation<Record<string, unknown>>).handle(input, ctx)
        : await (op as WriteOperation<Record<string, unknown>>).handle(input, ctx)
    } finally {
      ctx.cancel()
    }
  }

  async function failureOf(promise: Promise<unknown>): Promise<ConnectorError> {
    try {
      await promise
    } catch (err) {
      expect(err, 'connectors throw ConnectorError only').toBeInstanceOf(ConnectorError)
      return err as ConnectorError
    }
    throw new Error('expected the call to fail')
  }

  function resourcesOf(operation: string): Resource[] {
    return [...h.catalog.resources.values()].filter(
      (r) =>
        r.connector === options.instance &&
        (r.read?.operation === operation || r.write?.operation === operation || r.changes?.operation === operation),
    )
  }

  const operations = Object.entries(definition.operations)
  const firstRead = operations.find(([, m]) => m.kind === 'read')?.[0]
  const probe = firstRead ?? operations[0]?.[0]
  // Checks that need an operation to call are reported as skipped, with the reason, when there is none.
  const withProbe = it.skipIf(probe === undefined)
  const needsProbe = probe === undefined ? ' (skipped: the connector declares no operation to call)' : ''
  const probeOperation = probe ?? ''

  const changeFeedKit: ChangeFeedKit = {
    create: (connectorOptions) => create(connectorOptions as O | undefined),
    context,
    fixture: () => h.fixture,
    failureOf,
    resourcesOf,
    stallDeadlineMs: options.stallDeadlineMs ?? 300,
  }

  describe(`connector conformance: ${definition.type}`, () => {
    beforeAll(async () => {
      const loaded = await loadCatalog(resolve(options.catalogFile), {
        // Every registered type (the catalog may bind several), with the one under test as given.
        definitions: new Map([...connectorDefinitions, [definition.type, definition as ConnectorDefinition<never>]]),
        vars: { ...process.env, ...options.vars },
      })
      if (!loaded.ok) throw new Error(loaded.issues.map((i) => `${i.file}:${i.line}:${i.col} ${i.message}`).join('\n'))
      h.catalog = loaded.catalog
      h.fixture = await options.fixture()
      h.agent = new Agent({ connect: { timeout: 1_000 }, headersTimeout: 30_000, bodyTimeout: 30_000 })
      h.log = new CapturingLogger()
      h.connectors = []
    })
    afterAll(async () => {
      await Promise.allSettled((h.connectors ?? []).map((c) => c.dispose()))
      await h.agent?.close()
      await h.fixture?.close()
    })

    it('declares a case for every operation, and every operation is bound in the catalog', () => {
      expect(h.catalog.connectors.get(options.instance)?.type).toBe(definition.type)
      for (const [operation] of operations) {
        expect(options.cases[operation], `case for ${operation}`).toBeDefined()
        expect(resourcesOf(operation).length, `catalog resource for ${operation}`).toBeGreaterThan(0)
      }
    })

    it('reports health up against a healthy upstream', async () => {
      const report = await create().health({ signal: AbortSignal.timeout(5_000) })
      expect(report.status).toBe('up')
    })

    it('reports health down, without throwing, when the upstream is down', async () => {
      const fault = await h.fixture.inject('down')
      try {
        const report = await create(fault.options).health({ signal: AbortSignal.timeout(5_000) })
        expect(report.status).toBe('down')
      } finally {
        await fault.undo()
      }
    })

    for (const [operation, manifest] of operations) {
      if (manifest.kind === 'changes') {
        describeChangeFeed(changeFeedKit, operation)
        continue
      }
      it(`${operation}: answers validate against the resource schema, with no undeclared field`, async () => {
        const input = options.cases[operation]?.ok ?? {}
        const answer = await run(create(), operation, input)
        for (const resource of resourcesOf(operation)) {
          if (manifest.kind === 'write') {
            const receipt = answer as { receiptId?: unknown; acceptedAt?: unknown }
            expect(typeof receipt.receiptId).toBe('string')
            expect(Number.isNaN(Date.parse(String(receipt.acceptedAt)))).toBe(false)
            continue
          }
          const records = answer as CanonicalRecord[]
          expect(Array.isArray(records)).toBe(true)
          expect(records.length).toBeGreaterThan(0)
          const validate = resource.read?.response.validate
          const declared = new Set(resource.fields.map((f) => f.key))
          for (const record of records) {
            expect(validate?.(record), JSON.stringify(validate?.errors?.slice(0, 3))).toBe(true)
            for (const key of Object.keys(record)) expect(declared.has(key), `undeclared field ${key}`).toBe(true)
          }
        }
      })

      const missing = options.cases[operation]?.missing
      if (manifest.kind === 'read' && missing) {
        it(`${operation}: parameters that match nothing end in not-found or an empty list`, async () => {
          try {
            expect(await run(create(), operation, missing)).toEqual([])
          } catch (err) {
            expect(err).toBeInstanceOf(ConnectorError)
            expect((err as ConnectorError).kind).toBe('not-found')
          }
        })
      }
    }

    // The stalled upstream never answers, so only the deadline can end the call: a connector that ignored it would
    // hang until the test's own timeout. No bound on elapsed wall time (the machine may be slow).
    withProbe(`honours the deadline: a stalled upstream ends in timeout${needsProbe}`, async () => {
      const fault = await h.fixture.inject('stall')
      const deadline = options.stallDeadlineMs ?? 300
      try {
        const err = await failureOf(
          run(create(fault.options), probeOperation, options.cases[probeOperation]?.ok ?? {}, deadline),
        )
        expect(err.kind).toBe('timeout')
      } finally {
        await fault.undo()
      }
    })

    for (const [fault, kind] of Object.entries(REQUIRED_FAULTS) as [UpstreamFault, ConnectorErrorKind][]) {
      if (fault === 'stall') continue
      withProbe(`maps the "${fault}" upstream failure to a typed ${kind} error${needsProbe}`, async () => {
        const injected = await h.fixture.inject(fault)
        try {
          const err = await failureOf(
            run(create(injected.options), probeOperation, options.cases[probeOperation]?.ok ?? {}),
          )
          expect(err.kind).toBe(kind)
        } finally {
          await injected.undo()
        }
      })
    }

    it('never logs parameter or payload values', async () => {
      const values = new Set<string>()
      const collect = (v: unknown) => {
        if (typeof v === 'string' && v.length >= 4) values.add(v)
        else if (typeof v === 'number' && Math.abs(v) >= 1000) values.add(String(v))
        else if (v && typeof v === 'object') for (const x of Object.values(v)) collect(x)
      }
      for (const [operation, manifest] of operations) {
        if (manifest.kind === 'changes') {
          // What a feed answers is payload too (keys, versions, records); the first page is enough.
          const page = (await run(create(), operation, {})) as ChangePage
          collect(page.changes.map(({ key, version, record }) => ({ key, version, record })))
          continue
        }
        const input = options.cases[operation]?.ok ?? {}
        collect(input)
        collect(await run(create(), operation, input))
      }
      const logged = h.log.text()
      for (const value of values) expect(logged, 'a payload value was logged').not.toContain(value)
    })

    it('disposes idempotently', async () => {
      const connector = create()
      await connector.dispose()
      await expect(connector.dispose()).resolves.toBeUndefined()
    })

    withProbe(`calls after dispose fail with a ConnectorError${needsProbe}`, async () => {
      const connector = create()
      await connector.dispose()
      await connector.dispose()
      await failureOf(run(connector, probeOperation, options.cases[probeOperation]?.ok ?? {}))
    })
  })
}
