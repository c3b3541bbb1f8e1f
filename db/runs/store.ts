import { sql, type Expression, type ExpressionBuilder, type Selectable, type SelectQueryBuilder, type SqlBool } from 'kysely';
import { clockTimestamp, queries, secondsAgo, type Database, type Db, type Tx } from '../database.ts';
import type { NotificationStore, QueuedNotification } from '../notifications/store.ts';
import type { Orm } from '../orm.ts';
import type { WebhookStore } from '../webhooks/store.ts';
import { cursorInstant, decodeCursor, encodeCursor } from '../pagination.ts';
import type { RunHistoryStore } from './history-store.ts';
import type { ReasonDelta, RunReasonStore } from './reason-store.ts';
import { containsPattern, type RunSearchStore } from './search-store.ts';
import {
  BUCKET_RULE,
  HISTORY_PROGRESS_EVERY_MS,
  RUN_BUCKETS,
  STATS_WINDOWS,
  type ChangeAuthor,
  type RunBucket,
  type RunUpdateKind,
  type RunFailure,
  type RunOutcome,
  type RunStatus,
  type StatsWindow,
} from './model.ts';

/** A run as every run query selects it: the row (failures opt-in), its tenant slug and initiator name. */
export type RunRow = Omit<Selectable<Database['operation_runs']>, 'identity_hash' | 'heartbeat_at' | 'failures'> & {
  tenant_slug: string;
  initiator_name: string | null;
  failures?: RunFailure[];
};

/** What the lifecycle reads under the row lock before deciding a transition. */
export type LockedRun = {
  id: string;
  status: RunStatus;
  type: string;
  total: number;
  succeeded: number;
  failed: number;
  skipped: number;
  failure_count: number;
  stored_failures: number;
  first_failure: RunFailure | null;
  /** Whether the run's history last recorded a change long enough ago to record a progress change now. */
  history_due: boolean;
};

/** One persisted change of a run; `version` and `updated_at` move with every one. */
export type RunPatch = {
  status?: RunStatus;
  outcome?: Selectable<Database['operation_runs']>['outcome'];
  startedAt?: boolean;
  completedAt?: boolean;
  heartbeat?: boolean;
  counts?: { total: number; succeeded: number; failed: number; skipped: number };
  appendFailures?: RunFailure[];
  failureCount?: number;
  /** Recorded in the run's history, by this author. */
  history?: { kind: RunUpdateKind; by: ChangeAuthor };
  /** This change's failures per reason code (all it reported, stored in the list or not). */
  reasons?: ReasonDelta[];
};

/**
 * A search of the runs list (docs/api.md §11), already resolved against the catalog: `needle` is the lower-cased
 * text, matched literally in the initiator's name or email and the run's search text; `idRange` bounds ids that
 * start with the text (when it can begin an id); `types` are the types whose label contains it; `code` is set
 * when the text can be a failure code.
 */
export type RunSearch = { needle: string; idRange?: [string, string]; types: string[]; code?: string };

export type RunFilters = {
  types: string[];
  /** `drift` matches every `drift.*` type. */
  resource?: string;
  buckets: RunBucket[];
  initiatorId?: string;
  search?: RunSearch;
  /** Runs with a failure of any of these codes. */
  failureCodes?: string[];
  from: Date;
  to?: Date;
  limit: number;
  cursor?: string;
};

export type NewRun = {
  id: string;
  tenantId: string;
  type: string;
  identityHash: string;
  scope: Record<string, unknown>;
  initiatorId: string | null;
  /** Who started it (its first history entry). */
  by: ChangeAuthor;
  /** What its search matches as text (search-store.ts `searchTextOf`). */
  searchText: string;
};

type RunTables = Database & { r: Selectable<Database['operation_runs']> };

const ACTIVE: RunStatus[] = ['queued', 'running'];
/** A search text this long has a trigram for the index to find; a shorter one is looked for run by run. */
const MIN_TRIGRAM_SEARCH = 3;

