// Resource schema files: read, parse and compile each file once per load.

import { readFileSync } from 'node:fs'
import { relative, resolve } from 'node:path'
import type { ValidateFunction } from 'ajv'
import type { Ajv2020 as Ajv } from 'ajv/dist/2020.js'
import type { JsonSchema } from '../../../kernel/records.js'
import type { Path } from './raw.js'
import { formatPath, type Reporter } from './report.js'
import { isRecord } from './values.js'

export type SchemaLoad = { ok: true; schema: JsonSchema; validate: ValidateFunction } | { ok: false; problem: string }

export class SchemaFiles {
  private readonly byFile = new Map<string, SchemaLoad>()
  private readonly fileById = new Map<string, string>()

  constructor(
    private readonly ajv: Ajv,
    private readonly baseDir: string,
  ) {}

  /** The compiled schema for a path as written in the catalog; problems are reported at `path` every time. */
  load(written: string, path: Path, report: Reporter): SchemaLoad {
    const file = resolve(this.baseDir, written)
    let loaded = this.byFile.get(file)
    if (!loaded) {
      loaded = this.compile(file, written)
      this.byFile.set(file, loaded)
    }
    if (!loaded.ok) report.error(path, `${formatPath(path)}: ${loaded.problem}`)
    return loaded
  }

  get(written: string): SchemaLoad | undefined {
    return this.byFile.get(resolve(this.baseDir, written))
  }

  private compile(file: string, written: string): SchemaLoad {
    let text: string
    try {
      text = readFileSync(file, 'utf8')
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code
      return {
        ok: false,
        problem: code === 'ENOENT' ? `schema file not found: ${written}` : `cannot read ${written} (${code})`,
      }
    }
    let parsed: unknown
    try {
      parsed = JSON.parse(text)
    } catch (err) {
      return { ok: false, problem: `${written} is not valid JSON: ${(err as Error).message}` }
    }
    if (!isRecord(parsed)) return { ok: false, problem: `${written} must contain a JSON Schema object` }
    const schema: JsonSchema = parsed
    if (typeof schema.$id === 'string') {
      const other = this.fileById.get(schema.$id)
      if (other !== undefined) {
        const otherName = relative(this.baseDir, other)
        return { ok: false, problem: `${written} has $id "${schema.$id}", which ${otherName} already uses` }
      }
      this.fileById.set(schema.$id, file)
    }
    try {
      return { ok: true, schema, validate: this.ajv.compile(schema) }
    } catch (err) {
      return { ok: false, problem: `${written} does not compile: ${(err as Error).message}` }
    }
  }
}
