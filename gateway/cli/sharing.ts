// Over 400 lines: the twelve commands of the sharing workflow and the checks of their arguments, one command line.
import { readFile } from 'node:fs/promises'
import { Command, CommanderError } from 'commander'
import {
  type Answer,
  APPLICATION_STATE_NAMES,
  applicationDetail,
  applicationSummary,
  applicationTable,
  createSharingClient,
  formatProblem,
  grantDetail,
  grantTable,
  historyTable,
  itemPath,
  ProblemError,
  type SharingClient,
  step,
  UnreachableError,
} from './sharing-client.js'

/**
 * The sharing workflow from the command line, over the gateway's HTTP API (what an officer without a system of
 * their own uses): `qiao apply`, `qiao applications list|show|history`, `qiao check` (the authority's conformity
 * check), `qiao review` (the provider), `qiao resubmit`, `qiao withdraw`, `qiao grants list|show|revoke|renew`.
 * Exit codes: 0 done, 1 the gateway refused (its problem is printed) or could not be reached, 2 usage.
 */

export interface SharingIo {
  readonly env: Readonly<Record<string, string | undefined>>
  out(text: string): void
  err(text: string): void
  setExitCode(code: number): void
  /** Ends a command line commander refused (or `--help`): process.exit in the CLI, a throw in tests. */
  abort(code: number): never
}

const USAGE_EXIT = 2
const DEFAULT_URL = 'http://127.0.0.1:8080'

/** A usage problem found after commander: exit 2, nothing sent. */
class UsageError extends Error {}

interface GatewayOptions {
  readonly url?: string
  readonly token?: string
  readonly json?: boolean
  readonly ifMatch?: string
}

/** What a command did: the answer (printed as is with --json) and its human form. */
interface Outcome {
  readonly answer: Answer
  readonly text: string
  /** Said on stderr, so that piped output stays the listing (e.g. where the next page is). */
  readonly note?: string
}

function processIo(): SharingIo {
  return {
    env: process.env,
    out: (text) => void process.stdout.write(text),
    err: (text) => void process.stderr.write(text),
    setExitCode: (code) => {
      process.exitCode = code
    },
    abort: (code) => process.exit(code),
  }
}

