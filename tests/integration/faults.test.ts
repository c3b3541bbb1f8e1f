import { author } from '../../db/runs/model.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queuePrefix } from '../../db/changefeed/channels.ts';
import { createRunsQueue } from '../../db/queue.ts';
import { MAX_RUN_COUNT } from '../../db/runs/model.ts';
import { RunStarter } from '../../db/runs/start.ts';
import { createApp } from '../../server/app.ts';
import { call, login, spawnWorker, startSystem, type ChangefeedRecorder, type RunningApp, type System } from '../helpers/app.ts';
import type { Seeded, TestEnv } from '../helpers/stack.ts';

/** Who makes the changes these tests apply directly (their history's `by`). */
const TEST_AUTHOR = author('system', 'test');

const STALL_TIMEOUT_MS = 3_000;

describe('faults', () => {
  let system: System;
  let env: TestEnv;
  let app: RunningApp;
  let feed: ChangefeedRecorder;
  let acme: Seeded;
  let operator: string;

  beforeAll(async () => {
    // No standing worker: each scenario starts (and kills) its own.
    system = await startSystem({ worker: false, env: { RUN_STALL_TIMEOUT_MS: String(STALL_TIMEOUT_MS) } });
    ({ env, app, feed } = system);
    acme = system.tenants.acme!;
    operator = await login(app.baseUrl, acme.users.operator.email);
  });

  afterAll(async () => {
    await system?.stop();
  });

  const countRuns = async (where: string) => {
    const [row] = await env.services.orm.em.fork().execute<{ n: string }[]>(`select count(*) as n from operation_runs where ${where}`);
    return Number(row?.n);
  };

  it('a start whose enqueue fails ends failed/dispatch_failed at once and answers 503 with the run', async () => {
    // The queue's Redis is unreachable (nothing listens on port 1); everything else is healthy.
    const deadQueue = createRunsQueue('redis://127.0.0.1:1', env.config.redisPrefix, { isWorker: false });
    deadQueue.on('error', () => undefined);
    const starter = new RunStarter(env.services.tenants, env.services.catalog, env.services.lifecycle, deadQueue, env.services.logger);
    const broken = createApp({ ...env.services, starter });
    await new Promise<void>((resolve) => broken.httpServer.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = broken.httpServer.address() as { port: number };
      const answer = await call(`http://127.0.0.1:${port}`, 'POST', '/api/tenants/acme/runs', {
        token: operator,
        body: { type: 'demo.batch', scope: { key: 'dispatch' } },
      });
      expect(answer.status).toBe(503);
      expect(answer.body.error.code).toBe('dispatch_failed');
      expect(answer.body.run).toMatchObject({ status: 'completed', outcome: 'failed', bucket: 'failed' });
      const detail = await call(app.baseUrl, 'GET', `/api/tenants/acme/runs/${answer.body.run.id}`, { token: operator });
      expect(detail.body.run.failures).toEqual([expect.objectContaining({ code: 'dispatch_failed' })]);
      expect(await countRuns(`status <> 'completed'`)).toBe(0);
      // The initiator is told: queued, then failed.
      await feed.until(
        () => feed.users.filter((u) => u.type === 'notification:new' && u.notification.runId === answer.body.run.id).length === 2,
        10_000,
        'dispatch notifications',
      );
    } finally {
      await broken.close();
      await deadQueue.close(1_000).catch(() => undefined);
    }
  });

  it('a worker SIGKILLed mid-run: the run ends failed/worker_lost within the stall bound, keeping its counts', async () => {
    const doomed = await spawnWorker(env);
    const started = await call(app.baseUrl, 'POST', '/api/tenants/acme/runs', {
      token: operator,
      body: { type: 'demo.batch', scope: { items: 200, itemMs: 50, key: 'sigkill' } },
    });
    expect(started.status).toBe(202);
    const runId: string = started.body.run.id;
    await feed.until(
      () => feed.forRun(runId).some((c) => c.kind === 'progress' && c.run.counts.succeeded > 0),
      20_000,
      'first progress',
    );
    await doomed.kill();
    const killedAt = Date.now();
    const survivor = await spawnWorker(env);
    try {
      const completed = await feed.completed(runId, STALL_TIMEOUT_MS + 15_000);
      const detectedAfter = Date.now() - killedAt;
      expect(completed.run).toMatchObject({ status: 'completed', outcome: 'failed' });
      expect(completed.run.counts.succeeded).toBeGreaterThan(0);
      expect(completed.run.counts.processed).toBeLessThan(200);
      const detail = await call(app.baseUrl, 'GET', `/api/tenants/acme/runs/${runId}`, { token: operator });
      expect(detail.body.run.failures.at(-1)).toMatchObject({ code: 'worker_lost' });
      // The bound: stall timeout plus one sweep interval, with slack for a busy machine.
      expect(detectedAfter).toBeLessThan(STALL_TIMEOUT_MS + 10_000);
    } finally {
      await survivor.stop();
    }
  });

  it('queued runs wait for a worker however long it takes; they never time out', async () => {
    const started = await call(app.baseUrl, 'POST', '/api/tenants/acme/runs', {
      token: operator,
      body: { type: 'demo.batch', scope: { items: 1, itemMs: 1, key: 'waits' } },
    });
    const runId: string = started.body.run.id;
    // Longer than the stall timeout with no worker at all: still queued.
    await new Promise((resolve) => setTimeout(resolve, STALL_TIMEOUT_MS + 500));
    const detail = await call(app.baseUrl, 'GET', `/api/tenants/acme/runs/${runId}`, { token: operator });
    expect(detail.body.run.status).toBe('queued');
    const worker = await spawnWorker(env);
    try {
      const completed = await feed.completed(runId);
      expect(completed.run.outcome).toBe('succeeded');
    } finally {
      await worker.stop();
    }
  });

  it('a queued run whose job was lost (Redis without persistence) is dispatched again', async () => {
    const started = await call(app.baseUrl, 'POST', '/api/tenants/acme/runs', {
      token: operator,
      body: { type: 'demo.batch', scope: { items: 1, itemMs: 1, key: 'lost-job' } },
    });
    const runId: string = started.body.run.id;
    // Remove the job behind the queue's back, as a Redis restart without persistence would.
    const prefix = `${queuePrefix(env.config.redisPrefix)}:runs`;
    const redis = env.services.redis;
    expect(await redis.hDel(`${prefix}:jobs`, runId)).toBe(1);
    expect(await redis.lRem(`${prefix}:waiting`, 0, runId)).toBe(1);
    const worker = await spawnWorker(env);
    try {
      const completed = await feed.completed(runId, 30_000);
      expect(completed.run.outcome).toBe('succeeded');
    } finally {
      await worker.stop();
    }
  });

  it('a change that would take a count past the int columns is refused (409 count_limit) and changes nothing', async () => {
    // Found by fuzzing the events API: increments summed past 2^31-1 and failed as a 500.
    const em = env.services.orm.em.fork();
    const [row] = await em.execute<{ id: string }[]>(
      `insert into operation_runs (tenant_id, type, status, outcome, identity_hash, scope, succeeded, processed, total)
       values (?, 'demo.external', 'running', 'pending', md5(random()::text) || md5(random()::text), '{}'::jsonb, ?, ?, ?) returning id`,
      [acme.tenant.id, MAX_RUN_COUNT - 5, MAX_RUN_COUNT - 5, MAX_RUN_COUNT - 5],
    );
    await expect(env.services.lifecycle.progress(row!.id, { succeeded: 10 }, TEST_AUTHOR)).rejects.toMatchObject({ status: 409, code: 'count_limit' });
    const [after] = await em.execute<{ succeeded: number; version: number }[]>(`select succeeded, version from operation_runs where id = ?`, [row!.id]);
    expect(after).toEqual({ succeeded: MAX_RUN_COUNT - 5, version: 1 });
    // Within the limit it still counts.
    expect((await env.services.lifecycle.progress(row!.id, { succeeded: 5 }, TEST_AUTHOR))?.counts.succeeded).toBe(MAX_RUN_COUNT);
  });
});
