import type { RunRetention } from '../../db/runs/retention.ts';
import type { OperationHandler } from '../runner.ts';

type PurgeScope = { olderThanDays?: number };

/**
 * Retention (docs/api.md §1): deletes this tenant's completed runs older than the window — their
 * notifications go with them — in bounded batches. Counts = runs purged.
 */
export function runsPurge(deps: { retention: RunRetention; retentionDays: number }): OperationHandler<PurgeScope> {
  return async (ctx) => {
    const days = ctx.scope.olderThanDays ?? deps.retentionDays;
    for (;;) {
      ctx.signal.throwIfAborted();
      const deleted = await deps.retention.purgeBatch(ctx.run.id, days);
      if (deleted > 0) ctx.succeeded(deleted);
      if (deleted === 0 || deleted < deps.retention.batchSize) break;
    }
  };
}