/** The columns of a RunRow, from the table or from a CTE of the same shape, aliased `r`. */
const RUN_COLUMNS = [
  'r.id', 'r.tenant_id', 't.slug as tenant_slug', 'r.type', 'r.status', 'r.outcome', 'r.scope', 'r.total', 'r.processed',
  'r.succeeded', 'r.failed', 'r.skipped', 'r.failure_count', 'r.initiator_id', 'u.name as initiator_name', 'r.created_at',
  'r.started_at', 'r.completed_at', 'r.updated_at', 'r.version',
] as const;
const RUN_COLUMNS_WITH_FAILURES = [...RUN_COLUMNS, 'r.failures'] as const;

/** The start of a stats window, by the database's clock. */
const windowStart = (window: StatsWindow) => sql<Date>`now() - make_interval(secs => ${STATS_WINDOWS[window]})`;

/** SQL of one bucket, derived from the one bucket rule (db/runs/model.ts). */
function bucketCondition(eb: ExpressionBuilder<RunTables, 'r'>, bucket: RunBucket) {
  const { status, outcomes } = BUCKET_RULE[bucket];
  const byStatus = eb('r.status', '=', status);
  return outcomes ? eb.and([byStatus, eb('r.outcome', 'in', [...outcomes])]) : byStatus;
}

/** The bucket of a row in SQL (a CASE over the same rule), for stats. */
function bucketCase(eb: ExpressionBuilder<RunTables, 'r'>) {
  const [first, ...rest] = RUN_BUCKETS;
  let expression = eb.case().when(bucketCondition(eb, first)).then<RunBucket>(first);
  for (const bucket of rest) expression = expression.when(bucketCondition(eb, bucket)).then(bucket);
  return expression.else('failed').end();
}

/**
 * The one owner of `operation_runs` SQL. Rules (what may change, what a change means) are the lifecycle's;
 * this file only says how a row is inserted, locked, changed, found and counted.
 */
export class RunStore {
  constructor(
    private readonly orm: Orm,
    private readonly notifications: NotificationStore,
    private readonly history: RunHistoryStore,
    private readonly search: RunSearchStore,
    private readonly reasons: RunReasonStore,
    private readonly webhooks: WebhookStore,
  ) {}

  /**
   * Inserts a queued run unless an active run of the same identity exists (then: nothing, and `null`), with
   * its `queued` notification for the initiator, the initiator's unread count, its first history entry and
   * its search text and its `run.queued` webhook deliveries (docs/api.md §13), in one statement.
   */
  async insertQueued(run: NewRun, notification: QueuedNotification): Promise<(RunRow & { notification: { id: string; created_at: Date } | null; unread_count: number }) | null> {
    const db = queries(this.orm);
    const row = await db
      .with('r', (q) =>
        q
          .insertInto('operation_runs')
          .values({
            id: run.id,
            tenant_id: run.tenantId,
            type: run.type,
            status: 'queued',
            outcome: 'pending',
            identity_hash: run.identityHash,
            scope: run.scope,
            initiator_id: run.initiatorId,
            created_at: clockTimestamp,
            updated_at: clockTimestamp,
            history_at: clockTimestamp,
          })
          .onConflict((oc) => oc.columns(['tenant_id', 'identity_hash']).where('status', 'in', ACTIVE).doNothing())
          .returningAll(),
      )
      .with('n', (q) => this.notifications.insertForNewRun(q, notification))
      .with('h', (q) => this.history.insertFromRun(q, 'queued', run.by))
      .with('s', (q) => this.search.insertFromRun(q, run.searchText))
      .with('w', (q) => this.webhooks.insertFromRun(q, 'run.queued'))
      .selectFrom('r')
      .innerJoin('tenants as t', 't.id', 'r.tenant_id')
      .leftJoin('users as u', 'u.id', 'r.initiator_id')
      .leftJoin('n', (join) => join.onTrue())
      .select(RUN_COLUMNS_WITH_FAILURES)
      .select(['n.id as notification_id', 'n.created_at as notification_created_at'])
      // This statement cannot see its own notification yet: + 1.
      .select((eb) => sql<string>`(${this.notifications.unreadCountOf(eb.ref('r.initiator_id'))}) + 1`.as('unread_count'))
      .executeTakeFirst();
    if (!row) return null;
    const { notification_id, notification_created_at, unread_count, ...rest } = row;
    return {
      ...(rest as RunRow),
      notification: notification_id && notification_created_at ? { id: notification_id, created_at: notification_created_at } : null,
      unread_count: Number(unread_count),
    };
  }

