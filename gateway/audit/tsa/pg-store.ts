import type { AuditBackend } from '../backend.js'
import type { PgContext } from '../pg/context.js'
import { checkpointImprint } from './token.js'

/**
 * The PostgreSQL store's checkpoint timestamps: a nullable `ts_token bytea` column of the checkpoints table, added
 * on first use (`ADD COLUMN IF NOT EXISTS`), so schemas made before timestamping keep working and read as having
 * no tokens. The checkpoint is found by its JWS (unique per checkpoint: it signs the log position and time).
 */
const UNDEFINED_COLUMN = '42703'

export function pgTimestampStore(ctx: PgContext): Pick<AuditBackend, 'storeTimestamp' | 'timestamps'> {
  const { T } = ctx
  let columnReady: Promise<unknown> | undefined
  const ensureColumn = () => {
    columnReady ??= ctx
      .ensureSchema()
      .then(() => ctx.readPool().query(`ALTER TABLE ${T.checkpoints} ADD COLUMN IF NOT EXISTS ts_token bytea`))
      .catch((err) => {
        columnReady = undefined
        throw err
      })
    return columnReady
  }
  return {
    async storeTimestamp(logId, jws, token) {
      await ensureColumn()
      const { rowCount } = await ctx
        .readPool()
        .query(`UPDATE ${T.checkpoints} SET ts_token = $3 WHERE log_id = $1 AND jws = $2`, [
          logId,
          jws,
          Buffer.from(token),
        ])
      if (rowCount === 0) throw new Error('no such checkpoint to timestamp')
    },
    async timestamps(logId) {
      let found: Array<{ jws: string; ts_token: Buffer }>
      try {
        found = await ctx.rows(
          `SELECT jws, ts_token FROM ${T.checkpoints} WHERE log_id = $1 AND ts_token IS NOT NULL ORDER BY id`,
          [logId],
        )
      } catch (err) {
        if ((err as { code?: string }).code === UNDEFINED_COLUMN) return new Map()
        throw err
      }
      return new Map(found.map((r) => [checkpointImprint(r.jws).toString('hex'), new Uint8Array(r.ts_token)]))
    },
  }
}
