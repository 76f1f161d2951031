// The catalog's own schema, found next to the sources (gateway/catalog/) or the build (dist/gateway/catalog/).

import { existsSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { JsonSchema } from '../../../kernel/records.js'

let catalogSchemaCache: JsonSchema | undefined

export function catalogSchema(): JsonSchema {
  if (!catalogSchemaCache) {
    let dir = dirname(fileURLToPath(import.meta.url))
    while (!existsSync(join(dir, 'schemas', 'catalog.schema.json'))) {
      const parent = dirname(dir)
      if (parent === dir) throw new Error('schemas/catalog.schema.json not found above the catalog loader')
      dir = parent
    }
    catalogSchemaCache = JSON.parse(readFileSync(join(dir, 'schemas', 'catalog.schema.json'), 'utf8')) as JsonSchema
  }
  return catalogSchemaCache
}
