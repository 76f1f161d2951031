// Departments: unique codes and USCCs, and the GB 32100 check character.

import { checkUscc } from '../../../../kernel/identifiers.js'
import type { Checker } from '../checks.js'
import type { Path } from '../raw.js'

export function checkDepartments(checker: Checker): void {
  const firstCode = new Map<string, Path>()
  const firstUscc = new Map<string, Path>()
  for (const [i, d] of (checker.data.departments ?? []).entries()) {
    if (!d) continue
    if (d.code !== undefined) {
      checker.unique(firstCode, d.code, ['departments', i, 'code'], 'department code')
      checker.departments.add(d.code)
    }
    if (d.uscc !== undefined) {
      const path = ['departments', i, 'uscc']
      checker.unique(firstUscc, d.uscc, path, 'department uscc')
      if (!checker.report.hasErrorWithin(path) && checkUscc(d.uscc, checker.usccExceptions) === 'invalid') {
        checker.problem(
          path,
          `${d.uscc} fails the GB 32100 check character (list real exceptions under identifiers.usccExceptions)`,
        )
      }
    }
  }
}
