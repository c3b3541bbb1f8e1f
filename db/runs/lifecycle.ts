import { randomUUID } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { Catalog } from '../catalog/catalog.ts';
import type { AnyOperationDeclaration } from '../catalog/types.ts';
import { identityOf } from '../catalog/types.ts';
import type { Changefeed } from '../changefeed/publisher.ts';
import type { RunUpdateKind } from '../changefeed/messages.ts';
import { AppError } from '../errors.ts';
import { completedText, queuedText, type NotificationText } from '../notifications/messages.ts';
import type { NotificationService } from '../notifications/service.ts';
import { toNotificationView, type NotificationView } from '../notifications/view.ts';
import type { Orm } from '../orm.ts';
import { sanitizeFailure } from '../sanitize/sanitizer.ts';
import { identityHash } from './identity.ts';
import { MAX_RUN_COUNT, MAX_STORED_FAILURES, outcomeOf, type RunFailure, type RunStatus } from './model.ts';
import { runColumns, runJoins, runUrl, toRunView, type RunRow, type RunView } from './view.ts';

export type StartInput = {
  tenant: { id: string; slug: string };
  declaration: AnyOperationDeclaration;
  /** Already parsed by the declaration's scope schema. */
  scope: Record<string, unknown>;
  initiatorId: string | null;
};

export type StartResult = { run: RunView; reused: boolean };

/** Increments reported by a worker or an external system; failures are sanitized here, before any write. */
export type ProgressDelta = {
  total?: number;
  succeeded?: number;
  failed?: number;
  skipped?: number;
  failures?: { code?: unknown; message?: unknown; item?: unknown }[];
  /** How many failures this delta stands for, when more happened than `failures` lists (default: its length). */
  failureCount?: number;
};

export type CompleteInput = ProgressDelta & {
  /** The run could not proceed at all: outcome `failed` whatever the counts. */
  aborted?: boolean;
};

/** What the start statement adds to the run's columns when it also wrote the `queued` notification. */
type QueuedNotificationColumns = { notification_id: string | null; notification_created_at: Date | string | null; unread_count: string | number };

type LockedRow = {
  id: string;
  status: RunStatus;
  type: string;
  tenant_id: string;
  initiator_id: string | null;
  total: number;
  succeeded: number;
  failed: number;
  skipped: number;
  failure_count: number;
  stored_failures: number;
  first_failure: RunFailure | null;
};

type Patch = {
  status?: RunStatus;
  outcome?: string;
  startedAt?: boolean;
  completedAt?: boolean;
  heartbeat?: boolean;
  attempt?: boolean;
  counts?: { total: number; succeeded: number; failed: number; skipped: number };
  appendFailures?: RunFailure[];
  failureCount?: number;
};

/** What a transition did: applied (one persisted change), or why nothing changed. */
export type TransitionResult =
  | { outcome: 'applied'; run: RunView }
  | { outcome: 'missing' }
  | { outcome: 'refused'; status: RunStatus }
  | { outcome: 'duplicate' };

type TransitionSpec = {
  from: RunStatus[];
  kind: RunUpdateKind;
  compute: (row: LockedRow) => Patch;
  /** Extra SQL condition on the locked row (a literal; never user input). */
  condition?: string;
  /** An external event's id: applied at most once per run. */
  eventId?: string;
};

const ACTIVE: RunStatus[] = ['queued', 'running'];
const viewOf = (result: TransitionResult): RunView | null => (result.outcome === 'applied' ? result.run : null);
const START_ATTEMPTS = 5;

/**
 * Start, de-duplicate and move runs through their life. Every change is one transaction that locks the row,
 * refuses transitions that would go backwards, bumps `version` by one, writes the notification it implies,
 * and — only after commit — publishes the committed row to the changefeed.
 */
export class RunLifecycle {
  constructor(
    private readonly orm: Orm,
    private readonly catalog: Catalog,
    private readonly notifications: NotificationService,
    private readonly changefeed: Changefeed,
  ) {}

