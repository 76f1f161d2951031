// The plain values the YAML document turns into.

import type { Path } from './raw.js'

export function getIn(root: unknown, path: Path): unknown {
  let value = root
  for (const segment of path) {
    if (!isRecord(value) && !Array.isArray(value)) return undefined
    value = (value as Record<string, unknown>)[String(segment)]
  }
  return value
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

export function stringList(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : []
}
