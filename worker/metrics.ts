import { timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type BeeQueue from 'bee-queue';
import { RUNS_QUEUE, type RunJob } from '../db/queue.ts';
import type { RunQueries } from '../db/runs/queries.ts';
import { RUN_OUTCOMES } from '../db/runs/model.ts';
import { withTimeout } from '../db/timeout.ts';

// What a worker measures, served on WORKER_METRICS_PORT (docs/metrics.md lists every metric and its labels).
// Names: `runboard_worker_*` counts this worker's own work (sum it over workers); `runboard_queue_*` is state
// every worker reads from the same Redis and PostgreSQL (take the max, never the sum); process metrics keep the
// server's `runboard_` names, so one query shows servers and workers apart by Prometheus's `job` label.

/** A scrape reads Redis and PostgreSQL; each read gets this long, so a slow store cannot hang the scrape. */
export const COLLECT_TIMEOUT_MS = 2_000;

/** The outcome label of a run whose end this worker could not record (it ended elsewhere, e.g. swept as lost). */
export const NOT_RECORDED = 'not_recorded';

const OUTCOMES = [...RUN_OUTCOMES.filter((outcome) => outcome !== 'pending'), NOT_RECORDED];
const QUEUE_STATES = ['waiting', 'active', 'delayed', 'failed'] as const;

export type MetricSources = {
  queue: Pick<BeeQueue<RunJob>, 'checkHealth'>;
  runs: Pick<RunQueries, 'queuedAges'>;
  /** The types whose queued runs wait for a worker (not mirrored ones: those wait for another system). */
  queuedTypes: string[];
};

/** One registry per worker instance, so tests can run several workers in one process. */
export function createWorkerMetrics(sources: MetricSources, options: { collectTimeoutMs?: number } = {}) {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'runboard_' });
  const registers = [registry];
  const collectTimeoutMs = options.collectTimeoutMs ?? COLLECT_TIMEOUT_MS;

  /** The stores' answers for one scrape; undefined where a store failed or was slower than the bound. */
  type Reading = { health: BeeQueue.HealthCheckResult | undefined; ages: Map<string, number> | undefined };
  const failed = new Set<string>();
  const bounded = <T>(metric: string, check: () => Promise<T>): Promise<T | undefined> =>
    withTimeout(Promise.resolve().then(check), collectTimeoutMs, metric).catch(() => {
      failed.add(metric);
      return undefined;
    });
  // One read per scrape, shared by the gauges it fills and by the failure counter, so a failure is counted in
  // the very scrape that lacks the sample (prom-client collects all metrics of a scrape at once).
  let reading: Promise<Reading> | undefined;
  const read = (): Promise<Reading> =>
    (reading ??= Promise.all([
      bounded('runboard_queue_jobs', () => sources.queue.checkHealth()),
      bounded('runboard_queue_oldest_run_age_seconds', () => sources.runs.queuedAges(sources.queuedTypes)),
    ]).then(([health, ages]) => {
      reading = undefined;
      return { health, ages };
    }));

  new Counter({
    name: 'runboard_worker_collect_failures_total',
    help: 'Scrapes that could not fill a metric (its store failed or was slower than the bound), by metric',
    labelNames: ['metric'] as const,
    registers,
    async collect() {
      await read();
      for (const metric of failed) this.inc({ metric });
      failed.clear();
    },
  });

  const runsStarted = new Counter({
    name: 'runboard_worker_runs_started_total',
    help: 'Runs this worker started (moved from queued to running), by type',
    labelNames: ['type'] as const,
    registers,
  });
  const runsProcessed = new Counter({
    name: 'runboard_worker_runs_processed_total',
    help: 'Runs this worker ended, by type and outcome (not_recorded: the run had already ended elsewhere)',
    labelNames: ['type', 'outcome'] as const,
    registers,
  });
  const handlerDuration = new Histogram({
    name: 'runboard_worker_handler_duration_seconds',
    help: 'Time a handler (or a driver, for work done on behalf of another record) took per job, by type',
    labelNames: ['type'] as const,
    buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600],
    registers,
  });

  return {
    registry,
    runsStarted,
    runsProcessed,
    handlerDuration,
    jobsInProgress: new Gauge({
      name: 'runboard_worker_jobs_in_progress',
      help: 'Jobs this worker is processing now (at most WORKER_CONCURRENCY)',
      registers,
    }),
    queueJobs: new Gauge({
      name: 'runboard_queue_jobs',
      help: 'Jobs in a queue by state, as Redis holds them (the same on every worker)',
      labelNames: ['queue', 'state'] as const,
      registers,
      async collect() {
        const { health } = await read();
        this.reset();
        for (const state of QUEUE_STATES) if (health) this.set({ queue: RUNS_QUEUE, state }, health[state]);
      },
    }),
    queueAge: new Gauge({
      name: 'runboard_queue_oldest_run_age_seconds',
      help: 'Age of the oldest queued run by type, every tenant together (0: none queued; the same on every worker)',
      labelNames: ['type'] as const,
      registers,
      async collect() {
        const { ages } = await read();
        this.reset();
        for (const [type, seconds] of ages ?? []) this.set({ type }, seconds);
      },
    }),
    // Webhook deliveries (docs/api.md §13), counted by the delivery loop that runs on the workers.
    webhookDeliveries: new Counter({
      name: 'runboard_webhook_deliveries_total',
      help: 'Webhook delivery attempts by result (succeeded, retried, failed: given up, refused: target not allowed) and format',
      labelNames: ['result', 'format'] as const,
      registers,
    }),
    webhookDeliveryDuration: new Histogram({
      name: 'runboard_webhook_delivery_duration_seconds',
      help: 'Time of one webhook delivery attempt, from connecting to the response (bounded by WEBHOOK_TIMEOUT_MS)',
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers,
    }),
    webhookBacklog: new Gauge({
      name: 'runboard_webhook_backlog',
      help: 'Webhook deliveries waiting to be attempted (due now or awaiting a retry), as the delivery loop last counted them',
      registers,
    }),
    /** Starts the series of these types at 0, so a type's first run already shows in rate() and increase(). */
    zero(types: Iterable<string>): void {
      for (const type of types) {
        runsStarted.inc({ type }, 0);
        for (const outcome of OUTCOMES) runsProcessed.inc({ type, outcome }, 0);
        handlerDuration.zero({ type });
      }
    },
  };
}