  /**
   * Creates the run, or returns the active run of the same identity (`reused`). A new run and its `queued`
   * notification are one statement (atomic on its own: no transaction round trips), which also returns the
   * initiator's unread count for the live push; then the committed row is published.
   */
  async start(input: StartInput): Promise<StartResult> {
    const { tenant, declaration, scope, initiatorId } = input;
    const hash = identityHash(tenant.id, declaration.type, identityOf(declaration, scope));
    const text = queuedText(declaration.label);
    // The column limits NotificationService.create applies too.
    const title = text.title.slice(0, 200);
    const body = text.body.slice(0, 500);
    // Connection-level queries: no entity is loaded, so no EntityManager fork is needed.
    const db = this.orm.em.getConnection();
    for (let attempt = 0; attempt < START_ATTEMPTS; attempt++) {
      // The id is chosen here so the notification's link can be written in the same statement.
      const runId = randomUUID();
      const url = runUrl(tenant.slug, runId);
      const [inserted] = await db.execute<(RunRow & QueuedNotificationColumns)[]>(
        `with r as (
           insert into operation_runs (id, tenant_id, type, status, outcome, identity_hash, scope, initiator_id, created_at, updated_at)
           values (?, ?, ?, 'queued', 'pending', ?, ?::jsonb, ?, clock_timestamp(), clock_timestamp())
           on conflict (tenant_id, identity_hash) where status in ('queued', 'running') do nothing
           returning *),
         n as (
           insert into notifications (user_id, tenant_id, run_id, level, title, body, url, created_at)
           select r.initiator_id, r.tenant_id, r.id, ?, ?, ?, ?, clock_timestamp() from r where r.initiator_id is not null
           returning id, created_at)
         select ${runColumns('r', { withFailures: true })}, n.id as notification_id, n.created_at as notification_created_at,
                -- this statement cannot see its own notification yet: + 1
                (select count(*) from notifications c where c.user_id = r.initiator_id and c.read_at is null) + 1 as unread_count
         from r ${runJoins('r')} left join n on true`,
        [runId, tenant.id, declaration.type, hash, JSON.stringify(scope), initiatorId,
          text.level, title, body, url],
      );
      if (inserted) {
        const run = toRunView(inserted, this.catalog);
        const notification: NotificationView | null = inserted.notification_id
          ? toNotificationView({
              id: inserted.notification_id,
              tenant_slug: inserted.tenant_slug,
              run_id: inserted.id,
              level: text.level,
              title,
              body,
              url,
              created_at: inserted.notification_created_at!,
              read_at: null,
            })
          : null;
        await this.publish('queued', run, notification, inserted.initiator_id, Number(inserted.unread_count));
        return { run, reused: false };
      }
      // The conflicting insert has committed (ON CONFLICT waits for it), so the active run is visible to this
      // new statement — unless it completed in between, in which case we try the insert again.
      const [active] = await db.execute<RunRow[]>(
        `select ${runColumns('r', { withFailures: true })} from operation_runs r ${runJoins('r')}
         where r.tenant_id = ? and r.identity_hash = ? and r.status in ('queued', 'running')`,
        [tenant.id, hash],
      );
      if (active) return { run: toRunView(active, this.catalog), reused: true };
    }
    throw new Error('could not start or reuse the run: identity kept changing');
  }

  /** queued → running. Null when the run is no longer queued (already started elsewhere, or completed). */
  async markStarted(runId: string): Promise<RunView | null> {
    return viewOf(await this.transition(runId, STARTED));
  }

  /** Adds progress to a running run (one persisted change). Null when the run is not running. */
  async progress(runId: string, delta: ProgressDelta): Promise<RunView | null> {
    return viewOf(await this.transition(runId, progressed(delta)));
  }

  /** running (or queued) → completed, with the outcome rule applied to the final counts. */
  async complete(runId: string, input: CompleteInput, from: RunStatus[] = ACTIVE): Promise<RunView | null> {
    return viewOf(await this.transition(runId, { ...completed(input), from }));
  }

  /**
   * One event reported by the system that runs an external operation (CONTRACT §9): exactly one persisted
   * change, or — for a transition that would not move forward — none. An `eventId` seen before is a no-op.
   */
  async applyEvent(runId: string, event: RunEvent, eventId?: string): Promise<TransitionResult> {
    const spec = event.kind === 'started' ? STARTED : event.kind === 'progress' ? progressed(event) : completed({ aborted: event.abort === true });
    return this.transition(runId, { ...spec, ...(eventId !== undefined ? { eventId } : {}) });
  }

  /** A run that can no longer proceed (dispatch failed, worker lost): failed, keeping what had succeeded. */
  async fail(runId: string, failure: { code: string; message: string }, from: RunStatus[] = ACTIVE): Promise<RunView | null> {
    return this.complete(runId, { aborted: true, failures: [failure] }, from);
  }

