import { randomUUID } from 'node:crypto';
import type { Catalog } from '../catalog/catalog.ts';
import type { AnyOperationDeclaration } from '../catalog/types.ts';
import { identityOf } from '../catalog/types.ts';
import type { Changefeed } from '../changefeed/publisher.ts';
import type { Tx } from '../database.ts';
import { AppError } from '../errors.ts';
import { completedText } from '../notifications/messages.ts';
import type { NotificationService } from '../notifications/service.ts';
import type { NotificationView } from '../notifications/view.ts';
import type { Orm } from '../orm.ts';
import { sanitizeCode, sanitizeFailure } from '../sanitize/sanitizer.ts';
import type { RunEventStore } from './event-store.ts';
import { identityHash } from './identity.ts';
import { author, canApply, MAX_RUN_COUNT, MAX_STORED_FAILURES, outcomeOf, type ChangeAuthor, type RunStatus, type RunUpdateKind } from './model.ts';
import { reasonDeltas, type ReasonDelta } from './reason-store.ts';
import { searchTextOf } from './search-store.ts';
import type { LockedRun, RunPatch, RunRow, RunStore } from './store.ts';
import { historyEntryOf, runUrl, toRunView, type RunHistoryEntry, type RunView } from './view.ts';

export type StartInput = {
  tenant: { id: string; slug: string };
  declaration: AnyOperationDeclaration;
  /** Already parsed by the declaration's scope schema. */
  scope: Record<string, unknown>;
  initiatorId: string | null;
  /** Who starts it: the first entry of its history. */
  by: ChangeAuthor;
};

export type StartResult = { run: RunView; reused: boolean };

/** A run a worker has just started, with the tenant's id for the handler's queries. */
export type StartedRun = { run: RunView; tenant: { id: string; slug: string } };

/** Increments reported by a worker or a mirroring system; failures are sanitized here, before any write. */
export type ProgressDelta = {
  total?: number;
  succeeded?: number;
  failed?: number;
  skipped?: number;
  failures?: { code?: unknown; message?: unknown; item?: unknown }[];
  /** How many failures this delta stands for, when more happened than `failures` lists (default: its length). */
  failureCount?: number;
  /** Failures per code beyond those `failures` lists (a reporter's buffer was full): counted in their reasons. */
  unlisted?: Record<string, number>;
};

export type CompleteInput = ProgressDelta & {
  /** The run could not proceed at all: outcome `failed` whatever the counts. */
  aborted?: boolean;
};

/** What a transition did: applied (one persisted change), or why nothing changed. */
export type TransitionResult =
  | { outcome: 'applied'; run: RunView; tenantId: string; history?: RunHistoryEntry }
  | { outcome: 'missing' }
  | { outcome: 'refused'; status: RunStatus }
  | { outcome: 'duplicate' };

type TransitionSpec = {
  kind: Exclude<RunUpdateKind, 'queued'>;
  /** Who or what makes the change (its history entry's `by`). */
  by: ChangeAuthor;
  /** Narrows the statuses the change may apply to, beyond the rule (`canApply`), e.g. only a running run. */
  onlyFrom?: RunStatus[];
  compute: (row: LockedRun) => RunPatch;
  /** Only a run whose heartbeat is older than this (re-checked under the row lock). */
  stalledForMs?: number;
  /** A mirrored run's event id: applied at most once per run. */
  eventId?: string;
};
const viewOf = (result: TransitionResult): RunView | null => (result.outcome === 'applied' ? result.run : null);
const START_ATTEMPTS = 5;

/** The author of changes made by Runboard's own sweep of runs whose worker stopped reporting. */
export const LOST_WORKER_SWEEP = author('system', 'lost-worker sweep');

/**
 * Start, de-duplicate and move runs through their life. Every change is one transaction that locks the row,
 * refuses transitions that would go backwards, bumps `version` by one, writes the notification it implies,
 * and — only after commit — publishes the committed row to the changefeed.
 */
export class RunLifecycle {
  constructor(
    private readonly orm: Orm,
    private readonly store: RunStore,
    private readonly events: RunEventStore,
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
    const { tenant, declaration, scope, initiatorId, by } = input;
    const hash = identityHash(tenant.id, declaration.type, identityOf(declaration, scope));
    for (let attempt = 0; attempt < START_ATTEMPTS; attempt++) {
      // The id is chosen here so the notification's link can be written in the same statement.
      const runId = randomUUID();
      const notification = this.notifications.queued(declaration.label, runUrl(tenant.slug, runId));
      const inserted = await this.store.insertQueued(
        { id: runId, tenantId: tenant.id, type: declaration.type, identityHash: hash, scope, initiatorId, by, searchText: searchTextOf(declaration.type, scope) },
        notification,
      );
      if (inserted) {
        const run = toRunView(inserted, this.catalog);
        const view = inserted.notification ? this.notifications.queuedView(inserted.notification, inserted, notification) : null;
        await this.publish('queued', run, historyEntryOf(inserted, 'queued', by), view, inserted.initiator_id, inserted.unread_count);
        return { run, reused: false };
      }
      // The conflicting insert has committed (ON CONFLICT waits for it), so the active run is visible to this
      // new statement — unless it completed in between, in which case we try the insert again.
      const active = await this.store.findActive(tenant.id, hash);
      if (active) return { run: toRunView(active, this.catalog), reused: true };
    }
    throw new Error('could not start or reuse the run: identity kept changing');
  }