export function registerSharingCommands(program: Command, io: SharingIo = processIo()): void {
  const command = (parent: Command, name: string, description: string, withIfMatch = false) => {
    const cmd = parent
      .command(name)
      .description(description)
      .option('--url <gateway>', `gateway base URL (default: QIAO_GATEWAY_URL, else ${DEFAULT_URL})`)
      .option('--token <jwt>', 'access token (default: QIAO_TOKEN)')
      .option('--json', 'print the JSON answer as it came')
      .exitOverride((err) => io.abort(err.exitCode === 0 ? 0 : USAGE_EXIT))
    if (withIfMatch) cmd.option('--if-match <etag>', 'the ETag the step acts on (default: read it first)')
    return cmd
  }
  const act =
    <T extends GatewayOptions>(name: string, task: (client: SharingClient, options: T) => Promise<Outcome>) =>
    (options: T) =>
      run(io, name, options, (client) => task(client, options))
  const actOn =
    <T extends GatewayOptions>(
      name: string,
      task: (client: SharingClient, id: string, options: T) => Promise<Outcome>,
    ) =>
    (id: string, options: T) =>
      run(io, name, options, (client) => task(client, id, options))
  const list = (value: string) =>
    value
      .split(',')
      .map((v) => v.trim())
      .filter((v) => v !== '')
  const collect = (value: string, previous: string[] = []) => [...previous, value]

  command(
    program,
    'apply',
    'apply for a resource for one matter (scope sharing:apply); prints the id, state and due date',
  )
    .option('--file <application.json>', 'the application as JSON; the options below override its fields')
    .option('--resource <id>', 'resource id, e.g. housing.construction-permit')
    .option('--matter <code>', 'matter code (实施编码)')
    .option('--mode <mode>', '共享方式: query or write-back')
    .option('--usage <用途>', '共享用途: 行政依据, 业务协同, 数据校核 or 工作参考')
    .option('--fields <a,b>', 'fields wanted in clear', list)
    .option('--masked <c,d>', 'fields accepted masked', list)
    .option('--legal-basis <text>', '使用依据')
    .option('--scene <text>', '使用场景')
    .option('--scope-of-use <text>', '使用范围')
    .option('--valid-from <date>', '使用时限: first day (default: the approval day)')
    .option('--valid-to <date>', '使用时限: last day, e.g. 2027-12-31')
    .option('--contact-name <name>', 'contact officer')
    .option('--contact-phone <phone>', 'contact phone')
    .option('--contact-email <email>', 'contact e-mail')
    .action(
      act('apply', async (client, options: ApplyOptions) => {
        const answer = await client.post('/v1/applications', await applicationBody(options))
        return { answer, text: applicationSummary(answer.body.data) }
      }),
    )

  const applications = program.command('applications').description('sharing applications as the token may see them')
  command(applications, 'list', 'newest first')
    .option('--state <state>', Object.keys(APPLICATION_STATE_NAMES).join(', '))
    .option('--consumer <dept>', 'applying department')
    .option('--provider <dept>', 'providing department')
    .option('--resource <id>', 'resource id')
    .option('--overdue', 'only those past their due date')
    .option('--limit <n>', 'page size, 1–200')
    .option('--cursor <cursor>', 'the next page, as a previous listing said')
    .action(
      act('applications list', async (client, o: ListOptions) => {
        const query = pick(o, ['state', 'consumer', 'provider', 'resource', 'limit', 'cursor'])
        const answer = await client.get('/v1/applications', { ...query, overdue: o.overdue })
        return listed(answer, applicationTable(answer.body.data), 'applications list')
      }),
    )
  command(applications, 'show', 'one application: request, clock, notices, decision')
    .argument('<id>')
    .action(
      actOn('applications show', async (client, id) => {
        const answer = await client.get(itemPath('applications', id))
        return { answer, text: applicationDetail(answer.body.data, answer.etag) }
      }),
    )
  command(applications, 'history', 'every step taken, in order')
    .argument('<id>')
    .action(
      actOn('applications history', async (client, id) => {
        const answer = await client.get(itemPath('applications', id, 'history'))
        return { answer, text: historyTable(answer.body.data) }
      }),
    )

  command(program, 'check', 'the authority’s conformity check (scope sharing:admin)', true)
    .argument('<id>')
    .option('--pass', 'conforms: forward to the provider (or grant, for 无条件 resources)')
    .option(
      '--notice <pointer=message...>',
      '一次性告知: everything missing, e.g. "/legalBasis=请补充文件依据"',
      collect,
    )
    .option('--refuse', 'refuse (needs --reason)')
    .option('--reason <text>', 'why it is refused')
    .action(
      actOn('check', async (client, id, o: DecisionOptions) => {
        const decision = oneOf(o, ['pass', 'notice', 'refuse'])
        refuseNeedsReason(o, decision)
        const body =
          decision === 'pass' ? { decision } : decision === 'notice' ? noticeBody(o.notice) : refusal(o.reason)
        return transition(client, 'applications', id, 'conformity', body, o)
      }),
    )

  command(program, 'review', 'the provider’s review (scope sharing:review, the provider department)', true)
    .argument('<id>')
    .option('--approve', 'approve; the options below narrow what was applied for')
    .option('--fields <a,b>', 'with --approve: fields granted in clear', list)
    .option('--masked <c,d>', 'with --approve: fields granted masked', list)
    .option('--valid-from <date>', 'with --approve: first day')
    .option('--valid-to <date>', 'with --approve: last day (at most what was applied for)')
    .option('--quota <n/per>', 'with --approve: a quota, e.g. 100/day or 10/10s')
    .option('--notice <pointer=message...>', '一次性告知: everything missing, e.g. "/scene=请说明使用场景"', collect)
    .option('--refuse', 'refuse (needs --reason)')
    .option('--reason <text>', 'why it is refused')
    .action(
      actOn('review', async (client, id, o: DecisionOptions & ApprovalOptions) => {
        const decision = oneOf(o, ['approve', 'notice', 'refuse'])
        refuseNeedsReason(o, decision)
        const terms = ['fields', 'masked', 'validFrom', 'validTo', 'quota'] as const
        if (decision !== 'approve' && terms.some((t) => o[t] !== undefined)) {
          throw new UsageError('--fields, --masked, --valid-from, --valid-to and --quota go with --approve')
        }
        const body =
          decision === 'approve'
            ? { decision, ...pick(o, ['fields', 'masked', 'validFrom', 'validTo']), ...quotaOf(o.quota) }
            : decision === 'notice'
              ? noticeBody(o.notice)
              : refusal(o.reason)
        return transition(client, 'applications', id, 'review', body, o)
      }),
    )

  command(program, 'resubmit', 'answer a notice: change what it named (the applying department)', true)
    .argument('<id>')
    .requiredOption(
      '--set <field=value>',
      'a changed field, e.g. legalBasis=… or contact.phone=… (repeatable)',
      collect,
    )
    .option('--note <text>', 'a word for the reviewer')
    .action(
      actOn('resubmit', async (client, id, o: GatewayOptions & { set: string[]; note?: string }) => {
        const body = { changes: changesOf(o.set), ...(o.note === undefined ? {} : { note: o.note }) }
        return transition(client, 'applications', id, 'resubmit', body, o)
      }),
    )

  command(program, 'withdraw', 'withdraw an application not yet decided (the applying department)', true)
    .argument('<id>')
    .option('--reason <text>', 'why')
    .action(
      actOn('withdraw', (client, id, o: GatewayOptions & { reason?: string }) =>
        transition(client, 'applications', id, 'withdraw', pick(o, ['reason']), o),
      ),
    )

  const grants = program.command('grants').description('grants in force: live (approved applications) and catalog.yaml')
  command(grants, 'list', 'newest first')
    .option('--state <state>', 'active, revoked or superseded')
    .option('--source <source>', 'application or catalog')
    .option('--consumer <dept>', 'consuming department')
    .option('--provider <dept>', 'providing department')
    .option('--resource <id>', 'resource id')
    .option('--matter <code>', 'matter code')
    .option('--expiring-within <days>', 'validity ends within this many days')
    .option('--limit <n>', 'page size, 1–200')
    .option('--cursor <cursor>', 'the next page, as a previous listing said')
    .action(
      act('grants list', async (client, o: ListOptions) => {
        const query = pick(o, ['state', 'source', 'consumer', 'provider', 'resource', 'matter', 'limit', 'cursor'])
        const answer = await client.get('/v1/grants', { ...query, expiringWithin: o.expiringWithin })
        return listed(answer, grantTable(answer.body.data), 'grants list')
      }),
    )
  command(grants, 'show', 'one grant')
    .argument('<id>', 'a grant id, or catalog:<matter>:<resource>:<action>:<consumer>')
    .action(
      actOn('grants show', async (client, id) => {
        const answer = await client.get(itemPath('grants', id))
        return { answer, text: grantDetail(answer.body.data, answer.etag) }
      }),
    )
  command(grants, 'revoke', 'revoke a live grant: its next call is refused (the provider or the authority)', true)
    .argument('<id>')
    .requiredOption('--reason <text>', 'why (recorded, shown with the grant)')
    .action(
      actOn('grants revoke', async (client, id, o: GatewayOptions & { reason: string }) => {
        const answer = await step(client, 'grants', id, 'revoke', { reason: o.reason }, o.ifMatch)
        return { answer, text: grantDetail(answer.body.data, answer.etag) }
      }),
    )
  command(grants, 'renew', 'apply again for a grant, pre-filled from it (the consuming department)')
    .argument('<id>')
    .requiredOption('--valid-to <date>', 'the new last day')
    .action(
      actOn('grants renew', async (client, id, o: GatewayOptions & { validTo: string }) => {
        const answer = await client.post(itemPath('grants', id, 'renew'), { validTo: o.validTo })
        return { answer, text: applicationSummary(answer.body.data) }
      }),
    )
}