  /** The active (queued or running) run of an identity. */
  async findActive(tenantId: string, identityHash: string): Promise<RunRow | undefined> {
    return this.select(queries(this.orm), true)
      .where('r.tenant_id', '=', tenantId)
      .where('r.identity_hash', '=', identityHash)
      .where('r.status', 'in', ACTIVE)
      .executeTakeFirst() as Promise<RunRow | undefined>;
  }

  /** One run of a tenant with its failures (a run of another tenant is not found). */
  async get(tenantId: string, runId: string): Promise<RunRow | undefined> {
    return this.select(queries(this.orm), true)
      .where('r.id', '=', runId)
      .where('r.tenant_id', '=', tenantId)
      .executeTakeFirst() as Promise<RunRow | undefined>;
  }

  /**
   * The tenant's newest completed runs of a type ending in one of `outcomes`, newest first by creation (the
   * tenant/type index, read newest first, stops at `limit`).
   */
  async latestCompleted(tenantId: string, type: string, outcomes: readonly RunOutcome[], limit: number): Promise<RunRow[]> {
    return this.select(queries(this.orm), false)
      .where('r.tenant_id', '=', tenantId)
      .where('r.type', '=', type)
      .where('r.status', '=', 'completed')
      .where('r.outcome', 'in', [...outcomes])
      .orderBy('r.created_at', 'desc')
      .orderBy('r.id', 'desc')
      .limit(limit)
      .execute() as Promise<RunRow[]>;
  }

  /** How many completed runs of a type the tenant has that ended in one of `outcomes`. */
  async countCompleted(tenantId: string, type: string, outcomes: readonly RunOutcome[]): Promise<number> {
    const row = await queries(this.orm)
      .selectFrom('operation_runs as r')
      .select((eb) => eb.fn.countAll<string>().as('count'))
      .where('r.tenant_id', '=', tenantId)
      .where('r.type', '=', type)
      .where('r.status', '=', 'completed')
      .where('r.outcome', 'in', [...outcomes])
      .executeTakeFirstOrThrow();
    return Number(row.count);
  }

  /** A keyset page, newest first, and the cursor of the next page (null on the last). */
  async list(tenantId: string, filters: RunFilters): Promise<{ rows: RunRow[]; nextCursor: string | null }> {
    const rows = await this.listQuery(tenantId, filters).execute();
    const page = rows.slice(0, filters.limit);
    const last = page.at(-1);
    return {
      rows: page.map(({ cursor_at: _cursor, ...row }) => row as RunRow),
      nextCursor: rows.length > filters.limit && last ? encodeCursor(last.cursor_at, last.id) : null,
    };
  }

