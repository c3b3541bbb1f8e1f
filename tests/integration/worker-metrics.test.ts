import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../db/config.ts';
import { createLogger } from '../../db/logger.ts';
import { createOrm } from '../../db/orm.ts';
import { author } from '../../db/runs/model.ts';
import { createServices } from '../../db/services.ts';
import { createWorkerMetrics } from '../../worker/metrics.ts';
import { startWorker } from '../../worker/worker.ts';
import { call, ChangefeedRecorder, login, startApp, type RunningApp } from '../helpers/app.ts';
import { metricValue, spawnWorkerProcess, stopAll, type ServiceProcess } from '../helpers/processes.ts';
import { createTestEnv, seedTenant, type Seeded, type TestEnv } from '../helpers/stack.ts';

// Worker metrics (docs/metrics.md) from a real worker process on WORKER_METRICS_PORT=0: the port it logs, the
// counters and histograms its runs move, the queue gauges a scrape reads, the metrics token, and the close.

const TOKEN = 'worker-metrics-token-0123456789';
const TEST_AUTHOR = author('system', 'test');

type Scrape = { status: number; text: string };

async function scrape(port: number, headers: Record<string, string> = {}, path = '/metrics'): Promise<Scrape> {
  const response = await fetch(`http://127.0.0.1:${port}${path}`, { headers, signal: AbortSignal.timeout(10_000) });
  return { status: response.status, text: await response.text() };
}

/** The port from the worker's "worker metrics on :PORT" line (pino JSON). */
async function metricsPort(worker: ServiceProcess): Promise<number> {
  const line = await worker.waitForLine(/worker metrics on :\d+/);
  const port = (JSON.parse(line) as { port?: unknown }).port;
  expect(line).toContain(`worker metrics on :${String(port)}`);
  expect(port).toEqual(expect.any(Number));
  return port as number;
}

/**
 * Scrapes until `check` holds. A worker moves its counters just after the change it publishes, and nothing
 * announces a counter, so the scrape is repeated (bounded) rather than taken once after the event.
 */
