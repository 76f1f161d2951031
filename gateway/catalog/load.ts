import { createHash } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { dirname, resolve } from 'node:path'
import type { ConnectorDefinition } from '../../connectors/kit/types.js'
import { USCC_KNOWN_EXCEPTIONS } from '../../kernel/identifiers.js'
import { checkEvidence } from '../evidence/declaration-check.js'
import { createAjv } from '../validation/ajv.js'
import { buildCatalog } from './loader/build.js'
import { catalogSchema } from './loader/catalog-schema.js'
import { Checker } from './loader/checks.js'
import { detachFromSource, readYamlQuickly } from './loader/quick-yaml.js'
import type { Loose, RawCatalog } from './loader/raw.js'
import { parseLocated, Reporter, yamlErrorText } from './loader/report.js'
import { reportSchemaErrors } from './loader/schema-errors.js'
import { getIn, isRecord, stringList } from './loader/values.js'
import type { Catalog, CatalogIssue } from './types.js'

// The catalog loader's entry points. Its steps live in loader/: issues and positions (report.ts), the JSON Schema
// (catalog-schema.ts, schema-errors.ts), the cross-reference checks (checks.ts, checks/), the frozen model (build.ts).

export { DEFAULT_TIMEOUT_MS } from './loader/build.js'
export { DEFAULT_RESOURCE_CODE_PATTERN } from './loader/checks/resources.js'
export { MAX_QUOTA_REFILL_SECONDS, quotaWindowSeconds } from './loader/quota-window.js'

export interface LoadCatalogOptions {
  /** Connector types by `type:`; the loader checks instances, options and operations against them. */
  definitions: ReadonlyMap<string, ConnectorDefinition<never>>
  /** Values for ${NAME} / ${NAME:-default} in connector options (pass process.env from the CLI/gateway). */
  vars?: Readonly<Record<string, string | undefined>>
  /** File name used in messages; defaults to the path as given. */
  displayName?: string
}

export type LoadCatalogResult =
  | { ok: true; catalog: Catalog; warnings: CatalogIssue[] }
  | { ok: false; issues: CatalogIssue[] }

/** Reads, checks and freezes a catalog file. Never throws for problems in the file: they come back as issues. */
export async function loadCatalog(file: string, options: LoadCatalogOptions): Promise<LoadCatalogResult> {
  const displayName = options.displayName ?? file
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code ?? 'unreadable'
    return {
      ok: false,
      issues: [{ file: displayName, line: 1, col: 1, message: `cannot read the catalog (${reason})` }],
    }
  }
  return loadCatalogText(text, { ...options, displayName, file, baseDir: dirname(resolve(file)) })
}

/** The synchronous core: `text` is the catalog, schema paths resolve against `baseDir`. */
export function loadCatalogText(
  text: string,
  options: LoadCatalogOptions & { file: string; baseDir: string },
): LoadCatalogResult {
  const displayName = options.displayName ?? options.file
  // Positions are only needed for issues: the exact YAML document is parsed then (see quick-yaml.ts).
  let data = readYamlQuickly(text)
  let report: Reporter
  if (data !== undefined) {
    report = new Reporter(displayName, text)
  } else {
    const located = parseLocated(text)
    const { doc } = located
    report = new Reporter(displayName, located)
    for (const e of doc.errors) report.errorAtOffset(e.pos[0], `YAML: ${yamlErrorText(e, doc)}`)
    for (const w of doc.warnings) report.warnAtOffset(w.pos[0], `YAML: ${w.message}`)
    // A duplicate key leaves a usable tree; any other YAML error does not.
    if (doc.errors.some((e) => e.code !== 'DUPLICATE_KEY')) return report.result()

    if (doc.contents === null) {
      report.errorAtOffset(0, 'the catalog is empty')
      return report.result()
    }
    try {
      data = doc.toJS()
    } catch (err) {
      // yaml refuses alias bombs ("Excessive alias count …") here.
      report.errorAtOffset(0, `YAML: ${(err as Error).message}`)
      return report.result()
    }
  }
  data = detachFromSource(data)
  const usccExceptions = stringList(getIn(data, ['identifiers', 'usccExceptions']))
  const ajv = createAjv({ usccExceptions })
  const validateCatalog = ajv.compile(catalogSchema())
  if (!validateCatalog(data)) reportSchemaErrors(validateCatalog.errors ?? [], data, [], report, { prune: true })
  if (!isRecord(data)) return report.result()

  const loose = data as Loose<RawCatalog>
  const checker = new Checker(loose, options, report, ajv, new Set([...USCC_KNOWN_EXCEPTIONS, ...usccExceptions]))
  checker.checkAll()
  // 一件事 evidence bundles: after the matters, whose resources and schemas the checks look up.
  checkEvidence(checker)
  if (report.hasErrors()) return report.result()

  const catalog = buildCatalog(loose as RawCatalog, checker, {
    file: options.file,
    digest: createHash('sha256').update(text, 'utf8').digest('hex'),
  })
  return { ok: true, catalog, warnings: report.sortedWarnings() }
}