/** Runs the sharing commands on `argv` (without `node qiao`) and says how it ended: what tests drive. */
export async function runSharingCli(
  argv: readonly string[],
  io: Pick<SharingIo, 'env' | 'out' | 'err'>,
): Promise<number> {
  let exitCode = 0
  const aborted = new CommanderError(0, 'qiao.aborted', 'aborted')
  const testIo: SharingIo = {
    ...io,
    setExitCode: (code) => {
      exitCode = code
    },
    abort: (code) => {
      exitCode = code
      throw aborted
    },
  }
  const program = new Command('qiao')
    .exitOverride((err) => testIo.abort(err.exitCode === 0 ? 0 : USAGE_EXIT))
    .configureOutput({ writeOut: io.out, writeErr: io.err })
  registerSharingCommands(program, testIo)
  try {
    await program.parseAsync([...argv], { from: 'user' })
  } catch (err) {
    if (err !== aborted) throw err
  }
  return exitCode
}

async function run(
  io: SharingIo,
  name: string,
  options: GatewayOptions,
  task: (client: SharingClient) => Promise<Outcome>,
): Promise<void> {
  try {
    const token = options.token ?? io.env.QIAO_TOKEN
    if (token === undefined || token === '') throw new UsageError('give --token or set QIAO_TOKEN')
    const url = options.url ?? io.env.QIAO_GATEWAY_URL ?? DEFAULT_URL
    if (!/^https?:\/\/[^/]/.test(url)) throw new UsageError(`--url: expected an http(s) URL of the gateway`)
    const outcome = await task(createSharingClient({ url, token }))
    io.out(options.json ? `${JSON.stringify(outcome.answer.body, null, 2)}\n` : outcome.text)
    if (outcome.note !== undefined) io.err(outcome.note)
    io.setExitCode(0)
  } catch (err) {
    if (err instanceof ProblemError) {
      io.err(formatProblem(err))
      io.setExitCode(1)
    } else if (err instanceof UsageError || err instanceof UnreachableError) {
      io.err(`qiao ${name}: ${err.message}\n`)
      io.setExitCode(err instanceof UsageError ? USAGE_EXIT : 1)
    } else {
      throw err
    }
  }
}

