// Matters and their grants: owners, consumers, sharing rules, approvals and the fields a read grant releases.

import { grantKey } from '../../types.js'
import type { Checker } from '../checks.js'
import { DISCLOSURE_EXPECTED, disclosureDelayMs } from '../disclosure.js'
import type { Loose, LooseResource, Path, RawField, RawGrant } from '../raw.js'
import { formatPath } from '../report.js'

export function checkMatters(checker: Checker): void {
  const firstCode = new Map<string, Path>()
  const firstGrant = new Map<string, Path>()
  for (const [i, m] of (checker.data.matters ?? []).entries()) {
    if (!m) continue
    const at: Path = ['matters', i]
    const uniqueCode = m.code === undefined || checker.unique(firstCode, m.code, [...at, 'code'], 'matter code')
    if (m.owner !== undefined) checker.department(m.owner, [...at, 'owner'])
    if (typeof m.disclosure === 'string' && disclosureDelayMs(m.disclosure) === undefined) {
      checker.problem([...at, 'disclosure'], DISCLOSURE_EXPECTED)
    }
    for (const [j, g] of (m.grants ?? []).entries()) {
      if (!g) continue
      const path = [...at, 'grants', j]
      checkGrant(checker, g, path)
      // A repeated matter code is already reported; its grants would only repeat that.
      if (!uniqueCode || m.code === undefined || !g.resource || !g.action || !g.consumer) continue
      const key = grantKey(m.code, g.resource, g.action, g.consumer)
      const first = firstGrant.get(key)
      if (first) {
        checker.problem(path, `duplicate grant (same matter, resource, action and consumer as ${formatPath(first)})`)
      } else {
        firstGrant.set(key, path)
      }
    }
  }
}

function checkGrant(checker: Checker, g: Loose<RawGrant>, at: Path): void {
  // After a schema error in the grant (say a misspelled `approval`), checks about missing parts would only echo it.
  const malformed = checker.report.hasErrorWithin(at)
  if (g.consumer !== undefined) checker.department(g.consumer, [...at, 'consumer'])
  if (
    g.approval?.validFrom !== undefined &&
    g.approval.validTo !== undefined &&
    g.approval.validFrom > g.approval.validTo
  ) {
    checker.problem([...at, 'approval', 'validTo'], 'must not be before validFrom')
  }
  if (g.resource === undefined) return
  const r = checker.resources.get(g.resource)
  if (!r) {
    checker.problem([...at, 'resource'], `unknown resource "${g.resource}"`)
    return
  }
  if (g.consumer !== undefined && g.consumer === r.provider) {
    checker.problem([...at, 'consumer'], `"${g.consumer}" provides ${g.resource} and cannot be granted it`)
  }
  if (r.sharing?.type === 'none') {
    checker.problem([...at, 'resource'], `${g.resource} is not shared (sharing type none)`)
    return
  }
  if (r.sharing?.type === 'conditional' && !g.approval && !malformed) {
    checker.problem(at, `${g.resource} is shared conditionally, so the grant needs an approval`)
  }
  if ((g.action === 'read' || g.action === 'write') && !r[g.action]) {
    const verb = g.action === 'read' ? 'read' : 'written'
    checker.problem([...at, 'action'], `${g.resource} cannot be ${verb} (no ${g.action} binding)`)
    return
  }
  if (g.action === 'read') checkReleasedFields(checker, g, r, at, malformed)
  else if (g.action === 'write') {
    for (const list of ['fields', 'masked'] as const) {
      if (g[list]?.length)
        checker.report.error([...at, list], `${formatPath(at)}: ${list} applies to read grants only`, 'key')
    }
  }
}

/** `fields` (clear) and `masked` name existing fields, do not overlap and are not both empty. */
function checkReleasedFields(
  checker: Checker,
  g: Loose<RawGrant>,
  r: LooseResource,
  at: Path,
  malformed: boolean,
): void {
  const fieldsByKey = new Map<string, Loose<RawField>>()
  for (const f of r.fields ?? []) if (f?.key !== undefined && !fieldsByKey.has(f.key)) fieldsByKey.set(f.key, f)
  const clear = g.fields ?? []
  const masked = g.masked ?? []
  if (clear.length === 0 && masked.length === 0 && !malformed) {
    checker.report.error(at, `${formatPath(at)}: the grant releases no fields (list them under fields or masked)`)
  }
  for (const [list, keys] of [
    ['fields', clear],
    ['masked', masked],
  ] as const) {
    for (const [k, key] of keys.entries()) {
      if (key === undefined) continue
      const path = [...at, list, k]
      const field = fieldsByKey.get(key)
      if (!field) {
        checker.problem(path, `${r.id} has no field "${key}"`)
      } else if (list === 'masked') {
        if (clear.includes(key)) checker.problem(path, `"${key}" is listed under both fields and masked`)
        if (field.mask === undefined) checker.problem(path, `field "${key}" has no mask rule, so it cannot be masked`)
      } else if (field.sensitivity === 'sensitive-personal' && !g.approval) {
        checker.problem(path, `"${key}" is sensitive personal information; in clear it needs an approval`)
      } else if (field.sensitivity === 'personal') {
        const where = formatPath(path)
        checker.report.warn(path, `${where}: personal field "${key}" is released in clear; consider masked`)
      }
    }
  }
}