export type WorkerMetrics = ReturnType<typeof createWorkerMetrics>;

export type MetricsEndpoint = { port: number; close(): Promise<void> };

/**
 * Serves `GET /metrics` (Prometheus text) and `GET /healthz` on a plain HTTP server. With a token, `/metrics`
 * needs `Authorization: Bearer <token>`, as on the server (docs/api.md §3). Resolves once listening.
 */
export async function serveMetrics(registry: Registry, options: { host: string; port: number; token: string | undefined }): Promise<MetricsEndpoint> {
  const server = createServer((req, res) => void answer(registry, options.token, req, res));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Idle connections close with the server; a scrape still waiting for its store reads is cut, not awaited.
        server.closeAllConnections();
      }),
  };
}

async function answer(registry: Registry, token: string | undefined, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const path = new URL(req.url ?? '/', 'http://worker').pathname;
  if (req.method !== 'GET' && req.method !== 'HEAD') return json(res, 405, { error: { code: 'method_not_allowed', message: 'Only GET.' } });
  if (path === '/healthz') return json(res, 200, { status: 'ok' });
  if (path !== '/metrics') return json(res, 404, { error: { code: 'not_found', message: 'No such endpoint.' } });
  if (token && !sameSecret(req.headers.authorization ?? '', `Bearer ${token}`)) {
    return json(res, 401, { error: { code: 'unauthorized', message: 'Metrics need the metrics token.' } });
  }
  try {
    const text = await registry.metrics();
    res.writeHead(200, { 'content-type': registry.contentType, 'cache-control': 'no-store' }).end(req.method === 'HEAD' ? undefined : text);
  } catch {
    json(res, 500, { error: { code: 'internal_error', message: 'Something went wrong on our side.' } });
  }
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' }).end(JSON.stringify(body));
}

/** Constant-time comparison (the length is not secret: a token has a fixed form). */
function sameSecret(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}