/** A step on an item, answered with the item as it now is. */
async function transition(
  client: SharingClient,
  collection: 'applications' | 'grants',
  id: string,
  name: string,
  body: unknown,
  options: GatewayOptions,
): Promise<Outcome> {
  const answer = await step(client, collection, id, name, body, options.ifMatch)
  return { answer, text: applicationSummary(answer.body.data) }
}

function listed(answer: Answer, text: string, command: string): Outcome {
  const next = (answer.body.meta as { next?: unknown } | undefined)?.next
  return { answer, text, ...(typeof next === 'string' ? { note: `more: qiao ${command} … --cursor ${next}\n` } : {}) }
}

function pick<T extends object, K extends keyof T>(options: T, keys: readonly K[]): { [P in K]?: T[P] } {
  const out: { [P in K]?: T[P] } = {}
  for (const key of keys) if (options[key] !== undefined) out[key] = options[key]
  return out
}

interface ListOptions extends GatewayOptions {
  readonly state?: string
  readonly source?: string
  readonly consumer?: string
  readonly provider?: string
  readonly resource?: string
  readonly matter?: string
  readonly overdue?: boolean
  readonly expiringWithin?: string
  readonly limit?: string
  readonly cursor?: string
}

interface DecisionOptions extends GatewayOptions {
  readonly pass?: boolean
  readonly approve?: boolean
  readonly refuse?: boolean
  readonly notice?: string[]
  readonly reason?: string
}

interface ApprovalOptions {
  readonly fields?: string[]
  readonly masked?: string[]
  readonly validFrom?: string
  readonly validTo?: string
  readonly quota?: string
}

function oneOf<K extends 'pass' | 'approve' | 'notice' | 'refuse'>(
  options: DecisionOptions,
  decisions: readonly K[],
): K {
  const given = decisions.filter((d) => options[d] !== undefined)
  if (given.length !== 1) throw new UsageError(`give one of ${decisions.map((d) => `--${d}`).join(', ')}`)
  return given[0] as K
}

function refuseNeedsReason(options: DecisionOptions, decision: string): void {
  if (decision === 'refuse' && (options.reason ?? '').trim() === '') throw new UsageError('--refuse needs --reason')
  if (decision !== 'refuse' && options.reason !== undefined) throw new UsageError('--reason goes with --refuse')
}

function refusal(reason: string | undefined): { decision: 'refuse'; reason: string } {
  return { decision: 'refuse', reason: reason as string }
}

