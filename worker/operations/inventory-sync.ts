import type { InventoryService } from '../../db/inventory/service.ts';
import { SourceError, type PolicySourceClient, type SourcePolicy } from '../../db/sources/source.ts';
import type { OperationHandler } from '../runner.ts';

/** What the sync needs of the sources module: the tenant's source, opened for reading. */
export type SourceOpener = { open(tenantId: string): Promise<PolicySourceClient> };

/**
 * Reads every policy of the tenant's source into the run's snapshot (docs/api.md §10), a page at a time:
 * memory is bounded by a page. Counts: one item per listed policy; an unreadable one is a failure and the
 * run goes on; a source that cannot be read (or stops answering) fails the run with its code, and what was
 * stored stays the failed run's, never shown as inventory.
 */
export function inventorySync(deps: { sources: SourceOpener; inventory: InventoryService }): OperationHandler<Record<string, never>> {
  return async (ctx) => {
    try {
      const source = await deps.sources.open(ctx.tenant.id);
      let listed = 0;
      for await (const page of source.list(ctx.signal)) {
        ctx.signal.throwIfAborted();
        listed += page.length;
        ctx.setTotal(listed);
        const readable: SourcePolicy[] = [];
        for (const entry of page) {
          if (entry.ok) readable.push(entry.policy);
          else ctx.failed({ code: entry.code, message: entry.message, item: entry.externalId });
        }
        const { stored, repeated, refused } = await deps.inventory.record(ctx.run.id, ctx.tenant.id, readable);
        if (stored > 0) ctx.succeeded(stored);
        // A source that lists a policy twice: one policy, stored once.
        if (repeated > 0) ctx.skipped(repeated);
        for (const failure of refused) ctx.failed({ code: failure.code, message: failure.message, item: failure.externalId });
      }
    } catch (error) {
      if (!(error instanceof SourceError) || ctx.signal.aborted) throw error;
      ctx.abort({ code: error.code, message: error.message });
    }
  };
}
