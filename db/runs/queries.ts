import type { Catalog } from '../catalog/catalog.ts';
import { BASELINE_DAYS, NO_BASELINE, type RunBaselines } from './baselines.ts';
import type { RunHistoryStore } from './history-store.ts';
import { RUN_BUCKETS, STATS_WINDOWS, type RunBaseline, type RunOutcome, type StatsWindow } from './model.ts';
import type { ReasonSummaryRow, RunReasonStore } from './reason-store.ts';
import type { RunFilters, RunRow, RunSearch, RunStore } from './store.ts';
import { summaryOf, toHistoryEntry, toRunView, type BucketCounts, type FailureReason, type RunHistoryEntry, type RunStats, type RunView } from './view.ts';

/** A run without its failures list, as lists, pushes and the overview carry it. */
type RunSummary = Omit<RunView, 'failures'>;

export type { RunFilters, RunSearch };

export type { RunStats };

/** Outcomes of a run whose records count as results (an inventory snapshot, a drift generation). */
export const SUCCESSFUL_OUTCOMES = ['succeeded', 'partially_succeeded'] as const satisfies readonly RunOutcome[];

/** Completed with a successful outcome. */
export const isSuccessful = (run: Pick<RunView, 'status' | 'outcome'>): boolean =>
  run.status === 'completed' && (SUCCESSFUL_OUTCOMES as readonly RunOutcome[]).includes(run.outcome);

/** The list filters as the API takes them: `q` is the search text as typed. */
export type RunListFilters = Omit<RunFilters, 'search'> & { q?: string };

const FAILURE_CODE = /^[a-z][a-z0-9_]*$/;
const HEX = /^[0-9a-f]+$/;
/** Where a uuid's text has its dashes. */
const UUID_DASHES = [8, 13, 18, 23];

/**
 * The ids that begin with `text` as a range of uuids, when `text` can begin one (8+ hex digits, dashes only
 * where a uuid has them): `[text padded with 0s, text padded with fs]`, a range scan of the primary key.
 */
export function idPrefixRange(text: string): [string, string] | undefined {
  if (text.length < 8 || text.length > 36) return undefined;
  for (let i = 0; i < text.length; i++) {
    if ((text[i] === '-') !== UUID_DASHES.includes(i)) return undefined;
  }
  const hex = text.replaceAll('-', '');
  if (!HEX.test(hex)) return undefined;
  const asUuid = (digits: string) => [digits.slice(0, 8), digits.slice(8, 12), digits.slice(12, 16), digits.slice(16, 20), digits.slice(20)].join('-');
  return [asUuid(hex.padEnd(32, '0')), asUuid(hex.padEnd(32, 'f'))];
}

/** A reason of the summary on the wire. */
const toFailureReason = (row: ReasonSummaryRow): FailureReason => ({
  code: row.code,
  runs: row.runs,
  failures: row.failures,
  types: row.types,
  lastSeenAt: row.last_seen_at.toISOString(),
  message: row.message,
});

/** How much of each tenant the overview shows (docs/api.md §12). */
export const OVERVIEW_LIMITS = { running: 20, latestFailures: 5, reasons: 3 } as const;

/** A tenant of an overview, as actors hold them; slug and name are read with the figures (the database's). */
export type OverviewTenant = { id: string; slug: string; name?: string };

/** One tenant's tile of the overview (docs/api.md §12). */
export type TenantFigures = {
  tenant: { slug: string; name: string };
  buckets: BucketCounts;
  running: RunSummary[];
  latestFailures: RunSummary[];
  reasons: FailureReason[];
};

const emptyBuckets = (): BucketCounts => Object.fromEntries(RUN_BUCKETS.map((b) => [b, 0])) as BucketCounts;

/** Read side of runs: keyset-paged lists, detail and window stats, always scoped to one tenant. */
export class RunQueries {
  constructor(
    private readonly store: RunStore,
    private readonly catalog: Catalog,
    private readonly history: RunHistoryStore,
    private readonly reasons: RunReasonStore,
    private readonly baselines: RunBaselines,
  ) {}

  async list(tenantId: string, filters: RunListFilters): Promise<{ runs: RunView[]; nextCursor: string | null }> {
    const { rows, nextCursor } = await this.store.list(tenantId, this.resolve(filters));
    return { runs: rows.map((row) => toRunView(row, this.catalog)), nextCursor };
  }

  /**
   * What a search text matches (docs/api.md §11), resolved here where the catalog's labels are known: types
   * whose type or label contains it, an id range when it can begin an id, a failure code when it can be one;
   * the store adds initiator names and emails and each run's search text.
   */
  search(q: string): RunSearch {
    const needle = q.toLowerCase();
    const types = this.catalog
      .all()
      .filter((d) => d.type.includes(needle) || d.label.toLowerCase().includes(needle))
      .map((d) => d.type);
    const idRange = idPrefixRange(needle);
    return { needle, types, ...(idRange ? { idRange } : {}), ...(FAILURE_CODE.test(needle) && needle.length <= 64 ? { code: needle } : {}) };
  }

  private resolve({ q, ...filters }: RunListFilters): RunFilters {
    return q === undefined ? filters : { ...filters, search: this.search(q) };
  }

  /** A run's history, oldest first; null when the run does not exist in this tenant. */
  async historyOf(tenantId: string, runId: string): Promise<RunHistoryEntry[] | null> {
    const run = await this.store.get(tenantId, runId);
    if (!run) return null;
    return (await this.history.list(runId)).map(toHistoryEntry);
  }