  /** The list query (one row more than the page, to know whether another follows); public for the benchmark. */
  listQuery(tenantId: string, filters: RunFilters) {
    const filtered = this.listFilter(tenantId, filters);
    const full = this.select(queries(this.orm), false).select(sql<string>`${sql.raw(cursorInstant('r.created_at'))}`.as('cursor_at'));
    const { search, failureCodes } = filters;
    const db = queries(this.orm);
    const ids = db.selectFrom('operation_runs as r').select('r.id').where(filtered).orderBy('r.created_at', 'desc').orderBy('r.id', 'desc').limit(filters.limit + 1);
    const page = full.where(filtered).orderBy('r.created_at', 'desc').orderBy('r.id', 'desc').limit(filters.limit + 1);
    if (!search) {
      // A reason filter walks the newest runs probing each: on the index alone, and only the page's rows are read.
      return failureCodes && failureCodes.length > 0 ? page.where('r.id', 'in', db.selectFrom(ids.as('m')).select('m.id')) : page;
    }
    // Each way a run can match is its own page of ids over the other filters, so PostgreSQL plans each on its
    // own index and stops at a page: the primary key for an id, the trigram index for a rare word, the created
    // order for a common one. One OR of them can only walk all the tenant's runs or collect every match.
    const pattern = containsPattern(search.needle);
    const byInitiator = sql<SqlBool>`(lower(u.name) like ${pattern} escape '\\' or lower(u.email) like ${pattern} escape '\\')`;
    const withInitiator = ids.leftJoin('users as u', 'u.id', 'r.initiator_id');
    const ways =
      search.needle.length >= MIN_TRIGRAM_SEARCH
        ? [ids.where((eb) => eb.exists(this.search.ofRunContaining(search.needle))), withInitiator.where(byInitiator)]
        : // Too short for trigrams, and found in many runs: the newest runs are walked, each probed by its key.
          [withInitiator.where((eb) => eb.or([this.search.runTextContains(search.needle), byInitiator]))];
    if (search.idRange) ways.push(ids.where('r.id', '>=', search.idRange[0]).where('r.id', '<=', search.idRange[1]));
    if (search.types.length > 0) ways.push(ids.where('r.type', 'in', search.types));
    const { code } = search;
    if (code) ways.push(ids.where((eb) => eb.exists(this.reasons.ofRunWithCodes([code]))));
    return page.where('r.id', 'in', ways.map((way) => db.selectFrom(way.as('m')).select('m.id')).reduce((all, next) => all.unionAll(next)));
  }

  /** The list's filters but the search, on the run `r`: of the page, and of each way a search matches. */
  private listFilter(tenantId: string, filters: RunFilters) {
    return (eb: ExpressionBuilder<RunTables, 'r'>) => {
      const all: Expression<SqlBool>[] = [eb('r.tenant_id', '=', tenantId), eb('r.created_at', '>=', filters.from)];
      if (filters.to) all.push(eb('r.created_at', '<', filters.to));
      if (filters.types.length > 0) all.push(eb('r.type', 'in', filters.types));
      if (filters.resource) {
        const pattern = `${filters.resource.replace(/[\\%_]/g, (c) => `\\${c}`)}.%`;
        all.push(sql<SqlBool>`r.type like ${pattern} escape '\\'`);
      }
      if (filters.buckets.length > 0) all.push(eb.or(filters.buckets.map((bucket) => bucketCondition(eb, bucket))));
      if (filters.initiatorId) all.push(eb('r.initiator_id', '=', filters.initiatorId));
      if (filters.failureCodes && filters.failureCodes.length > 0) all.push(eb.exists(this.reasons.ofRunWithCodes(filters.failureCodes)));
      if (filters.cursor) {
        const { createdAt, id } = decodeCursor(filters.cursor);
        all.push(sql<SqlBool>`(r.created_at, r.id) < (${createdAt}::timestamptz, ${id}::uuid)`);
      }
      return eb.and(all);
    };
  }

  /** Runs created in the window and still-active runs created before it, counted per type and bucket. */
  async countByTypeAndBucket(tenantId: string, window: StatsWindow): Promise<{ type: string; bucket: RunBucket; count: number }[]> {
    const rows = await this.statsQuery(tenantId, window).execute();
    return rows.map((row) => ({ type: row.type, bucket: row.bucket as RunBucket, count: Number(row.count) }));
  }

  /**
   * The stats query; public for the benchmark: the tenant's runs of `statsRuns` per type and bucket (the window's
   * scan is index-only on the tenant/created index).
   */
  statsQuery(tenantId: string, window: StatsWindow) {
    return queries(this.orm)
      .selectFrom(this.statsRuns([tenantId], window).as('r'))
      .select((eb) => ['r.type', bucketCase(eb as unknown as ExpressionBuilder<RunTables, 'r'>).as('bucket'), eb.fn.countAll<string>().as('count')])
      .groupBy(sql`1, 2`);
  }

