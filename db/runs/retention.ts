import type { RunStore } from './store.ts';

/** How many runs one purge statement deletes at most, so no statement holds locks for long. */
export const PURGE_BATCH_SIZE = 1_000;

/** Retention (docs/api.md §1): what the `runs.purge` handler needs, and nothing more. */
export class RunRetention {
  readonly batchSize = PURGE_BATCH_SIZE;

  constructor(private readonly store: RunStore) {}

  /**
   * Deletes one batch of the completed runs older than `days` in the purge run's own tenant (never the purge
   * run itself); their notifications go with them. Returns how many were deleted: fewer than a batch means done.
   */
  async purgeBatch(purgeRunId: string, days: number): Promise<number> {
    return this.store.deleteCompletedBefore(purgeRunId, days, PURGE_BATCH_SIZE);
  }
}
