// A small client for systems that report mirrored runs to Runboard (docs/api.md §9), with no runtime
// dependency: it needs only the global `fetch` and `crypto.randomUUID` (Node ≥ 18, Deno, Bun, browsers). Its
// types come from the HTTP contract (server/http/contract.ts, type-only imports, erased when compiled), so
// they can never drift from what the server sends. See docs/mirrored-runs.md.
import type { RunView, StartAnswer as ContractStartAnswer, StartBody, RunEventBody } from '../server/http/contract.ts';

/** A run as the API returns it (docs/api.md §1). */
export type MirroredRun = RunView;

/**
 * A mirrored operation type (e.g. `demo.external`), its scope, and optionally the tenant member on whose
 * behalf the work runs (anyone else, or nobody, leaves the initiator `null`).
 */
export type StartInput = Omit<StartBody, 'scope'> & { scope?: Record<string, unknown> };

export type StartAnswer = ContractStartAnswer;

type ProgressEvent = Extract<RunEventBody, { kind: 'progress' }>;

/** A failed item: stable snake_case `code`, a message (sanitized by the server), an optional item id. */
export type ReportedFailure = NonNullable<ProgressEvent['failures']>[number];

/** `total` sets the total; `succeeded`, `failed`, `skipped` and `failures` are increments. */
export type ProgressReport = Omit<ProgressEvent, 'kind' | 'eventId'>;

/** Every event carries an `eventId` (a fresh UUID unless given), kept across retries of that one call. */
export type EventOptions = { eventId?: string };

export type RetryOptions = {
  /** Attempts per call, the first included (default 5). */
  attempts?: number;
  /** Delay before the first retry, doubled for each next one, with jitter (default 250 ms). */
  baseDelayMs?: number;
  /** Upper bound of one delay (default 5 s). */
  maxDelayMs?: number;
};

export type RunReporterOptions = {
  /** Where Runboard answers, e.g. `https://runboard.example.com`. */
  baseUrl: string;
  /** The tenant slug the integration token belongs to. */
  tenant: string;
  /** An integration token (`rbi_…`). */
  token: string;
  /** Defaults to the global `fetch`. */
  fetch?: typeof fetch;
  retry?: RetryOptions;
  /** Time limit of one attempt (default 15 s); a timed-out attempt is retried like a network error. */
  timeoutMs?: number;
};

export type RunReporter = {
  /** Creates the run, or returns the active run with the same identity (`reused: true`). */
  start(input: StartInput): Promise<StartAnswer>;
  started(runId: string, options?: EventOptions): Promise<MirroredRun>;
  progress(runId: string, progress: ProgressReport & EventOptions): Promise<MirroredRun>;
  /** `abort: true`: the work could not proceed at all, so the run ends `failed` whatever the counts. */
  completed(runId: string, options?: { abort?: boolean } & EventOptions): Promise<MirroredRun>;
};

/**
 * What the API refused, in the contract's shape (`code`, `message`, `details`), with the HTTP `status`.
 * After retries ran out on a network failure: `status` 0 and `code` `network_error`.
 */