  /**
   * The runs window stats count, of these tenants: those created in the window, and the still-active ones created
   * before it (the stats rule, docs/api.md §3). Two index scans: an OR of both would read every run of the tenants.
   * One tenant's `in (…)` is PostgreSQL's plain `=`, so the stats of one tenant plan as before.
   */
  private statsRuns(tenantIds: readonly string[], window: StatsWindow) {
    const since = windowStart(window);
    const db = queries(this.orm);
    const inWindow = db
      .selectFrom('operation_runs as r')
      .select(['r.tenant_id', 'r.type', 'r.status', 'r.outcome'])
      .where('r.tenant_id', 'in', [...tenantIds])
      .where('r.created_at', '>=', since);
    const olderActive = db
      .selectFrom('operation_runs as r')
      .select(['r.tenant_id', 'r.type', 'r.status', 'r.outcome'])
      .where('r.tenant_id', 'in', [...tenantIds])
      .where('r.status', 'in', ACTIVE)
      .where('r.created_at', '<', since);
    return inWindow.unionAll(olderActive);
  }

  /**
   * Per type, the tenant's runs completed in the last `days`: how many, how many failed, and the median and
   * 95th percentile of their duration (runs that never started have none). An index-only scan of the
   * tenant's completed runs; public for the benchmark as `baselineQuery`.
   */
  async baselines(tenantId: string, days: number): Promise<{ type: string; runs: number; failed: number; p50_ms: number | null; p95_ms: number | null }[]> {
    const rows = await this.baselineQuery(tenantId, days).execute();
    return rows.map((row) => ({
      type: row.type,
      runs: Number(row.runs),
      failed: Number(row.failed),
      p50_ms: row.p50_ms === null ? null : Math.round(Number(row.p50_ms)),
      p95_ms: row.p95_ms === null ? null : Math.round(Number(row.p95_ms)),
    }));
  }

  baselineQuery(tenantId: string, days: number) {
    const duration = sql`extract(epoch from (r.completed_at - r.started_at)) * 1000`;
    const failed = BUCKET_RULE.failed.outcomes ?? [];
    return queries(this.orm)
      .selectFrom('operation_runs as r')
      .select((eb) => [
        'r.type',
        eb.fn.countAll<string>().as('runs'),
        sql<string>`count(*) filter (where r.outcome in (${sql.join(failed.map((o) => sql.lit(o)))}))`.as('failed'),
        sql<string | null>`percentile_cont(0.5) within group (order by ${duration}) filter (where r.started_at is not null)`.as('p50_ms'),
        sql<string | null>`percentile_cont(0.95) within group (order by ${duration}) filter (where r.started_at is not null)`.as('p95_ms'),
      ])
      .where('r.tenant_id', '=', tenantId)
      .where('r.status', '=', 'completed')
      .where('r.completed_at', '>=', sql<Date>`now() - make_interval(days => ${days})`)
      .groupBy('r.type');
  }

  /** Locks the run row for a transition (`stalledFor`: only while its heartbeat is older than that). */
  async lock(tx: Tx, runId: string, options: { stalledForMs?: number } = {}): Promise<LockedRun | undefined> {
    let query = queries(this.orm, tx)
      .selectFrom('operation_runs')
      .select(['id', 'status', 'type', 'total', 'succeeded', 'failed', 'skipped', 'failure_count'])
      .select([
        sql<number>`jsonb_array_length(failures)`.as('stored_failures'),
        sql<RunFailure | null>`failures -> 0`.as('first_failure'),
        sql<boolean>`history_at is null or history_at <= ${secondsAgo(HISTORY_PROGRESS_EVERY_MS / 1000)}`.as('history_due'),
      ])
      .where('id', '=', runId);
    if (options.stalledForMs !== undefined) query = query.where('heartbeat_at', '<', secondsAgo(options.stalledForMs / 1000));
    return query.forUpdate().executeTakeFirst();
  }

