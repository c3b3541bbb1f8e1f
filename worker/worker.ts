import type { Services } from '../db/services.ts';
import { enqueueRun, STALL_INTERVAL_MS } from '../db/queue.ts';
import { driversFor, handlersFor } from './operations/index.ts';
import { Runner } from './runner.ts';
import { SCHEDULE_CHECK_MS, startDailyPurges } from './schedule.ts';

export type Worker = { close(): Promise<void> };

/** How long in-flight handlers get to finish on shutdown before they are aborted. */
const SHUTDOWN_GRACE_MS = 5_000;

/**
 * Consumes the runs queue, sweeps runs whose worker died (`worker_lost`), and starts the daily purge.
 * Any number of workers may run against one PostgreSQL and Redis.
 */
export function startWorker(services: Services): Worker {
  const { config, logger, lifecycle, queue } = services;
  const runner = new Runner(lifecycle, handlersFor(services), {
    stallTimeoutMs: config.stallTimeoutMs,
    logger,
    isMirrored: (type) => services.catalog.get(type)?.mirrored === true,
  });
  // The types this worker runs: every catalog type that is not mirrored (those run elsewhere).
  const workerTypes = services.catalog.all().filter((d) => !d.mirrored).map((d) => d.type);

  const drivers = driversFor(services);
  const shutdown = new AbortController();
  queue.process(config.workerConcurrency, async (job) => {
    const driver = drivers.get(job.data.type);
    if (driver) await driver(job.data.runId, shutdown.signal);
    else await runner.process(job.data.runId, job.data.type);
  });
  // bee-queue only notices jobs of dead workers (re-queueing them) when asked to look.
  void queue.checkStalledJobs(STALL_INTERVAL_MS).catch(() => undefined);

  const sweepEvery = Math.max(250, Math.min(config.stallTimeoutMs / 4, 10_000));
  const sweeper = setInterval(() => {
    lifecycle
      .sweepStalled(config.stallTimeoutMs)
      .then((lost) => lost.length > 0 && logger.warn({ runs: lost.map((r) => r.id) }, 'runs ended worker_lost'))
      .catch((error: Error) => logger.warn({ err: error.message }, 'stall sweep failed'));
  }, sweepEvery);

  // A job can be lost while its run stays queued (Redis restarted without persistence, retries exhausted
  // while PostgreSQL was down). Re-adding the job is a no-op when it still exists (same id), so long-queued
  // runs are simply dispatched again: queued runs wait for a worker, but never for a job that is gone.
  const redispatchAfter = Math.max(1_000, Math.min(config.stallTimeoutMs / 2, 30_000));
  const redispatcher = setInterval(() => {
    lifecycle
      .queuedLongerThan(redispatchAfter, workerTypes)
      .then((runs) => Promise.all(runs.map((run) => enqueueRun(queue, { runId: run.id, type: run.type }))))
      .catch((error: Error) => logger.warn({ err: error.message }, 'redispatch failed'));
  }, redispatchAfter);

  const schedule = () =>
    startDailyPurges(services)
      .then((started) => started > 0 && logger.info({ started }, 'daily purge runs started'))
      .catch((error: Error) => logger.warn({ err: error.message }, 'purge scheduling failed'));
  const scheduler = setInterval(schedule, SCHEDULE_CHECK_MS);
  const firstSchedule = setTimeout(schedule, 10_000);

  return {
    async close() {
      clearInterval(sweeper);
      clearInterval(redispatcher);
      clearInterval(scheduler);
      clearTimeout(firstSchedule);
      const abortLater = setTimeout(() => {
        runner.abortAll();
        shutdown.abort();
      }, SHUTDOWN_GRACE_MS);
      await queue.close(SHUTDOWN_GRACE_MS * 2).catch(() => undefined);
      clearTimeout(abortLater);
    },
  };
}
