import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../db/logger.ts';
import type { CompleteInput, ProgressDelta, RunLifecycle } from '../db/runs/lifecycle.ts';
import { author, MAX_STORED_FAILURES } from '../db/runs/model.ts';
import type { RunView } from '../db/runs/view.ts';
import { sanitizeError } from '../db/sanitize/sanitizer.ts';
import { isDatabaseUnavailable } from '../db/errors.ts';
import { NOT_RECORDED, type WorkerMetrics } from './metrics.ts';

/** This worker process in a run's history: its host and process id. */
export const WORKER_AUTHOR = author('worker', `${hostname()} (pid ${process.pid})`);

export type FailureInput = { code: string; message?: string; item?: string };

/** What a handler sees: its run and scope, and ways to report items. Persistence is the runner's job. */
export type RunContext<Scope = Record<string, unknown>> = {
  run: RunView;
  /** The run's tenant (its id for queries, its slug for links). */
  tenant: { id: string; slug: string };
  scope: Scope;
  /** Aborted when the worker is shutting down; long handlers should stop early. */
  signal: AbortSignal;
  setTotal(total: number): void;
  succeeded(count?: number): void;
  failed(failure: FailureInput): void;
  skipped(count?: number): void;
  /** The run cannot proceed at all: it ends `failed` whatever succeeded so far. */
  abort(failure: FailureInput): void;
};

export type OperationHandler<Scope = Record<string, unknown>> = (ctx: RunContext<Scope>) => Promise<void>;

/** Progress is persisted at most this often per run (the terminal write is always immediate). */
export const PROGRESS_FLUSH_MS = 250;
/** Back-off between attempts of a terminal write while the database is unreachable (≈ 8 s in all). */
const COMPLETE_RETRIES = [250, 500, 1_000, 2_000, 4_000];

/**
 * Wraps every handler: marks the run started, accumulates item results in memory and persists them
 * coalesced (≤ 4 writes/s per run), heartbeats while the handler is quiet, and completes the run with the
 * outcome rule. A thrown error becomes one sanitized failure and the outcome `failed`.
 */
export class Runner {
  readonly #active = new Map<string, AbortController>();

  constructor(
    private readonly lifecycle: RunLifecycle,
    private readonly handlers: ReadonlyMap<string, OperationHandler>,
    private readonly deps: {
      stallTimeoutMs: number;
      logger: Logger;
      isMirrored?: (type: string) => boolean;
      metrics?: Pick<WorkerMetrics, 'runsStarted' | 'runsProcessed' | 'handlerDuration'>;
    },
  ) {}

  /** Aborts every in-flight handler (worker shutdown). */
  abortAll(): void {
    for (const controller of this.#active.values()) controller.abort();
  }

  async process(runId: string, type?: string): Promise<void> {
    // A mirrored run is reported by the system that does the work; a job for one is never ours to start.
    if (type !== undefined && this.deps.isMirrored?.(type)) return;
    const started = await this.lifecycle.markStarted(runId, WORKER_AUTHOR);
    // Not queued any more: a redelivered job of a run that is running elsewhere or already ended.
    if (!started) return;
    const { run, tenant } = started;
    const metrics = this.deps.metrics;
    metrics?.runsStarted.inc({ type: run.type });
    const handler = this.handlers.get(run.type);
    const controller = new AbortController();
    this.#active.set(runId, controller);
    const pending = new PendingProgress();
    let aborted: FailureInput | null = null;
    let flushing: Promise<void> = Promise.resolve();
    const flush = () => {
      // A failed write does not stop later ones; if the database was unreachable, its counts are kept for the
      // next write (or the completion) instead of being lost.
      flushing = flushing.catch(() => undefined).then(async () => {
        const delta = pending.take();
        if (!delta) return;
        try {
          await this.lifecycle.progress(runId, delta, WORKER_AUTHOR);
        } catch (error) {
          if (isDatabaseUnavailable(error)) pending.restore(delta);
          throw error;
        }
      });
      return flushing;
    };
    const timer = setInterval(() => {
      void flush().catch((error: Error) => this.deps.logger.warn({ runId, err: error.message }, 'progress write failed'));
    }, PROGRESS_FLUSH_MS);
    const heartbeat = setInterval(() => {
      void this.lifecycle.heartbeat([runId]).catch(() => undefined);
    }, Math.max(500, Math.min(this.deps.stallTimeoutMs / 4, 5_000)));
    const completion: CompleteInput = {};
    const timed = metrics?.handlerDuration.startTimer({ type: run.type });
    try {
      if (!handler) throw Object.assign(new Error(`No handler for operation type ${run.type}.`), { code: 'unknown_operation' });
      await handler({
        run,
        tenant,
        scope: run.scope,
        signal: controller.signal,
        setTotal: (total) => pending.setTotal(total),
        succeeded: (count = 1) => pending.add('succeeded', count),
        skipped: (count = 1) => pending.add('skipped', count),
        failed: (failure) => pending.failItem(failure),
        abort: (failure) => {
          aborted = failure;
        },
      });
      if (aborted) {
        completion.aborted = true;
        pending.note(aborted);
      }
    } catch (error) {
      completion.aborted = true;
      pending.note(controller.signal.aborted
        ? { code: 'worker_shutdown', message: 'The worker stopped before this run finished.' }
        : sanitizeError(error));
    } finally {
      timed?.();
      clearInterval(timer);
      this.#active.delete(runId);
    }
    let outcome: string = NOT_RECORDED;
    try {
      await flushing.catch(() => undefined);
      const final = { ...pending.take(), ...completion };
      // The outcome of work that was done must not be lost to a dropped connection (the run would end
      // worker_lost): the terminal write is retried while the database is unreachable. Retrying is safe: once
      // it has applied, the run is no longer running and a repeat changes nothing.
      for (let attempt = 0; ; attempt++) {
        try {
          const ended = await this.lifecycle.complete(runId, final, WORKER_AUTHOR, ['running']);
          // null: the run was no longer running (the lost-worker sweep ended it meanwhile).
          if (ended) outcome = ended.outcome;
          return;
        } catch (error) {
          if (!isDatabaseUnavailable(error) || attempt >= COMPLETE_RETRIES.length) throw error;
          this.deps.logger.warn({ runId, err: (error as Error).message }, 'completion write failed; retrying');
          await sleep(COMPLETE_RETRIES[attempt]);
        }
      }
    } finally {
      // Heartbeats continue until the run is completed, so the sweeper does not take it for lost meanwhile.
      clearInterval(heartbeat);
      metrics?.runsProcessed.inc({ type: run.type, outcome });
    }
  }
}

/** Item results not yet persisted: increments since the last write. Buffered failures are capped. */
class PendingProgress {
  #delta = PendingProgress.empty();
  #dirty = false;

