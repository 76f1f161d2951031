// Issues and their positions.

import { type Document, isAlias, isMap, isScalar, isSeq, LineCounter, parseDocument, visit, type YAMLError } from 'yaml'
import type { LoadCatalogResult } from '../load.js'
import type { CatalogIssue } from '../types.js'
import type { Path } from './raw.js'

export class Reporter {
  private readonly errors: CatalogIssue[] = []
  private readonly warnings: CatalogIssue[] = []
  private readonly errorPaths: string[] = []

  private located: LocatedYaml | undefined

  /** `source` is the parsed document, or the text to parse when the first position is needed. */
  constructor(
    private readonly file: string,
    private readonly source: LocatedYaml | string,
  ) {}

  private get doc(): Document {
    return this.locate().doc
  }

  private get lines(): LineCounter {
    return this.locate().lines
  }

  private locate(): LocatedYaml {
    this.located ??= typeof this.source === 'string' ? parseLocated(this.source) : this.source
    return this.located
  }

  /** `at: 'key'` points at the key of a mapping entry (e.g. an unknown property) instead of its value. */
  error(path: Path, message: string, at: 'value' | 'key' = 'value'): void {
    this.errors.push(this.issue(this.offsetOf(path, at), message))
    this.errorPaths.push(pathKey(path))
  }

  warn(path: Path, message: string, at: 'value' | 'key' = 'value'): void {
    this.warnings.push(this.issue(this.offsetOf(path, at), message))
  }

  errorAtOffset(offset: number, message: string): void {
    this.errors.push(this.issue(offset, message))
  }

  warnAtOffset(offset: number, message: string): void {
    this.warnings.push(this.issue(offset, message))
  }

  hasErrors(): boolean {
    return this.errors.length > 0
  }

  /** True when an error was reported at `path` or inside it; used to avoid follow-up noise. */
  hasErrorWithin(path: Path): boolean {
    const key = pathKey(path)
    return this.errorPaths.some((p) => p === key || p.startsWith(`${key}/`))
  }

  lineOf(path: Path): number {
    return this.lines.linePos(this.offsetOf(path, 'value')).line
  }

  result(): LoadCatalogResult {
    return { ok: false, issues: byPosition(this.errors) }
  }

  sortedWarnings(): CatalogIssue[] {
    return byPosition(this.warnings)
  }

  private issue(offset: number, message: string): CatalogIssue {
    const { line, col } = this.lines.linePos(offset)
    return { file: this.file, line, col, message }
  }

  /** Start offset of the YAML node at `path`, or of the deepest node that exists along it. */
  private offsetOf(path: Path, at: 'value' | 'key'): number {
    let node: unknown = this.doc.contents
    let keyNode: unknown
    let offset = rangeStart(node) ?? 0
    for (const [i, segment] of path.entries()) {
      if (isAlias(node)) node = node.resolve(this.doc)
      keyNode = undefined
      if (isMap(node)) {
        const pair = node.items.findLast((p) => String(isScalar(p.key) ? p.key.value : p.key) === String(segment))
        if (!pair) break
        keyNode = pair.key
        node = pair.value ?? pair.key
      } else if (isSeq(node)) {
        node = node.items[Number(segment)]
      } else {
        break
      }
      const isLast = i === path.length - 1
      offset = (isLast && at === 'key' ? rangeStart(keyNode) : undefined) ?? rangeStart(node) ?? offset
    }
    return offset
  }
}

export interface LocatedYaml {
  readonly doc: Document
  readonly lines: LineCounter
}

/** The exact parse: YAML 1.2 core schema even under a `%YAML 1.1` directive (2025-01-01 stays a string). */
export function parseLocated(text: string): LocatedYaml {
  const lines = new LineCounter()
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, schema: 'core' })
  return { doc, lines }
}

function rangeStart(node: unknown): number | undefined {
  const range = (node as { range?: [number, number, number] } | null | undefined)?.range
  return range?.[0]
}

function byPosition(issues: CatalogIssue[]): CatalogIssue[] {
  return [...issues].sort((a, b) => a.line - b.line || a.col - b.col)
}

function pathKey(path: Path): string {
  return path.map(String).join('/')
}

/** `resources[2].sharing.type`; the root is `catalog`. */
export function formatPath(path: Path): string {
  let out = ''
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`
    else if (/^[A-Za-z_$][\w$-]*$/.test(segment)) out += out ? `.${segment}` : segment
    else out += `[${JSON.stringify(segment)}]`
  }
  return out || 'catalog'
}

export function yamlErrorText(e: YAMLError, doc: Document): string {
  if (e.code === 'MULTIPLE_DOCS') return 'the catalog must be a single YAML document (remove the second ---)'
  if (e.code !== 'DUPLICATE_KEY') return e.message
  let key: string | undefined
  visit(doc, {
    Pair(_, pair) {
      if (isScalar(pair.key) && pair.key.range?.[0] === e.pos[0]) key = String(pair.key.value)
    },
  })
  return key === undefined ? 'duplicate key' : `duplicate key "${key}"`
}
