import type pg from 'pg'
import { COLUMNS, qualifiedTable, ROW_VALID } from '../sql.js'
import { SEED_COLUMNS } from './schema.js'

/** Beijing wall-clock `yyyyMMddHHmmss` of an epoch-ms instant (the 前置库 writes SJGXSJ so). */
export function shanghaiCompactTime(epochMs: number): string {
  return new Date(epochMs + 8 * 3_600_000).toISOString().replace(/\D/g, '').slice(0, 14)
}

/**
 * What the 法人库 does when an enterprise is 注销: appends a copy of its newest valid row with 登记状态 注销 and
 * the update time `at` (rows are never updated in place). The simulator's "make a change", for the change feed's
 * tests. Returns the new row's LSH; throws when the USCC has no valid row.
 */
export async function appendDeregistration(
  db: pg.Pool | pg.Client,
  target: { readonly schema: string; readonly table: string },
  uscc: string,
  at: number,
): Promise<number> {
  const q = (name: string) => `"${name.replaceAll('"', '""')}"`
  const from = qualifiedTable(target.schema, target.table)
  const copied = SEED_COLUMNS.filter((c) => c !== COLUMNS.status && c !== COLUMNS.updatedAt)
  const result = await db.query<{ LSH: string }>(
    `INSERT INTO ${from} (${[...copied, COLUMNS.status, COLUMNS.updatedAt].map(q).join(', ')})` +
      ` SELECT ${copied.map(q).join(', ')}, '注销', $2 FROM ${from}` +
      ` WHERE ${q(COLUMNS.uscc)} = $1 AND ${q(COLUMNS.validity)} = '${ROW_VALID}'` +
      ` ORDER BY ${q(COLUMNS.updatedAt)} DESC NULLS LAST, ${q(COLUMNS.serial)} DESC LIMIT 1` +
      ` RETURNING ${q(COLUMNS.serial)}::text AS "LSH"`,
    [uscc, shanghaiCompactTime(at)],
  )
  const lsh = result.rows[0]?.LSH
  if (lsh === undefined) throw new Error('market simulator: no valid row to deregister for that USCC')
  return Number(lsh)
}