async function scrapeUntil(port: number, check: (text: string) => boolean, what: string, timeoutMs = 10_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { status, text } = await scrape(port);
    expect(status).toBe(200);
    if (check(text)) return text;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; last scrape:\n${text.split('\n').filter((l) => l.startsWith('runboard_worker') || l.startsWith('runboard_queue')).join('\n')}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('worker metrics on WORKER_METRICS_PORT', () => {
  let env: TestEnv;
  let app: RunningApp;
  let feed: ChangefeedRecorder;
  let acme: Seeded;
  let operator: string;
  let worker: ServiceProcess | undefined;
  let tokenWorker: ServiceProcess | undefined;
  let port: number;

  beforeAll(async () => {
    env = await createTestEnv();
    acme = await seedTenant(env.services, 'acme');
    app = await startApp(env);
    feed = await ChangefeedRecorder.start(env);
    operator = await login(app.baseUrl, acme.users.operator.email);
    worker = await spawnWorkerProcess(env, { WORKER_METRICS_PORT: '0' });
    port = await metricsPort(worker);
  });

  afterAll(async () => {
    await stopAll([worker, tokenWorker]);
    await feed?.close();
    await app?.close();
    await env?.cleanup();
  });

  const start = async (scope: Record<string, unknown>): Promise<string> => {
    const started = await call(app.baseUrl, 'POST', '/api/tenants/acme/runs', { token: operator, body: { type: 'demo.batch', scope } });
    expect(started.status, JSON.stringify(started.body)).toBe(202);
    return started.body.run.id as string;
  };

  it('logs the port it chose before it says it started, and answers /healthz', async () => {
    const lines = worker!.lines;
    const metricsLine = lines.findIndex((line) => /worker metrics on :/.test(line));
    expect(metricsLine).toBeGreaterThanOrEqual(0);
    expect(metricsLine).toBeLessThan(lines.findIndex((line) => /worker started/.test(line)));
    expect(port).toBeGreaterThan(0);
    expect(await scrape(port, {}, '/healthz')).toEqual({ status: 200, text: '{"status":"ok"}' });
    expect((await scrape(port, {}, '/nothing')).status).toBe(404);
  });

  it('starts every type of the worker at zero and serves process metrics under the server\'s names', async () => {
    const { status, text } = await scrape(port);
    expect(status).toBe(200);
    for (const type of ['demo.batch', 'inventory.sync', 'runs.purge']) {
      expect(text).toContain(`runboard_worker_runs_started_total{type="${type}"} 0`);
      expect(text).toContain(`runboard_worker_runs_processed_total{type="${type}",outcome="succeeded"} 0`);
      expect(text).toContain(`runboard_worker_handler_duration_seconds_count{type="${type}"} 0`);
    }
    // restore.execute is driven by the workers (docs/api.md §10), though its runs are started by a request.
    expect(text).toContain('runboard_worker_runs_processed_total{type="restore.execute",outcome="failed"} 0');
    expect(text).toMatch(/^runboard_process_cpu_seconds_total \d/m);
    expect(text).toMatch(/^runboard_nodejs_eventloop_lag_p99_seconds \d/m);
    expect(text).toContain('# TYPE runboard_webhook_deliveries_total counter');
    expect(text).toContain('# TYPE runboard_webhook_delivery_duration_seconds histogram');
    expect(text).toContain('# TYPE runboard_webhook_backlog gauge');
  });

  it('counts runs started and processed by type and outcome, with their handler durations', async () => {
    const runs = [
      { scope: { items: 3, itemMs: 0, key: 'ok' }, outcome: 'succeeded' },
      { scope: { items: 4, itemMs: 0, failEvery: 2, key: 'partial' }, outcome: 'partially_succeeded' },
      { scope: { items: 2, abort: true, key: 'aborted' }, outcome: 'failed' },
      { scope: { items: 2, itemMs: 0, failEvery: 1, key: 'all-failed' }, outcome: 'failed' },
    ];
    const ids = await Promise.all(runs.map((run) => start(run.scope)));
    const ended = await Promise.all(ids.map((id) => feed.completed(id)));
    expect(ended.map((change) => change.run.outcome)).toEqual(runs.map((run) => run.outcome));

    const text = await scrapeUntil(
      port,
      (t) => metricValue(t, 'runboard_worker_runs_processed_total', 'type="demo.batch",outcome="failed"') === 2,
      'the processed counters',
    );
    const processed = (outcome: string) => metricValue(text, 'runboard_worker_runs_processed_total', `type="demo.batch",outcome="${outcome}"`);
    expect({ succeeded: processed('succeeded'), partial: processed('partially_succeeded'), failed: processed('failed'), lost: processed('not_recorded') }).toEqual({
      succeeded: 1,
      partial: 1,
      failed: 2,
      lost: 0,
    });
    expect(metricValue(text, 'runboard_worker_runs_started_total', 'type="demo.batch"')).toBe(4);
    expect(metricValue(text, 'runboard_worker_handler_duration_seconds_count', 'type="demo.batch"')).toBe(4);
    expect(metricValue(text, 'runboard_worker_handler_duration_seconds_bucket', 'le="+Inf",type="demo.batch"')).toBe(4);
    expect(metricValue(text, 'runboard_worker_handler_duration_seconds_sum', 'type="demo.batch"')).toBeGreaterThan(0);
    // Other types did not move.
    expect(metricValue(text, 'runboard_worker_runs_started_total', 'type="inventory.sync"')).toBe(0);
    expect(metricValue(text, 'runboard_worker_runs_processed_total', 'type="inventory.sync",outcome="failed"')).toBe(0);
    expect(metricValue(text, 'runboard_worker_jobs_in_progress')).toBe(0);
  });

  it('shows a job being processed as active in the queue and in progress on the worker', async () => {
    const id = await start({ items: 1, itemMs: 3_000, key: 'slow' });
    await feed.until(() => feed.forRun(id).some((change) => change.kind === 'started'), 20_000, 'the slow run to start');
    const { text } = await scrape(port);
    expect(metricValue(text, 'runboard_queue_jobs', 'queue="runs",state="active"')).toBe(1);
    expect(metricValue(text, 'runboard_worker_jobs_in_progress')).toBe(1);
    for (const state of ['waiting', 'delayed', 'failed']) expect(text).toMatch(new RegExp(`^runboard_queue_jobs\\{queue="runs",state="${state}"\\} \\d+$`, 'm'));
    await feed.completed(id);
    const after = await scrapeUntil(port, (t) => metricValue(t, 'runboard_worker_jobs_in_progress') === 0, 'the job to leave');
    expect(metricValue(after, 'runboard_queue_jobs', 'queue="runs",state="active"')).toBe(0);
    expect(metricValue(after, 'runboard_worker_collect_failures_total', 'metric="runboard_queue_jobs"')).toBe(0);
  });

  it('reports the age of the oldest queued run by type, from PostgreSQL, and 0 once none is queued', async () => {
    const before = (await scrape(port)).text;
    expect(before).toMatch(/^runboard_queue_oldest_run_age_seconds\{type="demo.batch"\} 0$/m);
    expect(before).toMatch(/^runboard_queue_oldest_run_age_seconds\{type="inventory.sync"\} 0$/m);
    // Created without a job (as if its job were lost), the run waits: nothing enqueues it for 30 s (redispatch).
    const services = env.services;
    const { run } = await services.lifecycle.start({
      tenant: acme.tenant,
      declaration: services.catalog.get('demo.batch')!,
      scope: { items: 1, itemMs: 0, failCode: 'item_failed', key: 'waiting' },
      initiatorId: null,
      by: TEST_AUTHOR,
    });
    const created = Date.now();
    const { text } = await scrape(port);
    const age = metricValue(text, 'runboard_queue_oldest_run_age_seconds', 'type="demo.batch"');
    expect(age).toBeGreaterThan(0);
    expect(age).toBeLessThan((Date.now() - created) / 1000 + 5);
    expect(metricValue(text, 'runboard_queue_oldest_run_age_seconds', 'type="inventory.sync"')).toBe(0);

    await services.lifecycle.fail(run.id, { code: 'test_ended', message: 'Ended by the test.' }, TEST_AUTHOR, ['queued']);
    const after = (await scrape(port)).text;
    expect(after).toMatch(/^runboard_queue_oldest_run_age_seconds\{type="demo.batch"\} 0$/m);
  });

  it('stops cleanly on SIGTERM, its metrics endpoint with it', async () => {
    expect(await worker!.stop()).toBe(0);
    await expect(scrape(port)).rejects.toThrow();
    worker = undefined;
  });

  it("closes the metrics endpoint in the worker's close()", async () => {
    const orm = await createOrm({ databaseUrl: env.env.DATABASE_URL!, poolMax: 4 });
    const services = await createServices(loadConfig({ ...env.env, WORKER_METRICS_PORT: '0' }), orm, createLogger('silent'), { isWorker: true });
    try {
      const inProcess = startWorker(services);
      const served = await inProcess.metricsPort;
      expect(served).toEqual(expect.any(Number));
      // fetch keeps its connection alive: close() must not wait for it to idle out.
      expect((await scrape(served!)).status).toBe(200);
      const began = Date.now();
      await inProcess.close();
      expect(Date.now() - began).toBeLessThan(4_000);
      await expect(scrape(served!)).rejects.toThrow();
    } finally {
      await services.close();
      await orm.close();
    }
  });

  it('serves nothing when WORKER_METRICS_PORT is unset, and still counts', async () => {
    const orm = await createOrm({ databaseUrl: env.env.DATABASE_URL!, poolMax: 4 });
    const services = await createServices(env.config, orm, createLogger('silent'), { isWorker: true });
    try {
      expect(env.config.workerMetricsPort).toBeUndefined();
      const inProcess = startWorker(services);
      expect(await inProcess.metricsPort).toBeUndefined();
      expect(await inProcess.metrics.registry.metrics()).toContain('runboard_worker_runs_started_total{type="demo.batch"} 0');
      await inProcess.close();
    } finally {
      await services.close();
      await orm.close();
    }
  });

  it('requires METRICS_TOKEN as a bearer token when it is set, as the server does', async () => {
    tokenWorker = await spawnWorkerProcess(env, { WORKER_METRICS_PORT: '0', METRICS_TOKEN: TOKEN });
    const tokenPort = await metricsPort(tokenWorker);
    const refused = await scrape(tokenPort);
    expect(refused.status).toBe(401);
    expect(JSON.parse(refused.text)).toEqual({ error: { code: 'unauthorized', message: 'Metrics need the metrics token.' } });
    expect(refused.text).not.toContain('runboard_');
    expect((await scrape(tokenPort, { authorization: `Bearer ${TOKEN}x` })).status).toBe(401);
    expect((await scrape(tokenPort, { authorization: TOKEN })).status).toBe(401);
    const allowed = await scrape(tokenPort, { authorization: `Bearer ${TOKEN}` });
    expect(allowed.status).toBe(200);
    expect(allowed.text).toContain('runboard_worker_runs_processed_total');
    // Liveness stays open, like the server's /healthz.
    expect((await scrape(tokenPort, {}, '/healthz')).status).toBe(200);
  });
});

describe('a scrape while the stores do not answer', () => {
  it('is bounded: the queue gauges have no sample and the failure is counted', async () => {
    const metrics = createWorkerMetrics(
      {
        queue: { checkHealth: () => new Promise(() => undefined) },
        runs: { queuedAges: () => Promise.reject(new Error('connection terminated')) },
        queuedTypes: ['demo.batch'],
      },
      { collectTimeoutMs: 200 },
    );
    const began = Date.now();
    const text = await metrics.registry.metrics();
    expect(Date.now() - began).toBeLessThan(2_000);
    expect(text).not.toMatch(/^runboard_queue_jobs\{/m);
    expect(text).not.toMatch(/^runboard_queue_oldest_run_age_seconds\{/m);
    expect(metricValue(text, 'runboard_worker_collect_failures_total', 'metric="runboard_queue_jobs"')).toBe(1);
    expect(metricValue(text, 'runboard_worker_collect_failures_total', 'metric="runboard_queue_oldest_run_age_seconds"')).toBe(1);
  });

  it('fills the gauges from the stores when they answer', async () => {
    const metrics = createWorkerMetrics({
      queue: { checkHealth: () => Promise.resolve({ waiting: 7, active: 2, succeeded: 0, failed: 1, delayed: 3 }) },
      runs: { queuedAges: (types) => Promise.resolve(new Map(types.map((type) => [type, 42.5]))) },
      queuedTypes: ['demo.batch'],
    });
    const text = await metrics.registry.metrics();
    expect(metricValue(text, 'runboard_queue_jobs', 'queue="runs",state="waiting"')).toBe(7);
    expect(metricValue(text, 'runboard_queue_jobs', 'queue="runs",state="active"')).toBe(2);
    expect(metricValue(text, 'runboard_queue_jobs', 'queue="runs",state="delayed"')).toBe(3);
    expect(metricValue(text, 'runboard_queue_jobs', 'queue="runs",state="failed"')).toBe(1);
    expect(metricValue(text, 'runboard_queue_oldest_run_age_seconds', 'type="demo.batch"')).toBe(42.5);
    expect(text).not.toMatch(/^runboard_worker_collect_failures_total\{/m);
  });
});
