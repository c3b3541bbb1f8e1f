import { sql, type QueryCreator, type Selectable } from 'kysely';
import { clockTimestamp, queries, type Database } from '../database.ts';
import type { Orm } from '../orm.ts';
import { DELIVERY_LOG_LIMIT, MAX_IN_FLIGHT_PER_WEBHOOK, MAX_RETRY_DELAY_MS, type WebhookEvent } from './model.ts';

/** A statement's run row, as the CTE `r` of the statement that changed it. */
type WithRun = QueryCreator<Database & { r: Selectable<Database['operation_runs']> }>;

export type WebhookRow = Selectable<Database['webhooks']> & { created_by_name: string | null };
export type DeliveryRow = Omit<Selectable<Database['webhook_deliveries']>, 'snapshot'>;

/** A delivery claimed for an attempt, with its webhook's URL, format and sealed secret. */
export type ClaimedDelivery = Selectable<Database['webhook_deliveries']> & { url: string; format: string; secret_ciphertext: string };

/** How an attempt ended, as the store records it. */
export type AttemptRecord = {
  id: string;
  /** The attempt number the claim gave it: a lease that expired and was claimed again is not overwritten. */
  attempts: number;
  status: number | null;
  error: string | null;
  durationMs: number;
} & ({ result: 'succeeded' } | { result: 'retry'; retryInMs: number } | { result: 'failed' });

// The driver may hand timestamps over as text (raw statements): normalised here.
const at = (value: unknown): Date | null => (value === null || value === undefined ? null : new Date(value as string | Date));

/**
 * The one owner of `webhooks` and `webhook_deliveries` SQL. Deliveries are inserted only by the statement of the
 * run change they report (insertFromRun, a CTE of the run store's statements), claimed with SKIP LOCKED so any
 * number of workers share them, and never sent out of order within a run.
 */
export class WebhookStore {
  constructor(private readonly orm: Orm) {}

  /**
   * The deliveries of the change a statement just made to the run `r`, one per matching webhook of its tenant,
   * as a CTE of that statement: nothing is inserted for a tenant without webhooks. The snapshot keeps the run's
   * row with its tenant's slug and its initiator's name as they were then. `run.completed` webhooks
   * narrowed to outcomes match on the run's new outcome.
   */
  insertFromRun(q: WithRun, event: WebhookEvent) {
    const outcomeMatches = event === 'run.completed' ? sql`and (w.outcomes = '[]'::jsonb or w.outcomes @> jsonb_build_array(r.outcome))` : sql``;
    return q
      .insertInto('webhook_deliveries')
      .columns(['id', 'webhook_id', 'tenant_id', 'run_id', 'event', 'run_version', 'snapshot', 'status', 'next_attempt_at', 'created_at'])
      .expression(
        sql`select gen_random_uuid(), w.id, r.tenant_id, r.id, ${event}::varchar, r.version,
              to_jsonb(r) - 'failures' - 'identity_hash' - 'heartbeat_at' - 'history_at'
                || jsonb_build_object('first_failure', r.failures -> 0, 'tenant_slug', t.slug, 'initiator_name', u.name),
              'pending', ${clockTimestamp}, ${clockTimestamp}
            from r join webhooks w on w.tenant_id = r.tenant_id
              join tenants t on t.id = r.tenant_id
              left join users u on u.id = r.initiator_id
            where w.events @> jsonb_build_array(${event}::text)
              and (w.types = '[]'::jsonb or w.types @> jsonb_build_array(r.type)) ${outcomeMatches}`,
      );
  }

  async insert(row: Omit<Selectable<Database['webhooks']>, 'consecutive_failures' | 'paused_until' | 'last_delivery_at' | 'created_at'>): Promise<void> {
    await queries(this.orm)
      .insertInto('webhooks')
      .values({ ...row, events: JSON.stringify(row.events), types: JSON.stringify(row.types), outcomes: JSON.stringify(row.outcomes), created_at: clockTimestamp } as never)
      .execute();
  }

  async count(tenantId: string): Promise<number> {
    const row = await queries(this.orm).selectFrom('webhooks').select((eb) => eb.fn.countAll<string>().as('n')).where('tenant_id', '=', tenantId).executeTakeFirstOrThrow();
    return Number(row.n);
  }

  private selectWebhooks() {
    return queries(this.orm)
      .selectFrom('webhooks as w')
      .leftJoin('users as u', 'u.id', 'w.created_by_id')
      .selectAll('w')
      .select('u.name as created_by_name');
  }

  /** The tenant's webhooks, oldest first. */
  async list(tenantId: string): Promise<WebhookRow[]> {
    return this.selectWebhooks().where('w.tenant_id', '=', tenantId).orderBy('w.created_at').orderBy('w.id').execute() as Promise<WebhookRow[]>;
  }

  async get(tenantId: string, id: string): Promise<WebhookRow | undefined> {
    return this.selectWebhooks().where('w.tenant_id', '=', tenantId).where('w.id', '=', id).executeTakeFirst() as Promise<WebhookRow | undefined>;
  }

  /** Deletes a webhook and (cascade) its deliveries; false when the tenant has no such webhook. */
  async delete(tenantId: string, id: string): Promise<boolean> {
    const result = await queries(this.orm).deleteFrom('webhooks').where('tenant_id', '=', tenantId).where('id', '=', id).executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }

  /** A webhook's newest deliveries, newest first (the log). */
  async deliveries(webhookId: string, limit = DELIVERY_LOG_LIMIT): Promise<DeliveryRow[]> {
    return queries(this.orm)
      .selectFrom('webhook_deliveries')
      .select([
        'id', 'webhook_id', 'tenant_id', 'run_id', 'event', 'run_version', 'status', 'attempts', 'next_attempt_at', 'lease_until', 'created_at',
        'first_attempt_at', 'last_attempt_at', 'completed_at', 'last_status', 'last_error', 'duration_ms',
      ])
      .where('webhook_id', '=', webhookId)
      .orderBy('created_at', 'desc')
      .orderBy('run_version', 'desc')
      .limit(limit)
      .execute();
  }

  /**
   * Claims up to `limit` due deliveries for an attempt each (lease `leaseMs`): oldest due first, skipping rows
   * other workers hold, deliveries whose run has an earlier one still undelivered (order per run), webhooks
   * paused after a failure, and webhooks that already have MAX_IN_FLIGHT_PER_WEBHOOK attempts in flight.
   */
  async claim(limit: number, leaseMs: number): Promise<ClaimedDelivery[]> {
    const result = await sql<ClaimedDelivery>`
      with candidates as (
        select d.id, d.webhook_id, d.next_attempt_at
        from webhook_deliveries d
        join webhooks w on w.id = d.webhook_id
        where d.status in ('pending', 'delivering')
          and d.next_attempt_at <= clock_timestamp()
          and (d.lease_until is null or d.lease_until < clock_timestamp())
          and (w.paused_until is null or w.paused_until <= clock_timestamp())
          and not exists (
            select 1 from webhook_deliveries e
            where e.webhook_id = d.webhook_id and e.run_id = d.run_id and e.run_version < d.run_version and e.status in ('pending', 'delivering')
          )
        order by d.next_attempt_at
        limit ${limit * 4}
        for update of d skip locked
      ), in_flight as (
        select x.webhook_id, count(*) as n from webhook_deliveries x
        where x.status = 'delivering' and x.lease_until >= clock_timestamp() and x.webhook_id in (select webhook_id from candidates)
        group by x.webhook_id
      ), ranked as (
        select c.id, c.next_attempt_at,
          row_number() over (partition by c.webhook_id order by c.next_attempt_at) + coalesce(f.n, 0) as slot
        from candidates c left join in_flight f on f.webhook_id = c.webhook_id
      ), chosen as (
        select id from ranked where slot <= ${MAX_IN_FLIGHT_PER_WEBHOOK} order by next_attempt_at limit ${limit}
      )
      update webhook_deliveries d set
        status = 'delivering',
        attempts = d.attempts + 1,
        lease_until = clock_timestamp() + make_interval(secs => ${leaseMs / 1000}),
        first_attempt_at = coalesce(d.first_attempt_at, clock_timestamp()),
        last_attempt_at = clock_timestamp()
      from chosen, webhooks w
      where d.id = chosen.id and w.id = d.webhook_id
      returning d.*, w.url, w.format, w.secret_ciphertext`.execute(queries(this.orm));
    return result.rows.map((row) => ({
      ...row,
      next_attempt_at: at(row.next_attempt_at)!,
      created_at: at(row.created_at)!,
      first_attempt_at: at(row.first_attempt_at),
      last_attempt_at: at(row.last_attempt_at),
    }));
  }

  /**
   * Records an attempt's result on its delivery and its webhook's health, in one statement. A failure pauses the
   * webhook (all its deliveries) for `pauseBaseMs · 2^(failures in a row − 1)`, capped like retries: a dead
   * receiver is tried now and then rather than once per delivery; a success clears the pause.
   */
  async record(attempt: AttemptRecord, pauseBaseMs: number): Promise<void> {
    const final = attempt.result !== 'retry';
    const retryIn = attempt.result === 'retry' ? attempt.retryInMs / 1000 : 0;
    const failed = attempt.result !== 'succeeded';
    await sql`
      with d as (
        update webhook_deliveries set
          status = ${final ? attempt.result : 'pending'},
          next_attempt_at = case when ${final} then next_attempt_at else clock_timestamp() + make_interval(secs => ${retryIn}) end,
          lease_until = null,
          completed_at = case when ${final} then clock_timestamp() else null end,
          last_status = ${attempt.status},
          last_error = ${attempt.error === null ? null : attempt.error.slice(0, 300)},
          duration_ms = ${Math.round(attempt.durationMs)}
        where id = ${attempt.id} and status = 'delivering' and attempts = ${attempt.attempts}
        returning webhook_id
      )
      update webhooks w set
        consecutive_failures = case when ${failed} then w.consecutive_failures + 1 else 0 end,
        paused_until = case when ${failed}
          then clock_timestamp() + make_interval(secs => least(${MAX_RETRY_DELAY_MS / 1000}, ${pauseBaseMs / 1000} * power(2, least(w.consecutive_failures, 20))))
          else null end,
        last_delivery_at = clock_timestamp()
      from d where w.id = d.webhook_id`.execute(queries(this.orm));
  }

  /** How many deliveries wait to be sent (pending or in flight), for the backlog gauge. */
  async backlog(): Promise<number> {
    const row = await queries(this.orm)
      .selectFrom('webhook_deliveries')
      .select((eb) => eb.fn.countAll<string>().as('n'))
      .where('status', 'in', ['pending', 'delivering'])
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  /** Deletes finished deliveries older than `days`; returns how many. */
  async purgeFinished(days: number): Promise<number> {
    const result = await queries(this.orm)
      .deleteFrom('webhook_deliveries')
      .where('status', 'in', ['succeeded', 'failed'])
      .where('completed_at', '<', sql<Date>`clock_timestamp() - make_interval(days => ${days})`)
      .executeTakeFirst();
    return Number(result.numDeletedRows);
  }
}