/** `/pointer=message` → a notice item; the pointer names the place in the application. */
function noticeBody(items: readonly string[] = []): {
  decision: 'notice'
  items: { pointer: string; message: string }[]
} {
  return {
    decision: 'notice',
    items: items.map((item) => {
      const at = item.indexOf('=')
      const pointer = item.slice(0, at).trim()
      const message = item.slice(at + 1).trim()
      if (at < 0 || !pointer.startsWith('/') || message === '') {
        throw new UsageError(`--notice: expected /pointer=message, e.g. "/legalBasis=请补充文件依据"`)
      }
      return { pointer, message }
    }),
  }
}

/** `100/day`, `10/10s` → a quota as the catalog writes them. */
function quotaOf(raw: string | undefined): { quota?: { limit: number; per: string } } {
  if (raw === undefined) return {}
  const m = /^([1-9]\d{0,8})\/(second|minute|hour|day|[1-9]\d{0,5}[smhd])$/.exec(raw.trim())
  if (!m) throw new UsageError('--quota: expected <calls>/<window>, e.g. 100/day or 10/10s')
  return { quota: { limit: Number(m[1]), per: m[2] as string } }
}

const FIELD_PATH = /^[A-Za-z][A-Za-z0-9]*(?:\.[A-Za-z][A-Za-z0-9]*)?$/
const LIST_FIELDS = new Set(['fields', 'masked'])

/** `legalBasis=…`, `contact.phone=…`, `fields=a,b` → the changes of a resubmission. */
function changesOf(sets: readonly string[]): Record<string, unknown> {
  const changes: Record<string, unknown> = {}
  for (const set of sets) {
    const at = set.indexOf('=')
    const path = set.slice(0, at)
    if (at < 1 || !FIELD_PATH.test(path)) {
      throw new UsageError(`--set: expected <field>=<value>, e.g. legalBasis=《…》第三条 or contact.phone=…`)
    }
    const raw = set.slice(at + 1)
    const value = LIST_FIELDS.has(path)
      ? raw
          .split(',')
          .map((v) => v.trim())
          .filter((v) => v !== '')
      : raw
    const [head, leaf] = path.split('.') as [string, string | undefined]
    if (leaf === undefined) changes[head] = value
    else changes[head] = { ...(changes[head] as Record<string, unknown> | undefined), [leaf]: value }
  }
  return changes
}

interface ApplyOptions extends GatewayOptions, ApprovalOptions {
  readonly file?: string
  readonly resource?: string
  readonly matter?: string
  readonly mode?: string
  readonly usage?: string
  readonly legalBasis?: string
  readonly scene?: string
  readonly scopeOfUse?: string
  readonly contactName?: string
  readonly contactPhone?: string
  readonly contactEmail?: string
}

/** The application: --file if given, the options over it; what is missing the gateway lists (422). */
async function applicationBody(o: ApplyOptions): Promise<Record<string, unknown>> {
  let base: Record<string, unknown> = { mode: 'query', fields: [], masked: [] }
  if (o.file !== undefined) {
    let parsed: unknown
    try {
      parsed = JSON.parse(await readFile(o.file, 'utf8'))
    } catch (err) {
      const why = (err as NodeJS.ErrnoException).code ?? 'not valid JSON'
      throw new UsageError(`--file ${o.file}: ${why}`)
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      throw new UsageError(`--file ${o.file}: expected a JSON object`)
    }
    base = parsed as Record<string, unknown>
  }
  if (o.mode !== undefined && o.mode !== 'query' && o.mode !== 'write-back') {
    throw new UsageError('--mode: expected query or write-back')
  }
  const given = pick(o, ['resource', 'matter', 'mode', 'usage', 'fields', 'masked', 'legalBasis', 'scene'])
  const more = pick(o, ['scopeOfUse', 'validFrom', 'validTo'])
  const contact = { name: o.contactName, phone: o.contactPhone, email: o.contactEmail }
  const contactGiven = pick(contact, ['name', 'phone', 'email'])
  const body: Record<string, unknown> = { ...base, ...given, ...more }
  if (Object.keys(contactGiven).length > 0) {
    body.contact = { ...(base.contact as Record<string, unknown> | undefined), ...contactGiven }
  }
  return body
}