export class RunReportError extends Error {
  override readonly name = 'RunReportError';

  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: { path: string; message: string }[],
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Status codes worth another attempt: the server or something in between failed, not the request. */
const retryable = (status: number) => status >= 500;

export function createRunReporter(options: RunReporterOptions): RunReporter {
  const fetchImpl = options.fetch ?? globalThis.fetch;
  const base = `${options.baseUrl.replace(/\/+$/, '')}/api/tenants/${encodeURIComponent(options.tenant)}`;
  const attempts = Math.max(1, options.retry?.attempts ?? 5);
  const baseDelayMs = options.retry?.baseDelayMs ?? 250;
  const maxDelayMs = options.retry?.maxDelayMs ?? 5_000;
  const timeoutMs = options.timeoutMs ?? 15_000;

  /** POSTs one JSON body, retrying network failures and 5xx with the very same body (so the same eventId). */
  async function post<T>(path: string, body: unknown): Promise<T> {
    const payload = JSON.stringify(body);
    let lastError: RunReportError | undefined;
    for (let attempt = 1; attempt <= attempts; attempt++) {
      if (attempt > 1) await delay(Math.min(maxDelayMs, baseDelayMs * 2 ** (attempt - 2)) * (0.5 + Math.random() / 2));
      let response: Response;
      try {
        response = await fetchImpl(`${base}${path}`, {
          method: 'POST',
          headers: { authorization: `Bearer ${options.token}`, 'content-type': 'application/json', accept: 'application/json' },
          body: payload,
          signal: AbortSignal.timeout(timeoutMs),
        });
      } catch (cause) {
        lastError = new RunReportError(0, 'network_error', `Runboard could not be reached: ${(cause as Error)?.message ?? cause}`, undefined, { cause });
        continue;
      }
      const answer = await readJson(response);
      if (response.ok && answer !== null) return answer as T;
      lastError = errorOf(response.status, answer);
      if (!retryable(response.status)) throw lastError;
    }
    throw lastError!;
  }

  const event = (runId: string, kind: string, fields: Record<string, unknown>, eventId?: string) =>
    post<{ run: MirroredRun }>(`/runs/${encodeURIComponent(runId)}/events`, {
      kind,
      ...definedOnly(fields),
      eventId: eventId ?? globalThis.crypto.randomUUID(),
    }).then((answer) => answer.run);

  return {
    // Safe to retry without an id: while the run is active, the same type and scope return the same run.
    start: ({ type, scope, initiator }) => post<StartAnswer>('/runs', definedOnly({ type, scope: scope ?? {}, initiator })),
    started: (runId, { eventId } = {}) => event(runId, 'started', {}, eventId),
    progress: (runId, { eventId, total, succeeded, failed, skipped, failures }) =>
      event(runId, 'progress', { total, succeeded, failed, skipped, failures }, eventId),
    completed: (runId, { eventId, abort } = {}) => event(runId, 'completed', { abort }, eventId),
  };
}

export type ReportedWork = {
  /** The run as it was when the work began (after `started`). */
  readonly run: MirroredRun;
  /** Reports progress: `total` sets the total; the rest are increments. */
  progress(progress: ProgressReport & EventOptions): Promise<MirroredRun>;
};

/**
 * The whole life in one call: starts the run, reports `started`, runs `work` (which reports progress), and
 * reports `completed`. If `work` throws, the run gets one `workflow_failed` failure carrying the error's
 * message (the server redacts secrets), ends `failed`, and the error is rethrown.
 */
export async function reportRun<T>(
  options: RunReporterOptions & StartInput,
  work: (run: ReportedWork) => Promise<T>,
): Promise<{ run: MirroredRun; result: T }> {
  const { type, scope, initiator, ...connection } = options;
  const reporter = createRunReporter(connection);
  const { run: created } = await reporter.start({ type, scope, initiator });
  const run = await reporter.started(created.id);
  let result: T;
  try {
    result = await work({ run, progress: (progress) => reporter.progress(run.id, progress) });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    await reporter
      .progress(run.id, { failures: [{ code: 'workflow_failed', message: message.slice(0, 2_000) || 'The workflow failed.' }] })
      .then(() => reporter.completed(run.id, { abort: true }))
      .catch(() => undefined); // the original error matters more than a failed report of it
    throw error;
  }
  return { run: await reporter.completed(run.id), result };
}

async function readJson(response: Response): Promise<unknown> {
  const text = await response.text();
  try {
    return text ? JSON.parse(text) : null;
  } catch {
    return null;
  }
}

function errorOf(status: number, answer: unknown): RunReportError {
  const error = (answer as { error?: { code?: unknown; message?: unknown; details?: unknown } } | null)?.error;
  if (error && typeof error.code === 'string' && typeof error.message === 'string') {
    const details = Array.isArray(error.details) ? (error.details as { path: string; message: string }[]) : undefined;
    return new RunReportError(status, error.code, error.message, details);
  }
  return new RunReportError(status, 'unexpected_response', `Runboard answered ${status} without the expected JSON body.`);
}

function definedOnly(fields: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== undefined));
}

const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
