// Chaos: webhook deliveries through a worker that dies mid-send and a receiver that is down (docs/api.md §13).
// A worker process is SIGKILLed while its attempt is in flight (the receiver holds the request open): nothing is
// lost — once the claim lapses another worker sends the same event (same id) again: at least once. Then the
// receiver goes down for a while: deliveries back off, nothing is dropped, and every run's events arrive in order
// once it is back. Real worker processes, PostgreSQL, Redis and an HTTP receiver.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { author } from '../../db/runs/model.ts';
import { verifySignature } from '../../db/webhooks/signing.ts';
import { call, login, spawnWorker, startApp, type RunningApp, type WorkerProcess } from '../helpers/app.ts';
import { createTestEnv, seedTenant, type TestEnv } from '../helpers/stack.ts';
import { WebhookReceiver } from '../helpers/webhook-receiver.ts';

const TIMEOUT_MS = 1_000;
const TEST_AUTHOR = author('system', 'chaos');

describe('chaos: webhook deliveries survive a killed worker and a receiver outage', () => {
  let env: TestEnv;
  let app: RunningApp;
  let receiver: WebhookReceiver;
  let owner: string;
  let secret: string;
  const workers: WorkerProcess[] = [];

  const worker = async () => {
    const spawned = await spawnWorker(env);
    workers.push(spawned);
    return spawned;
  };
  const runTo = async (key: string, outcome: 'succeeded' | 'failed') => {
    const started = await call(app.baseUrl, 'POST', '/api/tenants/acme/runs', { token: owner, body: { type: 'demo.external', scope: { key } } });
    expect(started.status).toBe(202);
    const runId = started.body.run.id as string;
    await env.services.lifecycle.markStarted(runId, TEST_AUTHOR);
    await env.services.lifecycle.complete(runId, outcome === 'failed' ? { aborted: true, failures: [{ code: 'chaos', message: 'Chaos.' }] } : { total: 1, succeeded: 1 }, TEST_AUTHOR);
    return runId;
  };

  beforeAll(async () => {
    env = await createTestEnv({
      SOURCE_CREDENTIALS_KEY: Buffer.alloc(32, 9).toString('base64'),
      ALLOW_PRIVATE_TARGETS: 'true',
      WEBHOOK_TIMEOUT_MS: String(TIMEOUT_MS),
      WEBHOOK_RETRY_BASE_MS: '200',
      WEBHOOK_RETRY_FOR_MS: '60000',
    });
    await seedTenant(env.services, 'acme');
    app = await startApp(env);
    receiver = await WebhookReceiver.start();
    owner = await login(app.baseUrl, 'owner@acme.test');
    // demo.external is mirrored: no worker runs it, so the workers here only send webhooks.
    const created = await call(app.baseUrl, 'POST', '/api/tenants/acme/webhooks', { token: owner, body: { url: receiver.url, events: ['run.queued', 'run.completed'] } });
    expect(created.status).toBe(201);
    secret = created.body.secret;
  }, 60_000);

  afterAll(async () => {
    for (const w of workers) await w.kill().catch(() => undefined);
    await receiver?.close();
    await app?.close();
    await env?.cleanup();
  }, 60_000);

  it('an attempt cut short by SIGKILL is sent again by another worker, with the same event id', async () => {
    receiver.answer = (_request, index) => (index === 0 ? 'hang' : { status: 200 });
    const doomed = await worker();
    const runId = await runTo('killed-mid-send', 'succeeded');
    const [first] = await receiver.next(1);
    expect(first!.body.event).toBe('run.queued');
    const killedAt = Date.now();
    await doomed.kill();
    await worker();
    // The lapsed claim (2 × time limit + 1 s) is taken up again; then the run's completion follows.
    const all = await receiver.next(3, 20_000);
    const ofRun = all.filter((r) => r.body.run.id === runId);
    expect(ofRun.map((r) => r.body.event)).toEqual(['run.queued', 'run.queued', 'run.completed']);
    expect(ofRun[1]!.body.id).toBe(ofRun[0]!.body.id);
    expect(ofRun[1]!.at - killedAt).toBeGreaterThanOrEqual(TIMEOUT_MS);
    for (const r of ofRun) expect(verifySignature(String(r.headers['runboard-signature']), r.raw, secret)).toBe(true);
    console.log(`[chaos] re-sent ${ofRun[1]!.at - killedAt} ms after the worker was killed`);
  }, 60_000);

  it('a receiver outage delays deliveries but loses none, and each run keeps its order', async () => {
    const seen = receiver.received.length;
    let up = false;
    receiver.answer = () => (up ? { status: 204 } : { status: 503 });
    const runIds: string[] = [];
    for (let i = 0; i < 5; i++) runIds.push(await runTo(`outage-${i}`, i % 2 === 0 ? 'failed' : 'succeeded'));
    // Down: a few attempts arrive (and fail); none is given up within the retry window.
    await receiver.next(seen + 2, 20_000);
    up = true;
    // Every request from here on is answered 204: a delivery.
    const upFrom = receiver.received.length;
    const deadline = Date.now() + 30_000;
    const delivered = () => new Set(receiver.received.slice(upFrom).map((r) => `${r.body.run.id}:${r.body.event}`));
    while (runIds.some((id) => !delivered().has(`${id}:run.completed`))) {
      expect(Date.now(), 'every run.completed delivered after the outage').toBeLessThan(deadline);
      await receiver.next(receiver.received.length + 1, 30_000);
    }
    for (const id of runIds) {
      const events = receiver.ofRun(id).map((r) => r.body.event);
      // Order per run: every run.queued attempt precedes every run.completed one.
      expect(events.lastIndexOf('run.queued')).toBeLessThan(events.indexOf('run.completed'));
    }
  }, 90_000);
});
