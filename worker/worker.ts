import type { Services } from '../db/services.ts';
import { enqueueRun, STALL_INTERVAL_MS } from '../db/queue.ts';
import type { RunLifecycle } from '../db/runs/lifecycle.ts';
import { createWorkerMetrics, serveMetrics, type MetricsEndpoint, type WorkerMetrics } from './metrics.ts';
import { driversFor, handlersFor } from './operations/index.ts';
import { Runner } from './runner.ts';
import { SCHEDULE_CHECK_MS, startDailyPurges } from './schedule.ts';
import { startWebhookSender } from './webhooks.ts';

export type Worker = {
  metrics: WorkerMetrics;
  /** The port metrics are served on once listening (closed with the worker); undefined when WORKER_METRICS_PORT is unset. */
  metricsPort: Promise<number | undefined>;
  /** Resolves once the webhook sender is listening for wake-ups (it sends from the first poll either way). */
  webhooksReady: Promise<void>;
  close(): Promise<void>;
};

/** How long in-flight handlers get to finish on shutdown before they are aborted. */
const SHUTDOWN_GRACE_MS = 5_000;

/**
 * Consumes the runs queue, sweeps runs whose worker died (`worker_lost`), and starts the daily purge.
 * Any number of workers may run against one PostgreSQL and Redis.
 */
export function startWorker(services: Services): Worker {
  const { config, logger, lifecycle, queue } = services;
  // The types this worker runs: every catalog type that is not mirrored (those run elsewhere).
  const workerTypes = services.catalog.all().filter((d) => !d.mirrored).map((d) => d.type);
  const metrics = createWorkerMetrics({ queue, runs: services.runs, queuedTypes: workerTypes });
  const runner = new Runner(lifecycle, handlersFor(services), {
    stallTimeoutMs: config.stallTimeoutMs,
    logger,
    isMirrored: (type) => services.catalog.get(type)?.mirrored === true,
    metrics,
  });

  const drivers = driversFor({ ...services, lifecycle: countingCompletions(lifecycle, metrics) });
  metrics.zero([...workerTypes, ...drivers.keys()]);
  const shutdown = new AbortController();
  queue.process(config.workerConcurrency, async (job) => {
    const driver = drivers.get(job.data.type);
    metrics.jobsInProgress.inc();
    const timed = driver ? metrics.handlerDuration.startTimer({ type: job.data.type }) : undefined;
    try {
      if (driver) await driver(job.data.runId, shutdown.signal);
      else await runner.process(job.data.runId, job.data.type);
    } finally {
      timed?.();
      metrics.jobsInProgress.dec();
    }
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

  // Outgoing webhooks (docs/api.md §13): every worker sends from the shared outbox.
  const webhooks = startWebhookSender(services, {
    observe: (result, format, seconds) => {
      metrics.webhookDeliveries.inc({ result, format });
      metrics.webhookDeliveryDuration.observe(seconds);
    },
    onBacklog: (pending) => metrics.webhookBacklog.set(pending),
  });

  const endpoint: Promise<MetricsEndpoint> | undefined =
    config.workerMetricsPort === undefined
      ? undefined
      : serveMetrics(metrics.registry, { host: config.host, port: config.workerMetricsPort, token: config.metricsToken });
  const metricsPort = endpoint?.then((served) => {
    logger.info({ port: served.port }, `worker metrics on :${served.port}`);
    return served.port;
  });
  // Awaited by the entry point, which exits when the port cannot be had; never an unhandled rejection here.
  metricsPort?.catch(() => undefined);

  return {
    metrics,
    metricsPort: metricsPort ?? Promise.resolve(undefined),
    webhooksReady: webhooks.then(() => undefined),
    async close() {
      clearInterval(sweeper);
      clearInterval(redispatcher);
      clearInterval(scheduler);
      clearTimeout(firstSchedule);
      const abortLater = setTimeout(() => {
        runner.abortAll();
        shutdown.abort();
      }, SHUTDOWN_GRACE_MS);
      await Promise.all([queue.close(SHUTDOWN_GRACE_MS * 2).catch(() => undefined), webhooks.then((sender) => sender.close())]);
      clearTimeout(abortLater);
      // Last, so the drain is still visible to a scrape.
      await endpoint?.then((served) => served.close(), () => undefined);
    },
  };
}

/**
 * The lifecycle as the drivers get it: it counts the runs their `completed` events end (a driver reports through
 * lifecycle events, like a mirroring system, rather than returning an outcome).
 */
function countingCompletions(lifecycle: RunLifecycle, metrics: WorkerMetrics): RunLifecycle {
  const applyEvent: RunLifecycle['applyEvent'] = async (runId, event, by, eventId) => {
    const result = await lifecycle.applyEvent(runId, event, by, eventId);
    if (event.kind === 'completed' && result.outcome === 'applied') {
      metrics.runsProcessed.inc({ type: result.run.type, outcome: result.run.outcome });
    }
    return result;
  };
  return new Proxy(lifecycle, {
    get: (target, key) => {
      if (key === 'applyEvent') return applyEvent;
      const value: unknown = Reflect.get(target, key, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}