  /** queued → running. Null when the run is no longer queued (already started elsewhere, or completed). */
  async markStarted(runId: string, by: ChangeAuthor): Promise<StartedRun | null> {
    const result = await this.transition(runId, { ...STARTED, by });
    return result.outcome === 'applied' ? { run: result.run, tenant: { id: result.tenantId, slug: result.run.tenant } } : null;
  }

  /** Adds progress to a running run (one persisted change). Null when the run is not running. */
  async progress(runId: string, delta: ProgressDelta, by: ChangeAuthor): Promise<RunView | null> {
    return viewOf(await this.transition(runId, { ...progressed(delta), by }));
  }

  /** running (or queued) → completed, with the outcome rule applied to the final counts. */
  async complete(runId: string, input: CompleteInput, by: ChangeAuthor, onlyFrom?: RunStatus[]): Promise<RunView | null> {
    return viewOf(await this.transition(runId, { ...completed(input), by, ...(onlyFrom ? { onlyFrom } : {}) }));
  }

  /**
   * One event reported by the system that runs a mirrored operation (docs/api.md §9): exactly one persisted
   * change, or — for a transition that would not move forward — none. An `eventId` seen before is a no-op.
   */
  async applyEvent(runId: string, event: RunEvent, by: ChangeAuthor, eventId?: string): Promise<TransitionResult> {
    const spec = event.kind === 'started' ? STARTED : event.kind === 'progress' ? progressed(event) : completed({ aborted: event.abort === true });
    return this.transition(runId, { ...spec, by, ...(eventId !== undefined ? { eventId } : {}) });
  }

  /** A run that can no longer proceed (dispatch failed, worker lost): failed, keeping what had succeeded. */
  async fail(runId: string, failure: { code: string; message: string }, by: ChangeAuthor, onlyFrom?: RunStatus[]): Promise<RunView | null> {
    return this.complete(runId, { aborted: true, failures: [failure] }, by, onlyFrom);
  }

  /** Keeps a running run from being swept as lost; not a visible change, so no version bump. */
  async heartbeat(runIds: string[]): Promise<void> {
    if (runIds.length === 0) return;
    await this.store.touchHeartbeats(runIds);
  }

  /** Running runs whose heartbeat is older than `stallMs` (their worker died): ended `failed/worker_lost`. */
  async sweepStalled(stallMs: number, limit = 100): Promise<RunView[]> {
    const ended: RunView[] = [];
    for (const id of await this.store.stalled(stallMs, limit)) {
      const result = await this.transition(id, {
        ...completed({ aborted: true, failures: [{ code: 'worker_lost', message: 'The worker (or mirroring system) running this operation stopped reporting.' }] }),
        by: LOST_WORKER_SWEEP,
        onlyFrom: ['running'],
        // Re-checked under the row lock: a heartbeat may have arrived since the select.
        stalledForMs: stallMs,
      });
      if (result.outcome === 'applied') ended.push(result.run);
    }
    return ended;
  }

  /**
   * Runs of the given (worker-driven) types queued for longer than `ageMs`, oldest first: candidates for
   * re-dispatch when a job was lost. Mirrored runs are never among them: nothing of ours runs those.
   */
  async queuedLongerThan(ageMs: number, types: string[], limit = 200): Promise<{ id: string; type: string }[]> {
    if (types.length === 0) return [];
    return this.store.queuedLongerThan(ageMs, types, limit);
  }

