import { sql, type ExpressionBuilder, type QueryCreator, type Selectable, type SqlBool } from 'kysely';
import { clockTimestamp, queries, type Database } from '../database.ts';
import type { Orm } from '../orm.ts';
import type { RunFailure } from './model.ts';

type WithRun = QueryCreator<Database & { r: Selectable<Database['operation_runs']> }>;

/** Failures of one change grouped by code: how many, and the last message of each. */
export type ReasonDelta = { code: string; failures: number; message: string };

export type ReasonSummaryRow = { code: string; runs: number; failures: number; types: string[]; last_seen_at: Date; message: string };

const MAX_MESSAGE = 300;

/** Groups a change's (sanitized) failures by code, in order of first appearance. */
export function reasonDeltas(failures: readonly RunFailure[]): ReasonDelta[] {
  const byCode = new Map<string, ReasonDelta>();
  for (const { code, message } of failures) {
    const delta = byCode.get(code);
    if (delta) {
      delta.failures += 1;
      delta.message = message;
    } else byCode.set(code, { code, failures: 1, message });
  }
  return [...byCode.values()];
}

/** What the summary says of each code: runs, failures, types, when last seen and the latest message. */
function reasonFigures(eb: ExpressionBuilder<Database & { f: Selectable<Database['run_failure_reasons']> }, 'f'>) {
  return [
    eb.fn.countAll<string>().as('runs'),
    eb.fn.sum<string>('f.failures').as('failures'),
    sql<string[]>`array_agg(distinct f.type order by f.type)`.as('types'),
    eb.fn.max('f.last_seen_at').as('last_seen_at'),
    sql<string>`(array_agg(f.message order by f.last_seen_at desc))[1]`.as('message'),
  ] as const;
}

/** The one owner of `run_failure_reasons` SQL: one row per run and reason code, upserted as failures arrive. */
export class RunReasonStore {
  constructor(private readonly orm: Orm) {}

  /** Adds a change's failures per code, as a CTE of the statement that records them (it reads the run from `r`). */
  upsertFromRun(q: WithRun, deltas: readonly ReasonDelta[]) {
    const rows = deltas.map((d) => sql`(${d.code.slice(0, 64)}::varchar, ${d.failures}::int, ${d.message.slice(0, MAX_MESSAGE)}::varchar)`);
    return q
      .insertInto('run_failure_reasons')
      .columns(['run_id', 'code', 'tenant_id', 'type', 'run_created_at', 'failures', 'message', 'first_seen_at', 'last_seen_at'])
      // One row per code of this change, beside the changed run `r`.
      .expression(
        sql`select r.id, d.code, r.tenant_id, r.type, r.created_at, d.failures, d.message, ${clockTimestamp}, ${clockTimestamp}
            from r cross join (values ${sql.join(rows)}) as d (code, failures, message)`,
      )
      .onConflict((oc) =>
        oc.columns(['run_id', 'code']).doUpdateSet((eb) => ({
          failures: sql<number>`least(${eb.ref('run_failure_reasons.failures')} + ${eb.ref('excluded.failures')}, 2000000000)`,
          message: eb.ref('excluded.message'),
          last_seen_at: eb.ref('excluded.last_seen_at'),
        })),
      );
  }

  /**
   * A failure of the run `r` with one of `codes`, for EXISTS: a primary-key probe per run, or the code index for
   * a rare code. Tenant and window are the run's own and not repeated: repeated, they make PostgreSQL take a
   * code to be as rare among the tenant's runs as the tenant's reasons are among all runs (it cannot know they
   * all belong to the tenant), so it collects and sorts every match instead of walking the newest runs.
   */
  ofRunWithCodes(codes: readonly string[]) {
    return queries(this.orm)
      .selectFrom('run_failure_reasons as f')
      .select(sql.lit(1).as('found'))
      .where(sql<SqlBool>`f.run_id = r.id`)
      .where('f.code', 'in', [...codes]);
  }

  /** Reasons of the tenant's runs created since `since`: most runs first, then most failures. */
  async summary(tenantId: string, since: Date, limit: number): Promise<ReasonSummaryRow[]> {
    const rows = await this.summaryQuery(tenantId, since, limit).execute();
    // The driver may hand timestamps over as text: normalised here, like the counts.
    return rows.map((row) => ({ ...row, runs: Number(row.runs), failures: Number(row.failures), last_seen_at: new Date(row.last_seen_at as Date | string) }));
  }

  /** The summary's query; public for the benchmark. */
  summaryQuery(tenantId: string, since: Date, limit: number) {
    return queries(this.orm)
      .selectFrom('run_failure_reasons as f')
      .select((eb) => ['f.code', ...reasonFigures(eb)])
      .where('f.tenant_id', '=', tenantId)
      .where('f.run_created_at', '>=', since)
      .groupBy('f.code')
      .orderBy('runs', 'desc')
      .orderBy('failures', 'desc')
      .orderBy('f.code')
      .limit(limit);
  }

  /**
   * The summary of each of these tenants in one statement (docs/api.md §12), in the summary's order, at most
   * `limit` reasons per tenant: one aggregate over the tenants' reasons of the window, ranked per tenant.
   */
  async summaryByTenant(tenantIds: readonly string[], since: Date, limit: number): Promise<(ReasonSummaryRow & { tenant_id: string })[]> {
    const rows = await this.summaryByTenantQuery(tenantIds, since, limit).execute();
    return rows.map(({ rank: _rank, ...row }) => ({ ...row, runs: Number(row.runs), failures: Number(row.failures), last_seen_at: new Date(row.last_seen_at as Date | string) }));
  }

  /** The per-tenant summaries' query; public for the benchmark. */
  summaryByTenantQuery(tenantIds: readonly string[], since: Date, limit: number) {
    const db = queries(this.orm);
    const ranked = db
      .selectFrom('run_failure_reasons as f')
      .select((eb) => [
        'f.tenant_id',
        'f.code',
        ...reasonFigures(eb),
        sql<number>`row_number() over (partition by f.tenant_id order by count(*) desc, sum(f.failures) desc, f.code)`.as('rank'),
      ])
      .where('f.tenant_id', 'in', [...tenantIds])
      .where('f.run_created_at', '>=', since)
      .groupBy(['f.tenant_id', 'f.code']);
    return db.selectFrom(ranked.as('g')).selectAll('g').where('g.rank', '<=', limit).orderBy('g.tenant_id').orderBy('g.rank');
  }
}
