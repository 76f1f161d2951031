// Connector instances: department, registered type, and options (after ${NAME}) against the type's options schema.

import type { ValidateFunction } from 'ajv'
import type { ConnectorDefinition } from '../../../../connectors/kit/types.js'
import type { Checker } from '../checks.js'
import { interpolate } from '../interpolate.js'
import type { Path } from '../raw.js'
import { reportSchemaErrors } from '../schema-errors.js'

export function checkConnectors(checker: Checker): void {
  const vars = checker.settings.vars ?? {}
  for (const [id, c] of Object.entries(checker.data.connectors ?? {})) {
    if (!c) continue
    const at = ['connectors', id]
    if (c.department !== undefined) checker.department(c.department, [...at, 'department'])
    const options = interpolate(c.options ?? {}, [...at, 'options'], vars, checker.report) as Record<string, unknown>
    checker.connectorOptions.set(id, options)
    if (c.type === undefined) continue
    const definition = checker.settings.definitions.get(c.type)
    if (!definition) {
      const known = [...checker.settings.definitions.keys()].join(', ') || 'none'
      checker.problem([...at, 'type'], `unknown connector type "${c.type}" (registered: ${known})`)
      continue
    }
    const validate = optionsValidator(checker, definition, [...at, 'type'])
    // An unset variable was reported already; validating its empty string would only repeat that.
    if (checker.report.hasErrorWithin([...at, 'options'])) continue
    if (validate && !validate(options)) {
      reportSchemaErrors(validate.errors ?? [], options, [...at, 'options'], checker.report, { prune: false })
    }
  }
}

function optionsValidator(
  checker: Checker,
  definition: ConnectorDefinition<never>,
  path: Path,
): ValidateFunction | undefined {
  if (!checker.compiledOptions.has(definition.type)) {
    try {
      checker.compiledOptions.set(definition.type, checker.ajv.compile(definition.optionsSchema))
    } catch (err) {
      checker.compiledOptions.set(definition.type, undefined)
      checker.report.error(
        path,
        `connector type ${definition.type} has an invalid options schema: ${(err as Error).message}`,
      )
    }
  }
  return checker.compiledOptions.get(definition.type)
}
