// Reporting mirrored runs (docs/api.md §9) with an integration token: start the run, then its `started`,
// `progress` and `completed` events, each with an `eventId` that its retries keep, so a retry is never applied twice.
import type { ReportRunEventBody, RunView, StartAnswer, StartRunBody } from './api-types.js';
import type { Send } from './transport.js';

/** A mirrored type (e.g. `demo.external`), its scope, and optionally the member on whose behalf the work runs. */
export type StartInput = StartRunBody;

type ProgressEvent = Extract<ReportRunEventBody, { kind: 'progress' }>;

/** A failed item: stable snake_case `code`, a message (sanitized by the server), an optional item id. */
export type ReportedFailure = NonNullable<ProgressEvent['failures']>[number];

/** `total` sets the total; `succeeded`, `failed`, `skipped` and `failures` are increments. */
export type ProgressReport = Omit<ProgressEvent, 'kind' | 'eventId'>;

/** Every event carries an `eventId`: a fresh UUID unless given, kept across the retries of that one call. */
export type EventOptions = { eventId?: string };

export type RunReporter = {
  /** Creates the run, or returns the active run with the same identity (`reused: true`). */
  start(input: StartInput): Promise<StartAnswer>;
  started(runId: string, options?: EventOptions): Promise<RunView>;
  progress(runId: string, progress: ProgressReport & EventOptions): Promise<RunView>;
  /** `abort: true`: the work could not proceed at all, so the run ends `failed` whatever the counts. */
  completed(runId: string, options?: { abort?: boolean } & EventOptions): Promise<RunView>;
};

/** The most failures one event may carry (docs/api.md §9). */
const FAILURES_PER_EVENT = 1_000;
/** Room for the failures of one event: request bodies are at most 64 KB (docs/api.md §3), less the event's own fields. */
const FAILURE_BYTES_PER_EVENT = 63 * 1024;
/** The longest failure message the API accepts (docs/api.md §9). */
const FAILURE_MESSAGE_MAX = 2_000;

export function createReporter(send: Send, tenant: string): RunReporter {
  const event = (runId: string, body: ReportRunEventBody) =>
    send('reportRunEvent', {
      params: { tenant, id: runId },
      body: { ...definedOnly(body), eventId: body.eventId ?? globalThis.crypto.randomUUID() } as ReportRunEventBody,
    }).then((answer) => answer.run);

  return {
    // Safe to retry without an id: while the run is active, the same type and scope return the same run.
    start: (input) => send('startRun', { params: { tenant }, body: definedOnly(input) }),
    started: (runId, { eventId } = {}) => event(runId, { kind: 'started', eventId }),
    progress: (runId, { eventId, total, succeeded, failed, skipped, failures }) =>
      event(runId, { kind: 'progress', eventId, total, succeeded, failed, skipped, failures }),
    completed: (runId, { eventId, abort } = {}) => event(runId, { kind: 'completed', eventId, abort }),
  };
}

export type ReportedWork = {
  /** The run as it was when the work began (after `started`). */
  readonly run: RunView;
  /** Reports progress (`total` sets the total; the rest are increments), with the failures `fail` kept so far. */
  progress(progress: ProgressReport & EventOptions): Promise<RunView>;
  /**
   * One failed item: counted in `failed` and kept until the next `progress` (or the end) carries it, so a loop
   * over many items does not send an event per failure. What is kept is sent first whenever one more would not
   * fit in one event (1,000 failures, 64 KB).
   */
  fail(failure: ReportedFailure): Promise<void>;
};

/**
 * The whole life in one call: starts the run, reports `started`, runs `work` (which reports progress), sends the
 * failures still kept, and reports `completed`. If `work` throws, the run gets one `workflow_failed` failure
 * carrying the error's message (the server redacts secrets), ends `failed`, and the error is rethrown.
 */
export async function reportRun<T>(
  reporter: RunReporter,
  input: StartInput,
  work: (run: ReportedWork) => Promise<T>,
): Promise<{ run: RunView; result: T }> {
  const { run: created } = await reporter.start(input);
  const run = await reporter.started(created.id);
  // Failures `fail` kept, never more than one event may carry: each would-be overflow sends them first.
  const encoder = new TextEncoder();
  const sizeOf = (failures: ReportedFailure[]) => failures.reduce((bytes, failure) => bytes + encoder.encode(JSON.stringify(failure)).length + 1, 0);
  let kept: ReportedFailure[] = [];
  let keptBytes = 0;
  const fits = (count: number, bytes: number) => count <= FAILURES_PER_EVENT && bytes <= FAILURE_BYTES_PER_EVENT;
  const takeKept = () => {
    const failures = kept;
    kept = [];
    keptBytes = 0;
    return failures;
  };
  const flush = async () => {
    if (kept.length === 0) return;
    const failures = takeKept();
    await reporter.progress(run.id, { failed: failures.length, failures });
  };
  const progress = async (report: ProgressReport & EventOptions): Promise<RunView> => {
    const own = report.failures ?? [];
    if (kept.length === 0 || !fits(own.length + kept.length, sizeOf(own) + keptBytes)) {
      await flush();
      return reporter.progress(run.id, report);
    }
    const failures = takeKept();
    return reporter.progress(run.id, { ...report, failed: (report.failed ?? 0) + failures.length, failures: [...own, ...failures] });
  };
  const fail = async (failure: ReportedFailure) => {
    const bytes = sizeOf([failure]);
    if (!fits(kept.length + 1, keptBytes + bytes)) await flush();
    kept.push(failure);
    keptBytes += bytes;
  };

  let result: T;
  try {
    result = await work({ run, progress, fail });
  } catch (error) {
    const message = (error instanceof Error ? error.message : String(error)).slice(0, FAILURE_MESSAGE_MAX) || 'The workflow failed.';
    await flush()
      .then(() => reporter.progress(run.id, { failures: [{ code: 'workflow_failed', message }] }))
      .then(() => reporter.completed(run.id, { abort: true }))
      .catch(() => undefined); // the original error matters more than a failed report of it
    throw error;
  }
  await flush();
  return { run: await reporter.completed(run.id), result };
}

function definedOnly<T extends object>(fields: T): T {
  return Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== undefined)) as T;
}