  /**
   * Applies one change to a locked run and returns the changed row (without its failures list); its history
   * entry and its failures per reason code, when the patch has them, are written by the same statement.
   */
  async update(tx: Tx, runId: string, patch: RunPatch): Promise<RunRow> {
    let statement = queries(this.orm, tx)
      .with('r', (q) =>
        q
          .updateTable('operation_runs')
          .set((eb) => ({
            version: eb('version', '+', 1),
            updated_at: clockTimestamp,
            ...(patch.status ? { status: patch.status } : {}),
            ...(patch.outcome ? { outcome: patch.outcome } : {}),
            ...(patch.startedAt ? { started_at: clockTimestamp } : {}),
            ...(patch.completedAt ? { completed_at: clockTimestamp } : {}),
            ...(patch.heartbeat ? { heartbeat_at: clockTimestamp } : {}),
            ...(patch.counts
              ? {
                  ...patch.counts,
                  processed: patch.counts.succeeded + patch.counts.failed + patch.counts.skipped,
                }
              : {}),
            ...(patch.appendFailures && patch.appendFailures.length > 0
              ? { failures: sql<RunFailure[]>`failures || ${JSON.stringify(patch.appendFailures)}::jsonb` }
              : {}),
            ...(patch.failureCount !== undefined ? { failure_count: patch.failureCount } : {}),
            ...(patch.history ? { history_at: clockTimestamp } : {}),
          }))
          .where('id', '=', runId)
          .returningAll(),
      );
    const { history, reasons } = patch;
    if (history) statement = statement.with('h', (q) => this.history.insertFromRun(q, history.kind, history.by)) as unknown as typeof statement;
    if (reasons && reasons.length > 0) statement = statement.with('f', (q) => this.reasons.upsertFromRun(q, reasons)) as unknown as typeof statement;
    // The outbox of webhooks (docs/api.md §13): written by the change it reports, so it commits or rolls back with it.
    if (patch.status === 'completed') statement = statement.with('w', (q) => this.webhooks.insertFromRun(q, 'run.completed')) as unknown as typeof statement;
    const row = await statement
      .selectFrom('r')
      .innerJoin('tenants as t', 't.id', 'r.tenant_id')
      .leftJoin('users as u', 'u.id', 'r.initiator_id')
      .select(RUN_COLUMNS)
      .executeTakeFirst();
    if (!row) throw new Error(`run ${runId} vanished inside its own transaction`);
    return row as RunRow;
  }

  /** Keeps running runs from being swept as lost; not a visible change, so no version bump. */
  async touchHeartbeats(runIds: string[]): Promise<void> {
    await queries(this.orm)
      .updateTable('operation_runs')
      .set({ heartbeat_at: clockTimestamp })
      .where('id', 'in', runIds)
      .where('status', '=', 'running')
      .execute();
  }

  /** Running runs whose heartbeat is older than `stallMs`, oldest first. */
  async stalled(stallMs: number, limit: number): Promise<string[]> {
    const rows = await queries(this.orm)
      .selectFrom('operation_runs')
      .select('id')
      .where('status', '=', 'running')
      .where('heartbeat_at', '<', secondsAgo(stallMs / 1000))
      .orderBy('heartbeat_at')
      .limit(limit)
      .execute();
    return rows.map((row) => row.id);
  }

  /** Runs of the given types queued for longer than `ageMs`, oldest first. */
  async queuedLongerThan(ageMs: number, types: string[], limit: number): Promise<{ id: string; type: string }[]> {
    return queries(this.orm)
      .selectFrom('operation_runs')
      .select(['id', 'type'])
      .where('status', '=', 'queued')
      .where('type', 'in', types)
      .where('created_at', '<', secondsAgo(ageMs / 1000))
      .orderBy('created_at')
      .limit(limit)
      .execute();
  }