  /** Failures grouped by reason code over the tenant's runs created in the window, most runs first. */
  async failureReasons(tenantId: string, window: StatsWindow, limit: number): Promise<FailureReason[]> {
    const since = new Date(Date.now() - STATS_WINDOWS[window] * 1000);
    return (await this.reasons.summary(tenantId, since, limit)).map(toFailureReason);
  }

  /** Each type's baseline in the tenant (NO_BASELINE for a type without completed runs in 30 days). */
  async baselinesOf(tenantId: string): Promise<(type: string) => RunBaseline> {
    const byType = await this.baselines.of(tenantId);
    return (type) => byType.get(type) ?? NO_BASELINE;
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
  listSql(tenantId: string, filters: RunListFilters): { sql: string; params: unknown[] } {
    const { sql, parameters } = this.store.listQuery(tenantId, this.resolve(filters)).compile();
    return { sql, params: [...parameters] };
  }

  /** The SQL of `stats`, likewise. */
  statsSql(tenantId: string, window: StatsWindow): { sql: string; params: unknown[] } {
    const { sql, parameters } = this.store.statsQuery(tenantId, window).compile();
    return { sql, params: [...parameters] };
  }

  /** The SQL of `failureReasons` and of the baselines, likewise. */
  reasonsSql(tenantId: string, window: StatsWindow, limit: number): { sql: string; params: unknown[] } {
    const { sql, parameters } = this.reasons.summaryQuery(tenantId, new Date(Date.now() - STATS_WINDOWS[window] * 1000), limit).compile();
    return { sql, params: [...parameters] };
  }

  baselineSql(tenantId: string): { sql: string; params: unknown[] } {
    const { sql, parameters } = this.store.baselineQuery(tenantId, BASELINE_DAYS).compile();
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

  /**
   * The overview of many tenants (docs/api.md §12), by tenant name: per tenant its buckets (the stats rule),
   * newest running runs, latest failed or partially succeeded runs and top failure reasons. Each figure is one
   * statement for all the tenants at once — never one per tenant — and the four run at the same time, each on
   * its own pool connection. Tenants that do not exist (any more) are left out.
   */
  async overview(tenants: readonly OverviewTenant[], window: StatsWindow): Promise<TenantFigures[]> {
    if (tenants.length === 0) return [];
    const ids = [...new Set(tenants.map((t) => t.id))];
    const since = new Date(Date.now() - STATS_WINDOWS[window] * 1000);
    const [counts, running, failed, reasons] = await Promise.all([
      this.store.countByTenantAndBucket(ids, window),
      this.store.runningByTenant(ids, OVERVIEW_LIMITS.running),
      this.store.latestFailedByTenant(ids, window, OVERVIEW_LIMITS.latestFailures),
      this.reasons.summaryByTenant(ids, since, OVERVIEW_LIMITS.reasons),
    ]);
    const tiles = new Map<string, TenantFigures>();
    for (const { tenant_id, slug, name, bucket, count } of counts) {
      const tile = tiles.get(tenant_id) ?? { tenant: { slug, name }, buckets: emptyBuckets(), running: [], latestFailures: [], reasons: [] };
      if (bucket) tile.buckets[bucket] += count;
      tiles.set(tenant_id, tile);
    }
    const summary = (row: RunRow) => summaryOf(toRunView(row, this.catalog));
    // Rows come ordered per tenant (newest first), so pushing keeps each list in order.
    for (const row of running) tiles.get(row.tenant_id)?.running.push(summary(row));
    for (const row of failed) tiles.get(row.tenant_id)?.latestFailures.push(summary(row));
    for (const row of reasons) tiles.get(row.tenant_id)?.reasons.push(toFailureReason(row));
    return [...tiles.values()].sort((a, b) => a.tenant.name.localeCompare(b.tenant.name) || a.tenant.slug.localeCompare(b.tenant.slug));
  }

  /** The SQL of each of the overview's statements, likewise (`runningForm`: the product's row_number(), or a LATERAL). */
  overviewSql(tenantIds: string[], window: StatsWindow, runningForm: 'ranked' | 'lateral' = 'ranked'): Record<'buckets' | 'running' | 'latestFailures' | 'reasons', { sql: string; params: unknown[] }> {
    const since = new Date(Date.now() - STATS_WINDOWS[window] * 1000);
    const compiled = (query: { compile: () => { sql: string; parameters: readonly unknown[] } }) => {
      const { sql, parameters } = query.compile();
      return { sql, params: [...parameters] };
    };
    return {
      buckets: compiled(this.store.overviewBucketsQuery(tenantIds, window)),
      running: compiled(this.store.overviewRunningQuery(tenantIds, OVERVIEW_LIMITS.running, runningForm)),
      latestFailures: compiled(this.store.overviewFailuresQuery(tenantIds, window, OVERVIEW_LIMITS.latestFailures)),
      reasons: compiled(this.reasons.summaryByTenantQuery(tenantIds, since, OVERVIEW_LIMITS.reasons)),
    };
  }

  /** Seconds the oldest queued run of each type has waited, every tenant together (0: none queued); for metrics. */
  async queuedAges(types: string[]): Promise<Map<string, number>> {
    const ages = new Map(types.map((type) => [type, 0]));
    for (const { type, age_seconds } of await this.store.oldestQueuedAges(types)) ages.set(type, Math.max(0, age_seconds));
    return ages;
  }
}