  static empty(): ProgressDelta & { succeeded: number; failed: number; skipped: number; failures: FailureInput[]; failureCount: number; unlisted: Record<string, number> } {
    return { succeeded: 0, failed: 0, skipped: 0, failures: [], failureCount: 0, unlisted: {} };
  }

  setTotal(total: number): void {
    this.#delta.total = total;
    this.#dirty = true;
  }

  add(key: 'succeeded' | 'skipped', count: number): void {
    this.#delta[key] += count;
    this.#dirty = true;
  }

  /** One item failed. */
  failItem(failure: FailureInput): void {
    this.#delta.failed += 1;
    this.note(failure);
  }

  /** A failure of the run itself (abort, error): recorded, but no item is counted. */
  note(failure: FailureInput): void {
    if (this.#delta.failures.length < MAX_STORED_FAILURES) this.#delta.failures.push(failure);
    // Beyond the buffer only its code is kept, counted, so the run's failure reasons still add up.
    else this.#delta.unlisted[failure.code] = (this.#delta.unlisted[failure.code] ?? 0) + 1;
    this.#delta.failureCount += 1;
    this.#dirty = true;
  }

  /** Puts back a delta whose write failed, ahead of what was reported since (counts add up; a newer total wins). */
  restore(delta: ReturnType<typeof PendingProgress.empty>): void {
    const newer = this.#delta;
    this.#delta = {
      total: newer.total ?? delta.total,
      succeeded: delta.succeeded + newer.succeeded,
      failed: delta.failed + newer.failed,
      skipped: delta.skipped + newer.skipped,
      failures: [...delta.failures, ...newer.failures].slice(0, MAX_STORED_FAILURES),
      failureCount: delta.failureCount + newer.failureCount,
      unlisted: mergeCounts(delta.unlisted, newer.unlisted),
    };
    // Failures that no longer fit the merged list are kept as counts of their codes.
    for (const dropped of [...delta.failures, ...newer.failures].slice(MAX_STORED_FAILURES)) {
      this.#delta.unlisted[dropped.code] = (this.#delta.unlisted[dropped.code] ?? 0) + 1;
    }
    if (this.#delta.total === undefined) delete this.#delta.total;
    this.#dirty = true;
  }

  take(): ReturnType<typeof PendingProgress.empty> | null {
    if (!this.#dirty) return null;
    const delta = this.#delta;
    this.#delta = PendingProgress.empty();
    this.#dirty = false;
    return delta;
  }
}

function mergeCounts(a: Record<string, number>, b: Record<string, number>): Record<string, number> {
  const merged = { ...a };
  for (const [code, count] of Object.entries(b)) merged[code] = (merged[code] ?? 0) + count;
  return merged;
}
