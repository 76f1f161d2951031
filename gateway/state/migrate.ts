import type { Kysely } from 'kysely'
import { type Migration, Migrator } from 'kysely'
import { type StateDatabase, StateMigrationError, type StateModule } from './store.js'

export const MIGRATION_TABLE = 'qiao_state_migration'
export const MIGRATION_LOCK_TABLE = 'qiao_state_migration_lock'

/**
 * Brings the schema up to date with Kysely's Migrator: applied migrations are recorded in `qiao_state_migration`,
 * and the run holds Kysely's migration lock (PostgreSQL: an advisory lock; SQLite: the write lock of the
 * transaction, which our dialect takes with BEGIN IMMEDIATE), so two instances starting at once apply each
 * migration once. Modules are versioned independently, hence unordered names are allowed: a new module's first
 * migration may sort before another module's already applied ones.
 */
export async function migrateState(
  db: Kysely<StateDatabase>,
  modules: readonly StateModule[],
  schema?: string,
): Promise<string[]> {
  const migrations: Record<string, Migration> = {}
  for (const module of modules) {
    for (const [version, migration] of Object.entries(module.migrations)) {
      migrations[`${module.name}/${version}`] = migration
    }
  }
  const migrator = new Migrator({
    db,
    provider: { getMigrations: async () => migrations },
    migrationTableName: MIGRATION_TABLE,
    migrationLockTableName: MIGRATION_LOCK_TABLE,
    allowUnorderedMigrations: true,
    ...(schema === undefined ? {} : { migrationTableSchema: schema }),
  })
  const { error, results = [] } = await migrator.migrateToLatest()
  if (error !== undefined)
    throw new StateMigrationError(results.find((r) => r.status === 'Error')?.migrationName, error)
  return results.filter((r) => r.status === 'Success').map((r) => r.migrationName)
}