  /** Keeps a running run from being swept as lost; not a visible change, so no version bump. */
  async heartbeat(runIds: string[]): Promise<void> {
    if (runIds.length === 0) return;
    await this.orm.em.fork().execute(
      `update operation_runs set heartbeat_at = clock_timestamp() where id = any(?::uuid[]) and status = 'running'`,
      [`{${runIds.join(',')}}`],
    );
  }

  /** Running runs whose heartbeat is older than `stallMs` (their worker died): ended `failed/worker_lost`. */
  async sweepStalled(stallMs: number, limit = 100): Promise<RunView[]> {
    const stalled = await this.orm.em.fork().execute<{ id: string }[]>(
      `select id from operation_runs
       where status = 'running' and heartbeat_at < clock_timestamp() - make_interval(secs => ?)
       order by heartbeat_at limit ?`,
      [stallMs / 1000, limit],
    );
    const ended: RunView[] = [];
    for (const { id } of stalled) {
      const result = await this.transition(id, {
        ...completed({ aborted: true, failures: [{ code: 'worker_lost', message: 'The worker (or external system) running this operation stopped reporting.' }] }),
        from: ['running'],
        // Re-checked under the row lock: a heartbeat may have arrived since the select.
        condition: `and heartbeat_at < clock_timestamp() - make_interval(secs => ${Number(stallMs) / 1000})`,
      });
      if (result.outcome === 'applied') ended.push(result.run);
    }
    return ended;
  }

  /**
   * Runs of the given (worker-driven) types queued for longer than `ageMs`, oldest first: candidates for
   * re-dispatch when a job was lost. External runs are never among them: nothing of ours runs those.
   */
  async queuedLongerThan(ageMs: number, types: string[], limit = 200): Promise<{ id: string; type: string }[]> {
    if (types.length === 0) return [];
    return this.orm.em.fork().execute<{ id: string; type: string }[]>(
      `select id, type from operation_runs
       where status = 'queued' and type = any(?::text[]) and created_at < clock_timestamp() - make_interval(secs => ?)
       order by created_at limit ?`,
      [`{${types.map((t) => `"${t}"`).join(',')}}`, ageMs / 1000, limit],
    );
  }

  private async transition(runId: string, spec: TransitionSpec): Promise<TransitionResult> {
    const result = await this.orm.em.fork().transactional(async (tx): Promise<
      { outcome: 'applied'; row: RunRow; notification: NotificationView | null } | Exclude<TransitionResult, { outcome: 'applied' }>
    > => {
      const [locked] = await tx.execute<LockedRow[]>(
        `select id, status, type, tenant_id, initiator_id, total, succeeded, failed, skipped, failure_count,
                jsonb_array_length(failures) as stored_failures, failures -> 0 as first_failure
         from operation_runs where id = ? ${spec.condition ?? ''} for update`,
        [runId],
      );
      if (!locked) return { outcome: 'missing' };
      // A retried event is recognised before anything else, so a retry of an accepted `completed` is a 200.
      if (spec.eventId !== undefined) {
        const seen = await tx.execute<{ id: string }[]>(
          `select run_id as id from run_events where run_id = ? and event_id = ?`,
          [runId, spec.eventId],
        );
        if (seen.length > 0) return { outcome: 'duplicate' };
      }
      if (!spec.from.includes(locked.status)) return { outcome: 'refused', status: locked.status };
      if (spec.eventId !== undefined) {
        await tx.execute(`insert into run_events (run_id, event_id) values (?, ?)`, [runId, spec.eventId]);
      }
      const patch = spec.compute(locked);
      const row = await this.update(tx, runId, patch);
      let notification: NotificationView | null = null;
      if (patch.status === 'completed' && row.initiator_id) {
        const declaration = this.catalog.get(row.type);
        const first = locked.first_failure ?? patch.appendFailures?.[0];
        const text: NotificationText = completedText(
          declaration?.label ?? row.type,
          row.outcome as Exclude<typeof row.outcome, 'pending'>,
          row,
          first ? `First failure: ${first.code}.` : undefined,
        );
        notification = await this.notifications.create(tx, row, text, runUrl(row.tenant_slug, row.id));
      }
      return { outcome: 'applied', row, notification };
    });
    if (result.outcome !== 'applied') return result;
    const run = toRunView(result.row, this.catalog);
    await this.publish(spec.kind, run, result.notification, result.row.initiator_id);
    return { outcome: 'applied', run };
  }