  private async transition(runId: string, spec: TransitionSpec): Promise<TransitionResult> {
    const result = await this.orm.em.fork().transactional(async (tx: Tx): Promise<
      { outcome: 'applied'; row: RunRow; notification: NotificationView | null; recorded: boolean } | Exclude<TransitionResult, { outcome: 'applied' }>
    > => {
      const locked = await this.store.lock(tx, runId, spec.stalledForMs !== undefined ? { stalledForMs: spec.stalledForMs } : {});
      if (!locked) return { outcome: 'missing' };
      // A retried event is recognised before anything else, so a retry of an accepted `completed` is a 200.
      if (spec.eventId !== undefined && (await this.events.seen(tx, runId, spec.eventId))) return { outcome: 'duplicate' };
      if (!canApply(spec.kind, locked.status) || (spec.onlyFrom && !spec.onlyFrom.includes(locked.status))) {
        return { outcome: 'refused', status: locked.status };
      }
      if (spec.eventId !== undefined) await this.events.record(tx, runId, spec.eventId);
      const patch = spec.compute(locked);
      // queued, started and completed are always recorded; progress at most every few seconds.
      if (spec.kind !== 'progress' || locked.history_due) patch.history = { kind: spec.kind, by: spec.by };
      const row = await this.store.update(tx, runId, patch);
      let notification: NotificationView | null = null;
      if (patch.status === 'completed' && row.initiator_id && row.outcome !== 'pending') {
        const first = locked.first_failure ?? patch.appendFailures?.[0];
        const text = completedText(
          this.catalog.get(row.type)?.label ?? row.type,
          row.outcome,
          row,
          first ? `First failure: ${first.code}.` : undefined,
        );
        notification = await this.notifications.create(tx, row, text, runUrl(row.tenant_slug, row.id));
      }
      return { outcome: 'applied', row, notification, recorded: patch.history !== undefined };
    });
    if (result.outcome !== 'applied') return result;
    const run = toRunView(result.row, this.catalog);
    const history = result.recorded ? historyEntryOf(result.row, spec.kind, spec.by) : undefined;
    await this.publish(spec.kind, run, history, result.notification, result.row.initiator_id);
    return { outcome: 'applied', run, tenantId: result.row.tenant_id, ...(history ? { history } : {}) };
  }

  /**
   * The run change goes out at once; the initiator's notification follows with its unread count (counted
   * here unless the caller already knows it). One connection keeps their order.
   */
  private async publish(
    kind: RunUpdateKind,
    run: RunView,
    history: RunHistoryEntry | undefined,
    notification: NotificationView | null,
    userId: string | null,
    unreadCount?: number,
  ): Promise<void> {
    // Never rejects (Changefeed logs and drops failed publishes), so it may be awaited last.
    const runPublished = this.changefeed.runChanged(kind, run, history);
    if (notification && userId) await this.notifications.published(userId, notification, unreadCount);
    await runPublished;
  }
}

/** An event of a mirrored run (docs/api.md §9), as validated by the events route. */
export type RunEvent =
  | { kind: 'started' }
  | ({ kind: 'progress' } & ProgressDelta)
  | { kind: 'completed'; abort?: boolean };

const STARTED: Omit<TransitionSpec, 'by'> = {
  kind: 'started',
  compute: () => ({ status: 'running', startedAt: true, heartbeat: true }),
};

function progressed(delta: ProgressDelta): Omit<TransitionSpec, 'by'> {
  return { kind: 'progress', compute: (row) => ({ heartbeat: true, ...applyDelta(row, delta) }) };
}

function completed(input: CompleteInput): Omit<TransitionSpec, 'by'> {
  return {
    kind: 'completed',
    compute: (row) => {
      const applied = applyDelta(row, input);
      return { ...applied, status: 'completed', outcome: outcomeOf(applied.counts, input.aborted === true), completedAt: true };
    },
  };
}

/** Adds failures a reporter counted per code but did not list; a code seen only there gets a generic message. */
function withUnlisted(deltas: ReasonDelta[], unlisted: ProgressDelta['unlisted']): ReasonDelta[] {
  if (!unlisted) return deltas;
  const byCode = new Map(deltas.map((d) => [d.code, d]));
  for (const [raw, count] of Object.entries(unlisted)) {
    const failures = Math.max(0, Math.trunc(count));
    if (failures === 0) continue;
    const code = sanitizeCode(raw);
    const known = byCode.get(code);
    if (known) known.failures += failures;
    else byCode.set(code, { code, failures, message: `${failures} more failures of this reason (not listed).` });
  }
  return [...byCode.values()];
}

/** New counts and failures after adding a delta; failures are sanitized and the stored list capped. */
function applyDelta(row: LockedRun, delta: ProgressDelta): Required<Pick<RunPatch, 'counts' | 'appendFailures' | 'failureCount' | 'reasons'>> {
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
  // Every reported failure counts towards its reason; only what still fits in the capped list is stored, and
  // the count keeps the true total.
  const sanitized = incoming.slice(0, MAX_STORED_FAILURES).map(sanitizeFailure);
  const room = Math.max(0, MAX_STORED_FAILURES - row.stored_failures);
  return {
    counts: { total, succeeded, failed, skipped },
    appendFailures: sanitized.slice(0, room),
    failureCount,
    reasons: withUnlisted(reasonDeltas(sanitized), delta.unlisted),
  };
}