  /**
   * Deletes up to `limit` completed runs older than `days` of the tenant that `runId` belongs to, other than
   * that run itself; their notifications and event records go with them (FK cascade). Returns how many.
   */
  async deleteCompletedBefore(runId: string, days: number, limit: number): Promise<number> {
    const db = queries(this.orm);
    const tenantOfRun = db.selectFrom('operation_runs').select('tenant_id').where('id', '=', runId);
    const batch = db
      .selectFrom('operation_runs')
      .select('id')
      .where('tenant_id', '=', tenantOfRun)
      .where('status', '=', 'completed')
      .where('created_at', '<', sql<Date>`now() - make_interval(days => ${days})`)
      .where('id', '<>', runId)
      .orderBy('created_at')
      .limit(limit);
    const deleted = await db.deleteFrom('operation_runs').where('id', 'in', batch).returning('id').execute();
    return deleted.length;
  }

  private select(db: Db, withFailures: boolean) {
    return db
      .selectFrom('operation_runs as r')
      .innerJoin('tenants as t', 't.id', 'r.tenant_id')
      .leftJoin('users as u', 'u.id', 'r.initiator_id')
      .select(withFailures ? RUN_COLUMNS_WITH_FAILURES : RUN_COLUMNS);
  }

  /**
   * Per type, the seconds its oldest queued run has waited, by the database's clock (workers' clocks may
   * differ); types with no queued run are absent. Reads the active runs' partial index, not the whole table.
   */
  async oldestQueuedAges(types: string[]): Promise<{ type: string; age_seconds: number }[]> {
    if (types.length === 0) return [];
    return queries(this.orm)
      .selectFrom('operation_runs')
      .select(['type', sql<number>`extract(epoch from ${clockTimestamp} - min(created_at))::float8`.as('age_seconds')])
      .where('status', '=', 'queued')
      .where('type', 'in', types)
      .groupBy('type')
      .execute();
  }

  // ── Many tenants on one screen (docs/api.md §12): one statement per figure for all the tenants at once ──

  /**
   * Per tenant, its slug, name and its runs per bucket under the stats rule (`statsRuns`): one row per tenant and
   * bucket it has runs in, and a tenant without any as one row with a null bucket. Tenants that do not exist
   * (any more) are absent.
   */
  async countByTenantAndBucket(tenantIds: readonly string[], window: StatsWindow): Promise<{ tenant_id: string; slug: string; name: string; bucket: RunBucket | null; count: number }[]> {
    const rows = await this.overviewBucketsQuery(tenantIds, window).execute();
    return rows.map((row) => ({ ...row, bucket: row.bucket as RunBucket | null, count: Number(row.count ?? 0) }));
  }

  /** The per-tenant bucket counts; public for the benchmark (the bucket CASE of `statsQuery`, grouped by tenant too). */
  overviewBucketsQuery(tenantIds: readonly string[], window: StatsWindow) {
    const db = queries(this.orm);
    const counts = db
      .selectFrom(this.statsRuns(tenantIds, window).as('r'))
      .select((eb) => ['r.tenant_id', bucketCase(eb as unknown as ExpressionBuilder<RunTables, 'r'>).as('bucket'), eb.fn.countAll<string>().as('count')])
      .groupBy(sql`1, 2`);
    // Right-joined, so a tenant without runs in the window keeps its row (and its name).
    return db
      .selectFrom(counts.as('b'))
      .rightJoin('tenants as t', 't.id', 'b.tenant_id')
      .select(['t.id as tenant_id', 't.slug', 't.name', 'b.bucket', 'b.count'])
      .where('t.id', 'in', [...tenantIds]);
  }

  /** Per tenant, its newest running runs (at most `limit`), newest first. */
  async runningByTenant(tenantIds: readonly string[], limit: number): Promise<RunRow[]> {
    return (await this.overviewRunningQuery(tenantIds, limit).execute()) as RunRow[];
  }