  private async update(tx: EntityManager, runId: string, patch: Patch): Promise<RunRow> {
    const sets: string[] = ['version = version + 1', 'updated_at = clock_timestamp()'];
    const params: unknown[] = [];
    const set = (column: string, value: unknown) => {
      sets.push(`${column} = ?`);
      params.push(value);
    };
    if (patch.status) set('status', patch.status);
    if (patch.outcome) set('outcome', patch.outcome);
    if (patch.startedAt) sets.push('started_at = clock_timestamp()');
    if (patch.completedAt) sets.push('completed_at = clock_timestamp()');
    if (patch.heartbeat) sets.push('heartbeat_at = clock_timestamp()');
    if (patch.attempt) sets.push('attempts = attempts + 1');
    if (patch.counts) {
      const { total, succeeded, failed, skipped } = patch.counts;
      set('total', total);
      set('succeeded', succeeded);
      set('failed', failed);
      set('skipped', skipped);
      set('processed', succeeded + failed + skipped);
    }
    if (patch.appendFailures && patch.appendFailures.length > 0) {
      sets.push('failures = failures || ?::jsonb');
      params.push(JSON.stringify(patch.appendFailures));
    }
    if (patch.failureCount !== undefined) set('failure_count', patch.failureCount);
    const [row] = await tx.execute<RunRow[]>(
      `with r as (update operation_runs set ${sets.join(', ')} where id = ? returning *)
       select ${runColumns('r', { withFailures: false })} from r ${runJoins('r')}`,
      [...params, runId],
    );
    if (!row) throw new Error(`run ${runId} vanished inside its own transaction`);
    return row;
  }

  /**
   * The run change goes out at once; the initiator's notification follows with its unread count (counted
   * here unless the caller already knows it). One connection keeps their order.
   */
  private async publish(
    kind: RunUpdateKind,
    run: RunView,
    notification: NotificationView | null,
    userId: string | null,
    unreadCount?: number,
  ): Promise<void> {
    // Never rejects (Changefeed logs and drops failed publishes), so it may be awaited last.
    const runPublished = this.changefeed.runChanged(kind, run);
    if (notification && userId) {
      const unread = unreadCount ?? (await this.notifications.unreadCount(userId));
      await this.changefeed.notificationCreated(userId, notification, unread);
    }
    await runPublished;
  }
}

/** An event of an external run (CONTRACT §9), as validated by the events route. */
export type RunEvent =
  | { kind: 'started' }
  | ({ kind: 'progress' } & ProgressDelta)
  | { kind: 'completed'; abort?: boolean };

const STARTED: TransitionSpec = {
  from: ['queued'],
  kind: 'started',
  compute: () => ({ status: 'running', startedAt: true, heartbeat: true, attempt: true }),
};

function progressed(delta: ProgressDelta): TransitionSpec {
  return { from: ['running'], kind: 'progress', compute: (row) => ({ heartbeat: true, ...applyDelta(row, delta) }) };
}

function completed(input: CompleteInput): TransitionSpec {
  return {
    from: ACTIVE,
    kind: 'completed',
    compute: (row) => {
      const applied = applyDelta(row, input);
      return { ...applied, status: 'completed', outcome: outcomeOf(applied.counts, input.aborted === true), completedAt: true };
    },
  };
}

/** New counts and failures after adding a delta; failures are sanitized and the stored list capped. */
function applyDelta(row: LockedRow, delta: ProgressDelta): Required<Pick<Patch, 'counts' | 'appendFailures' | 'failureCount'>> {
  const nonNegative = (n: number | undefined) => Math.max(0, Math.trunc(n ?? 0));
  const incoming = delta.failures ?? [];
  const succeeded = row.succeeded + nonNegative(delta.succeeded);
  const failed = row.failed + nonNegative(delta.failed);
  const skipped = row.skipped + nonNegative(delta.skipped);
  const processed = succeeded + failed + skipped;
  const total = Math.max(delta.total !== undefined ? nonNegative(delta.total) : row.total, processed);
  const failureCount = row.failure_count + Math.max(incoming.length, nonNegative(delta.failureCount));
  if (Math.max(total, processed, failureCount) > MAX_RUN_COUNT) {
    // Thrown inside the transition's transaction: nothing changes, and the caller gets a clear 409.
    throw new AppError(409, 'count_limit', `A run counts at most ${MAX_RUN_COUNT.toLocaleString('en')} items; this change would exceed that.`);
  }
  // Only what still fits in the capped list is sanitized and stored; the count keeps the true total.
  const room = Math.max(0, MAX_STORED_FAILURES - row.stored_failures);
  return {
    counts: { total, succeeded, failed, skipped },
    appendFailures: incoming.slice(0, room).map(sanitizeFailure),
    failureCount,
  };
}
