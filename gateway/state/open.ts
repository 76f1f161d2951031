import { join } from 'node:path'
import { STATE_MODULES } from './modules.js'
import type { StateModule, StateStore } from './store.js'

export interface OpenStateOptions {
  /** QIAO_STATE_URL: PostgreSQL (`postgres://…[?schema=name]`); unset = the embedded store. */
  readonly url: string | undefined
  /** The embedded store is `<data dir>/state.sqlite`. */
  readonly dataDir: string
  readonly modules?: readonly StateModule[]
}

/** Opens the configured state store and brings its schema up to date; the backend is loaded only when used. */
export async function openStateStore(options: OpenStateOptions): Promise<StateStore> {
  const modules = options.modules ?? STATE_MODULES
  if (options.url === undefined) {
    const { openSqliteState } = await import('./sqlite.js')
    return openSqliteState({ file: join(options.dataDir, 'state.sqlite'), modules })
  }
  // `schema` is our parameter (as in QIAO_AUDIT_URL), taken out before the URL goes to pg.
  const url = new URL(options.url)
  const schema = url.searchParams.get('schema') ?? undefined
  url.searchParams.delete('schema')
  const { openPostgresState } = await import('./postgres.js')
  return openPostgresState({
    connectionString: schema === undefined ? options.url : url.toString(),
    modules,
    ...(schema === undefined ? {} : { schema }),
  })
}
