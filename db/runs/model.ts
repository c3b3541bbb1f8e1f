// The run's vocabulary and its pure rules: no I/O here, so dashboard and tests can import it freely.

export const RUN_STATUSES = ['queued', 'running', 'completed'] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];

export const RUN_OUTCOMES = ['pending', 'succeeded', 'partially_succeeded', 'failed'] as const;
export type RunOutcome = (typeof RUN_OUTCOMES)[number];

export const RUN_BUCKETS = ['queued', 'running', 'succeeded', 'partially_succeeded', 'failed'] as const;
export type RunBucket = (typeof RUN_BUCKETS)[number];

export type RunCounts = { total: number; processed: number; succeeded: number; failed: number; skipped: number };

export type RunFailure = { code: string; message: string; item?: string };

/** Counts are `int` columns: a change that would take any of them past this is refused, not wrapped. */
export const MAX_RUN_COUNT = 2_000_000_000;

/** The stored failures list is capped; `failureCount` keeps the true total. */
export const MAX_STORED_FAILURES = 1000;

/**
 * The one bucket rule: the status (and, once completed, the outcomes) each bucket shows. A completed run
 * whose outcome is still pending cannot normally exist; should one, it shows as failed, never as running.
 * `bucketOf` and the SQL of list filters and stats (db/runs/store.ts) are both derived from this table.
 */
export const BUCKET_RULE: Record<RunBucket, { status: RunStatus; outcomes?: readonly RunOutcome[] }> = {
  queued: { status: 'queued' },
  running: { status: 'running' },
  succeeded: { status: 'completed', outcomes: ['succeeded'] },
  partially_succeeded: { status: 'completed', outcomes: ['partially_succeeded'] },
  failed: { status: 'completed', outcomes: ['failed', 'pending'] },
};

export function bucketOf(status: RunStatus, outcome: RunOutcome): RunBucket {
  const bucket = RUN_BUCKETS.find((b) => BUCKET_RULE[b].status === status && (BUCKET_RULE[b].outcomes?.includes(outcome) ?? true));
  return bucket ?? 'failed';
}

/**
 * The outcome rule at completion: no failures → succeeded; successes and failures → partially succeeded;
 * failures and no successes, or a run that could not proceed → failed. Skipped items never fail a run.
 */
export function outcomeOf(counts: { succeeded: number; failed: number }, aborted = false): Exclude<RunOutcome, 'pending'> {
  if (aborted) return 'failed';
  if (counts.failed === 0) return 'succeeded';
  return counts.succeeded > 0 ? 'partially_succeeded' : 'failed';
}

/** Status only moves forward: queued → running → completed (queued → completed for runs that never start). */
export function canTransition(from: RunStatus, to: RunStatus): boolean {
  return RUN_STATUSES.indexOf(to) > RUN_STATUSES.indexOf(from);
}

/** The persisted changes of a run; each is pushed to the live channel as a `run:update` of that kind. */
export const RUN_UPDATE_KINDS = ['queued', 'started', 'progress', 'completed'] as const;
export type RunUpdateKind = (typeof RUN_UPDATE_KINDS)[number];

/**
 * Whether a change applies to a run in `status`, the rule the lifecycle enforces under the row lock:
 * `started` and `completed` are status transitions (forward only); `progress` applies only while running.
 */
export function canApply(kind: Exclude<RunUpdateKind, 'queued'>, status: RunStatus): boolean {
  if (kind === 'progress') return status === 'running';
  return canTransition(status, kind === 'started' ? 'running' : 'completed');
}

/** Windows of `GET …/stats` (and the board's time-range presets), in seconds. */
export const STATS_WINDOWS = { '1h': 3_600, '24h': 86_400, '7d': 604_800, '30d': 2_592_000 } as const;
export type StatsWindow = keyof typeof STATS_WINDOWS;

/** Page size bound of run lists. */
export const MAX_LIST_LIMIT = 500;

/** Who or what made a change of a run (its history's `by`). */
export const AUTHOR_KINDS = ['user', 'worker', 'integration', 'system'] as const;
export type ChangeAuthor = { kind: (typeof AUTHOR_KINDS)[number]; name: string };

/** Names are kept to this length in a run's history. */
export const MAX_AUTHOR_NAME = 200;

export const author = (kind: ChangeAuthor['kind'], name: string): ChangeAuthor => ({ kind, name: name.slice(0, MAX_AUTHOR_NAME) });

/**
 * Progress changes are kept in a run's history at most this often (queued, started and completed always), so a
 * running run's timeline has a point at least every 10 s while it reports progress, and a long run's history
 * stays small (≤ 720 progress points an hour).
 */
export const HISTORY_PROGRESS_EVERY_MS = 5_000;

/** A type's measured baseline over its runs completed in the last 30 days (null: no such run yet). */
export type RunBaseline = {
  runs30d: number;
  /** Share (0…1) of those runs that ended failed. */
  failureRate30d: number | null;
  /** Duration from start to completion of those that started. */
  p50DurationMs: number | null;
  p95DurationMs: number | null;
};

type TimedRun = { status: RunStatus; startedAt: string | null; counts: Pick<RunCounts, 'total' | 'processed'> };

const elapsedMs = (run: TimedRun, nowMs: number): number | null =>
  run.status === 'running' && run.startedAt !== null ? Math.max(0, nowMs - Date.parse(run.startedAt)) : null;

/** A running run that has been running longer than its type's p95: "slower than usual". */
export function isSlowerThanUsual(run: TimedRun, baseline: RunBaseline | undefined, nowMs: number): boolean {
  const elapsed = elapsedMs(run, nowMs);
  return elapsed !== null && baseline?.p95DurationMs != null && elapsed > baseline.p95DurationMs;
}

/**
 * Milliseconds until a running run is likely done: from its own rate once it has processed something of a
 * known total, else from its type's median duration; null when neither tells (or the median has passed).
 */
export function etaMs(run: TimedRun, baseline: RunBaseline | undefined, nowMs: number): number | null {
  const elapsed = elapsedMs(run, nowMs);
  if (elapsed === null) return null;
  const { total, processed } = run.counts;
  if (total > 0 && processed > 0 && elapsed > 0) return Math.max(0, Math.round(((total - processed) * elapsed) / processed));
  const median = baseline?.p50DurationMs;
  return median != null && median > elapsed ? median - elapsed : null;
}
