import type { Catalog } from '../catalog/catalog.ts';
import type { Orm } from '../orm.ts';
import { cursorInstant, decodeCursor, encodeCursor } from '../pagination.ts';
import { RUN_BUCKETS, type RunBucket } from './model.ts';
import { runColumns, runJoins, toRunView, type RunRow, type RunView } from './view.ts';

export type RunFilters = {
  types: string[];
  /** `drift` matches every `drift.*` type. */
  resource?: string;
  buckets: RunBucket[];
  initiatorId?: string;
  from: Date;
  to?: Date;
  limit: number;
  cursor?: string;
};

export const STATS_WINDOWS = { '1h': 3_600, '24h': 86_400, '7d': 604_800, '30d': 2_592_000 } as const;
export type StatsWindow = keyof typeof STATS_WINDOWS;

type BucketCounts = Record<RunBucket, number>;
export type RunStats = { window: StatsWindow; buckets: BucketCounts; types: { type: string; buckets: BucketCounts }[] };

const BUCKET_SQL: Record<RunBucket, string> = {
  queued: `r.status = 'queued'`,
  running: `r.status = 'running'`,
  succeeded: `(r.status = 'completed' and r.outcome = 'succeeded')`,
  partially_succeeded: `(r.status = 'completed' and r.outcome = 'partially_succeeded')`,
  failed: `(r.status = 'completed' and r.outcome in ('failed', 'pending'))`,
};

const emptyBuckets = (): BucketCounts => Object.fromEntries(RUN_BUCKETS.map((b) => [b, 0])) as BucketCounts;

/** Read side of runs: keyset-paged lists, detail and window stats, always scoped to one tenant. */
export class RunQueries {
  constructor(
    private readonly orm: Orm,
    private readonly catalog: Catalog,
  ) {}

  async list(tenantId: string, filters: RunFilters): Promise<{ runs: RunView[]; nextCursor: string | null }> {
    const { sql, params } = listSql(tenantId, filters);
    // A connection-level query: rows map straight to views, so no EntityManager fork (identity map) is needed.
    const rows = await this.orm.em.getConnection().execute<(RunRow & { cursor_at: string })[]>(sql, params);
    const page = rows.slice(0, filters.limit);
    const last = page.at(-1);
    return {
      runs: page.map((row) => toRunView(row, this.catalog)),
      nextCursor: rows.length > filters.limit && last ? encodeCursor(last.cursor_at, last.id) : null,
    };
  }

  /** One run with its failures; null when it does not exist in this tenant (foreign ids look missing). */
  async get(tenantId: string, runId: string): Promise<RunView | null> {
    const [row] = await this.orm.em.fork().execute<RunRow[]>(
      `select ${runColumns('r', { withFailures: true })} from operation_runs r ${runJoins('r')}
       where r.id = ? and r.tenant_id = ?`,
      [runId, tenantId],
    );
    return row ? toRunView(row, this.catalog) : null;
  }

  /** Runs created in the window per bucket and per type; queued and running runs count whenever created. */
  async stats(tenantId: string, window: StatsWindow): Promise<RunStats> {
    const { sql, params } = statsSql(tenantId, window);
    const rows = await this.orm.em.getConnection().execute<{ type: string; bucket: RunBucket; count: string }[]>(sql, params);
    const buckets = emptyBuckets();
    const types = new Map<string, BucketCounts>();
    for (const row of rows) {
      const count = Number(row.count);
      buckets[row.bucket] += count;
      const perType = types.get(row.type) ?? emptyBuckets();
      perType[row.bucket] += count;
      types.set(row.type, perType);
    }
    return {
      window,
      buckets,
      types: [...types.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([type, b]) => ({ type, buckets: b })),
    };
  }
}

/**
 * The list query (one row more than the page, to know whether another follows), with `?` placeholders.
 * Exported so the benchmark can run and EXPLAIN exactly what the API runs.
 */
export function listSql(tenantId: string, filters: RunFilters): { sql: string; params: unknown[] } {
  const where = ['r.tenant_id = ?', 'r.created_at >= ?'];
  const params: unknown[] = [tenantId, filters.from];
  if (filters.to) {
    where.push('r.created_at < ?');
    params.push(filters.to);
  }
  if (filters.types.length > 0) {
    where.push(`r.type in (${filters.types.map(() => '?').join(', ')})`);
    params.push(...filters.types);
  }
  if (filters.resource) {
    where.push(`r.type like ? escape '\\'`);
    params.push(`${filters.resource.replace(/[\\%_]/g, (c) => `\\${c}`)}.%`);
  }
  if (filters.buckets.length > 0) where.push(`(${filters.buckets.map((b) => BUCKET_SQL[b]).join(' or ')})`);
  if (filters.initiatorId) {
    where.push('r.initiator_id = ?');
    params.push(filters.initiatorId);
  }
  if (filters.cursor) {
    const { createdAt, id } = decodeCursor(filters.cursor);
    where.push('(r.created_at, r.id) < (?::timestamptz, ?::uuid)');
    params.push(createdAt, id);
  }
  return {
    sql: `select ${runColumns('r', { withFailures: false })}, ${cursorInstant('r.created_at')} as cursor_at
       from operation_runs r ${runJoins('r')}
       where ${where.join(' and ')} order by r.created_at desc, r.id desc limit ?`,
    params: [...params, filters.limit + 1],
  };
}

/**
 * The window stats query, with `?` placeholders (exported for the benchmark, like `listSql`). The runs of the
 * window and the still-active runs created before it are two index scans (an OR of both would read every
 * run of the tenant); the first is index-only on the tenant/created index.
 */
export function statsSql(tenantId: string, window: StatsWindow): { sql: string; params: unknown[] } {
  const seconds = STATS_WINDOWS[window];
  return {
    sql: `select type,
              case when status <> 'completed' then status
                   when outcome = 'pending' then 'failed' else outcome end as bucket,
              count(*) as count
       from (select r.type, r.status, r.outcome from operation_runs r
             where r.tenant_id = ? and r.created_at >= now() - make_interval(secs => ?)
             union all
             select r.type, r.status, r.outcome from operation_runs r
             where r.tenant_id = ? and r.status in ('queued', 'running') and r.created_at < now() - make_interval(secs => ?)) w
       group by 1, 2`,
    params: [tenantId, seconds, tenantId, seconds],
  };
}
