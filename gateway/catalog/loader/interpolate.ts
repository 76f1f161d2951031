// Connector options: ${NAME} / ${NAME:-default}.

import type { Path } from './raw.js'
import { formatPath, type Reporter } from './report.js'
import { isRecord } from './values.js'

const VARIABLE = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g

/** Substitutes variables in every string under `value`; a variable that is unset and has no default is an issue. */
export function interpolate(
  value: unknown,
  path: Path,
  vars: Readonly<Record<string, string | undefined>>,
  report: Reporter,
): unknown {
  if (typeof value === 'string') {
    return value.replace(VARIABLE, (_match, name: string, fallback: string | undefined) => {
      const set = Object.hasOwn(vars, name) ? vars[name] : undefined
      // Like the shell's ${NAME:-default}: the default also covers an empty value.
      if (fallback !== undefined) return set ? set : fallback
      if (set === undefined) {
        report.error(path, `${formatPath(path)}: environment variable ${name} is not set and has no default`)
        return ''
      }
      return set
    })
  }
  if (Array.isArray(value)) return value.map((item, i) => interpolate(item, [...path, i], vars, report))
  if (isRecord(value)) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, interpolate(v, [...path, k], vars, report)]))
  }
  return value
}