  /**
   * The running runs' query: row_number() ≤ limit per tenant over the tenants' running runs (the product's), or
   * a LATERAL per tenant (`lateral`, kept for the benchmark to compare plans). Both read only running runs, on a
   * partial index (`operation_runs_running_heartbeat`, or `operation_runs_active_identity` per tenant), so a run
   * running for days costs no walk back to it; the ranked form reads them in one scan, not one per tenant.
   */
  overviewRunningQuery(tenantIds: readonly string[], limit: number, form: 'ranked' | 'lateral' = 'ranked') {
    const db = queries(this.orm);
    if (form === 'ranked') {
      const ranked = this.select(db, false)
        .select(sql<number>`row_number() over (partition by r.tenant_id order by r.created_at desc, r.id desc)`.as('rank'))
        .where('r.tenant_id', 'in', [...tenantIds])
        .where('r.status', '=', 'running');
      return db
        .selectFrom(ranked.as('k'))
        .selectAll('k')
        .where('k.rank', '<=', limit)
        .orderBy('k.tenant_id')
        .orderBy('k.created_at', 'desc')
        .orderBy('k.id', 'desc');
    }
    return this.perTenant(db, tenantIds, (eb) =>
      eb
        .selectFrom('operation_runs as r')
        .selectAll('r')
        .whereRef('r.tenant_id', '=', 'c.tenant_id')
        .where('r.status', '=', 'running')
        .orderBy('r.created_at', 'desc')
        .orderBy('r.id', 'desc')
        .limit(limit),
    )
      .orderBy('r.tenant_id')
      .orderBy('r.created_at', 'desc')
      .orderBy('r.id', 'desc');
  }

  /** Per tenant, its runs completed failed or partially succeeded in the window (at most `limit`), newest completion first. */
  async latestFailedByTenant(tenantIds: readonly string[], window: StatsWindow, limit: number): Promise<RunRow[]> {
    return (await this.overviewFailuresQuery(tenantIds, window, limit).execute()) as RunRow[];
  }

  /**
   * The latest failures' query: a LATERAL per tenant reading its completed runs newest first on
   * `operation_runs_tenant_completed` until `limit` of them are in the failed or partially succeeded bucket.
   */
  overviewFailuresQuery(tenantIds: readonly string[], window: StatsWindow, limit: number) {
    const db = queries(this.orm);
    return this.perTenant(db, tenantIds, (eb) =>
      eb
        .selectFrom('operation_runs as r')
        .selectAll('r')
        .whereRef('r.tenant_id', '=', 'c.tenant_id')
        .where('r.status', '=', 'completed')
        .where('r.completed_at', '>=', windowStart(window))
        .where((inner) => {
          const runs = inner as unknown as ExpressionBuilder<RunTables, 'r'>;
          return runs.or([bucketCondition(runs, 'failed'), bucketCondition(runs, 'partially_succeeded')]);
        })
        .orderBy('r.completed_at', 'desc')
        .orderBy('r.id', 'desc')
        .limit(limit),
    )
      .orderBy('r.tenant_id')
      .orderBy('r.completed_at', 'desc')
      .orderBy('r.id', 'desc');
  }

  /**
   * RunRows of `perTenant(tenant)`, a query of one tenant's runs (aliased `r`, correlated on `c.tenant_id`), for
   * each of the tenants: the tenants' ids as a row set, each joined LATERAL to its own runs.
   */
  private perTenant(
    db: Db,
    tenantIds: readonly string[],
    perTenant: (eb: ExpressionBuilder<Database & { c: { tenant_id: string } }, 'c'>) => SelectQueryBuilder<Database & { c: { tenant_id: string } } & { r: Selectable<Database['operation_runs']> }, 'c' | 'r', Selectable<Database['operation_runs']>>,
  ) {
    const tenants = sql<{ tenant_id: string }>`(select unnest(${[...tenantIds]}::uuid[]) as tenant_id)`.as('c');
    return db
      .selectFrom(tenants)
      .innerJoinLateral((eb) => perTenant(eb).as('r'), (join) => join.onTrue())
      .innerJoin('tenants as t', 't.id', 'r.tenant_id')
      .leftJoin('users as u', 'u.id', 'r.initiator_id')
      .select(RUN_COLUMNS);
  }
}
