import type { OperationHandler } from '../runner.ts';

const BATCH_SIZE = 1_000;

type PurgeScope = { olderThanDays?: number };

/**
 * Retention (CONTRACT §1): deletes this tenant's completed runs older than the window — their notifications
 * go with them (FK cascade) — in bounded batches, so no statement holds locks for long. Counts = rows purged.
 */
export const runsPurge: OperationHandler<PurgeScope> = async (ctx) => {
  const days = ctx.scope.olderThanDays ?? ctx.config.retentionDays;
  const tenantId = await tenantIdOf(ctx);
  for (;;) {
    ctx.signal.throwIfAborted();
    const deleted = await ctx.orm.em.fork().execute<{ id: string }[]>(
      `delete from operation_runs where id in (
         select id from operation_runs
         where tenant_id = ? and status = 'completed' and created_at < now() - make_interval(days => ?) and id <> ?
         order by created_at limit ?)
       returning id`,
      [tenantId, days, ctx.run.id, BATCH_SIZE],
    );
    if (deleted.length > 0) ctx.succeeded(deleted.length);
    if (deleted.length < BATCH_SIZE) break;
  }
};

async function tenantIdOf(ctx: Parameters<OperationHandler>[0]): Promise<string> {
  const [row] = await ctx.orm.em.fork().execute<{ tenant_id: string }[]>(
    `select tenant_id from operation_runs where id = ?`,
    [ctx.run.id],
  );
  if (!row) throw Object.assign(new Error('The purge run vanished.'), { code: 'run_missing' });
  return row.tenant_id;
}
