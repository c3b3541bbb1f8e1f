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

export function bucketOf(status: RunStatus, outcome: RunOutcome): RunBucket {
  if (status === 'queued') return 'queued';
  if (status === 'running') return 'running';
  return outcome === 'pending' ? 'failed' : outcome;
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
