import pg from 'pg'
import { CapturingLogger } from '../kit/conformance/capturing-logger.js'
import type { CallContext } from '../kit/types.js'
import { DEFAULT_TABLE } from './options.js'
import { DEFAULT_MARKET_DB_URL, MARKET_DB_URL_VARIABLE } from './simulator/index.js'
import { qualifiedTable } from './sql.js'

/**
 * Helpers for the market-qzk tests (not part of the connector). Every test file works in its own schema (and, where
 * it needs one, its own role), suffixed with the process id, so parallel test files and concurrent runs never meet.
 */

/** The real PostgreSQL the tests use. */
export const TEST_DB_URL = process.env[MARKET_DB_URL_VARIABLE] ?? DEFAULT_MARKET_DB_URL

/** A schema name of its own for one test file: `qiao_market_test_<tag>_<pid>`. */
export function testSchema(tag: string): string {
  return `qiao_market_test_${tag}_${process.pid}`
}

/** A role name of its own for one test file. */
export function testRole(tag: string): string {
  return `qiao_market_test_${tag}_${process.pid}`
}

/** TEST_DB_URL with another user (and no password). */
export function urlForUser(user: string, url: string = TEST_DB_URL): string {
  const u = new URL(url)
  u.username = user
  u.password = ''
  return u.toString()
}

/** TEST_DB_URL with an application_name, so a test can find its connector's sessions in pg_stat_activity. */
export function urlWithApplicationName(name: string, url: string = TEST_DB_URL): string {
  const u = new URL(url)
  u.searchParams.set('application_name', name)
  return u.toString()
}

export const q = pg.escapeIdentifier
export const table = (schema: string, name: string = DEFAULT_TABLE) => qualifiedTable(schema, name)

/** Copies the seeded table to `variant` in the same schema, then runs `change` (SQL with no parameters) on it. */
export async function createVariant(admin: pg.Pool, schema: string, variant: string, change?: string): Promise<void> {
  const from = table(schema)
  const to = table(schema, variant)
  await admin.query(`CREATE TABLE ${to} (LIKE ${from} INCLUDING ALL)`)
  await admin.query(`INSERT INTO ${to} SELECT * FROM ${from}`)
  if (change) await admin.query(change.replaceAll('{table}', to))
}

/** A role that may log in but holds no privilege on any seeded schema. */
export async function createRoleWithoutPrivileges(admin: pg.Pool, role: string): Promise<void> {
  await admin.query(`DROP ROLE IF EXISTS ${q(role)}`)
  await admin.query(`CREATE ROLE ${q(role)} LOGIN`)
}

export async function dropSchemaAndRole(admin: pg.Pool, schema: string, role?: string): Promise<void> {
  await admin.query(`DROP SCHEMA IF EXISTS ${q(schema)} CASCADE`)
  if (role) {
    await admin.query(
      'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1 AND pid <> pg_backend_pid()',
      [role],
    )
    await admin.query(`DROP ROLE IF EXISTS ${q(role)}`)
  }
}

/** A call context with its own deadline. */
export function callContext(log: CapturingLogger, timeoutMs = 5_000): CallContext {
  return { signal: AbortSignal.timeout(timeoutMs), deadline: Date.now() + timeoutMs, requestId: 'req-test', log }
}

export { CapturingLogger }
