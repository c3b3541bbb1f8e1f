import type { Catalog } from '../catalog/catalog.ts';
import { RUN_BUCKETS, type RunOutcome, type StatsWindow } from './model.ts';
import type { RunFilters, RunStore } from './store.ts';
import { toRunView, type BucketCounts, type RunStats, type RunView } from './view.ts';

export type { RunFilters };

export type { RunStats };

/** Outcomes of a run whose records count as results (an inventory snapshot, a drift generation). */
export const SUCCESSFUL_OUTCOMES = ['succeeded', 'partially_succeeded'] as const satisfies readonly RunOutcome[];

/** Completed with a successful outcome. */
export const isSuccessful = (run: Pick<RunView, 'status' | 'outcome'>): boolean =>
  run.status === 'completed' && (SUCCESSFUL_OUTCOMES as readonly RunOutcome[]).includes(run.outcome);

const emptyBuckets = (): BucketCounts => Object.fromEntries(RUN_BUCKETS.map((b) => [b, 0])) as BucketCounts;

/** Read side of runs: keyset-paged lists, detail and window stats, always scoped to one tenant. */
export class RunQueries {
  constructor(
    private readonly store: RunStore,
    private readonly catalog: Catalog,
  ) {}

  async list(tenantId: string, filters: RunFilters): Promise<{ runs: RunView[]; nextCursor: string | null }> {
    const { rows, nextCursor } = await this.store.list(tenantId, filters);
    return { runs: rows.map((row) => toRunView(row, this.catalog)), nextCursor };
  }

  /** One run with its failures; null when it does not exist in this tenant (foreign ids look missing). */
  async get(tenantId: string, runId: string): Promise<RunView | null> {
    const row = await this.store.get(tenantId, runId);
    return row ? toRunView(row, this.catalog) : null;
  }

  /** The tenant's latest successful (succeeded or partially succeeded) runs of a type, newest first. */
  async latestSuccessful(tenantId: string, type: string, limit = 1): Promise<RunView[]> {
    const rows = await this.store.latestCompleted(tenantId, type, SUCCESSFUL_OUTCOMES, limit);
    return rows.map((row) => toRunView(row, this.catalog));
  }

  /** How many successful runs of a type the tenant has. */
  async countSuccessful(tenantId: string, type: string): Promise<number> {
    return this.store.countCompleted(tenantId, type, SUCCESSFUL_OUTCOMES);
  }

  /** The SQL (`$n` placeholders) the list runs, for the benchmark to EXPLAIN and send straight to PostgreSQL. */
  listSql(tenantId: string, filters: RunFilters): { sql: string; params: unknown[] } {
    const { sql, parameters } = this.store.listQuery(tenantId, filters).compile();
    return { sql, params: [...parameters] };
  }

  /** The SQL of `stats`, likewise. */
  statsSql(tenantId: string, window: StatsWindow): { sql: string; params: unknown[] } {
    const { sql, parameters } = this.store.statsQuery(tenantId, window).compile();
    return { sql, params: [...parameters] };
  }

  /** Runs created in the window per bucket and per type; queued and running runs count whenever created. */
  async stats(tenantId: string, window: StatsWindow): Promise<RunStats> {
    const buckets = emptyBuckets();
    const types = new Map<string, BucketCounts>();
    for (const { type, bucket, count } of await this.store.countByTypeAndBucket(tenantId, window)) {
      buckets[bucket] += count;
      const perType = types.get(type) ?? emptyBuckets();
      perType[bucket] += count;
      types.set(type, perType);
    }
    return {
      window,
      buckets,
      types: [...types.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([type, b]) => ({ type, buckets: b })),
    };
  }
}
