import { createHmac, timingSafeEqual } from 'node:crypto';
import { lookup } from 'node:dns/promises';
import { hostname } from 'node:os';
import { sql } from 'kysely';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
vi.mock('../helpers/openapi.ts', () => ({ checkResponse: () => undefined }));
import { loadConfig } from '../../db/config.ts';
import { queries } from '../../db/database.ts';
import { refusedAddressReason } from '../../db/outbound/targets.ts';
import { author } from '../../db/runs/model.ts';
import { WebhookDeliverer } from '../../db/webhooks/delivery.ts';
import { retryDelayMs } from '../../db/webhooks/model.ts';
import { WebhookService } from '../../db/webhooks/service.ts';
import { WebhookStore } from '../../db/webhooks/store.ts';
import { verifySignature } from '../../db/webhooks/signing.ts';
import type { WebhookCreated, WebhookPayload } from '../../server/http/contract.ts';
import { startWebhookSender, type WebhookSender } from '../../worker/webhooks.ts';
import { call, login, startSystem, type System } from '../helpers/app.ts';
import { expectContractError } from '../helpers/hostile.ts';
import { WebhookReceiver, type Received } from '../helpers/webhook-receiver.ts';

// Outgoing webhooks (docs/api.md §13) end to end: real PostgreSQL, Redis, HTTP server and a real receiver on a
// loopback port. Runs are started over HTTP and moved by the lifecycle directly, so each test decides outcomes.

const KEY = Buffer.alloc(32, 7).toString('base64');
const TEST_AUTHOR = author('system', 'test');

describe('outgoing webhooks', () => {
  let system: System;
  let baseUrl: string;
  let owner: string;
  let globexOwner: string;
  let sender: WebhookSender;
  const receivers: WebhookReceiver[] = [];
  const created: { tenant: string; id: string }[] = [];

  const receiver = async () => {
    const r = await WebhookReceiver.start();
    receivers.push(r);
    return r;
  };
  const createWebhook = async (body: Record<string, unknown>, tenant = 'acme', token = owner): Promise<WebhookCreated> => {
    const answer = await call<WebhookCreated>(baseUrl, 'POST', `/api/tenants/${tenant}/webhooks`, { token, body });
    expect(answer.status, JSON.stringify(answer.body)).toBe(201);
    created.push({ tenant, id: answer.body.id });
    return answer.body;
  };
  /** Starts a demo run over HTTP; `key` keeps runs apart (the same scope joins the active run). */
  const startRun = async (key: string, tenant = 'acme', token = owner) => {
    const answer = await call(baseUrl, 'POST', `/api/tenants/${tenant}/runs`, { token, body: { type: 'demo.batch', scope: { items: 2, key } } });
    expect([200, 202]).toContain(answer.status);
    return answer.body.run.id as string;
  };
  const finish = async (runId: string, counts: { succeeded: number; failed: number }) => {
    const { lifecycle } = system.env.services;
    await lifecycle.markStarted(runId, TEST_AUTHOR);
    const failures = Array.from({ length: counts.failed }, (_, i) => ({ code: 'item_failed', message: `Item ${i} failed.` }));
    await lifecycle.complete(runId, { total: 2, succeeded: counts.succeeded, failed: counts.failed, failures }, TEST_AUTHOR);
  };
  const deliveries = async (id: string, tenant = 'acme') => {
    const answer = await call(baseUrl, 'GET', `/api/tenants/${tenant}/webhooks/${id}/deliveries`, { token: owner });
    expect(answer.status).toBe(200);
    return answer.body.deliveries as { id: string; event: string; runId: string; status: string; code: number | null; attempts: number; durationMs: number | null; error: string | null }[];
  };
  /** Waits (bounded) until the webhook's log satisfies `done` — the log is what an owner would watch. */
  const logUntil = async (id: string, done: (log: Awaited<ReturnType<typeof deliveries>>) => boolean, timeoutMs = 15_000) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const log = await deliveries(id);
      if (done(log)) return log;
      if (Date.now() > deadline) throw new Error(`delivery log not as expected: ${JSON.stringify(log)}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  };

  beforeAll(async () => {
    system = await startSystem({
      tenants: ['acme', 'globex'],
      worker: false,
      env: {
        SOURCE_CREDENTIALS_KEY: KEY,
        ALLOW_PRIVATE_TARGETS: 'true',
        WEBHOOK_TIMEOUT_MS: '1000',
        WEBHOOK_RETRY_BASE_MS: '100',
        WEBHOOK_RETRY_FOR_MS: '2500',
        PUBLIC_URL: 'https://runboard.example.com',
      },
    });
    baseUrl = system.app.baseUrl;
    owner = await login(baseUrl, 'owner@acme.test');
    globexOwner = await login(baseUrl, 'owner@globex.test');
    sender = await startWebhookSender(system.env.services);
  }, 60_000);

  afterEach(async () => {
    // Each test's webhooks go, so the next one's receivers see only their own deliveries.
    for (const { tenant, id } of created.splice(0)) {
      await call(baseUrl, 'DELETE', `/api/tenants/${tenant}/webhooks/${id}`, { token: tenant === 'acme' ? owner : globexOwner });
    }
  });

  afterAll(async () => {
    await sender?.close();
    for (const r of receivers) await r.close();
    await system?.stop();
  });

  it('creates a webhook for owners, shows its secret once and never again, and deletes it', async () => {
    const r = await receiver();
    const answer = await createWebhook({ url: r.url, events: ['run.completed'] });
    expect(answer.secret).toMatch(/^whsec_[A-Za-z0-9_-]{43}$/);
    expect(answer.webhook).toMatchObject({ id: answer.id, url: r.url, events: ['run.completed'], types: [], outcomes: [], format: 'json', createdBy: { name: 'owner of acme' } });
    expect(answer.webhook.health.state).toBe('unknown');

    const list = await call(baseUrl, 'GET', '/api/tenants/acme/webhooks', { token: owner });
    const one = await call(baseUrl, 'GET', `/api/tenants/acme/webhooks/${answer.id}`, { token: owner });
    expect(list.body.webhooks.map((w: { id: string }) => w.id)).toContain(answer.id);
    expect(one.body.webhook.id).toBe(answer.id);
    for (const body of [list.body, one.body]) expect(JSON.stringify(body)).not.toContain(answer.secret);

    // At rest the secret is sealed: neither it nor any part of it is in the row.
    const row = await sql<{ secret_ciphertext: string }>`select secret_ciphertext from webhooks where id = ${answer.id}`.execute(queries(system.env.services.orm));
    expect(row.rows[0]!.secret_ciphertext).toMatch(/^v1\./);
    expect(row.rows[0]!.secret_ciphertext).not.toContain(answer.secret.slice(6, 20));

    expect((await call(baseUrl, 'DELETE', `/api/tenants/acme/webhooks/${answer.id}`, { token: owner })).status).toBe(204);
    expectContractError(await call(baseUrl, 'GET', `/api/tenants/acme/webhooks/${answer.id}`, { token: owner }), 404);
    expectContractError(await call(baseUrl, 'DELETE', `/api/tenants/acme/webhooks/${answer.id}`, { token: owner }), 404);
  });

  it('refuses other roles and other tenants, and bad input with a 400 that changes nothing', async () => {
    const r = await receiver();
    const mine = await createWebhook({ url: r.url, events: ['run.completed'] });
    for (const role of ['manager', 'operator', 'readonly']) {
      const token = await login(baseUrl, `${role}@acme.test`);
      expectContractError(await call(baseUrl, 'GET', '/api/tenants/acme/webhooks', { token }), 403);
      expectContractError(await call(baseUrl, 'POST', '/api/tenants/acme/webhooks', { token, body: { url: r.url, events: ['run.completed'] } }), 403);
      expectContractError(await call(baseUrl, 'GET', `/api/tenants/acme/webhooks/${mine.id}/deliveries`, { token }), 403);
      expectContractError(await call(baseUrl, 'DELETE', `/api/tenants/acme/webhooks/${mine.id}`, { token }), 403);
    }
    // Globex's owner: acme's routes are forbidden, and acme's webhook id does not exist under globex.
    expectContractError(await call(baseUrl, 'GET', '/api/tenants/acme/webhooks', { token: globexOwner }), 403);
    expectContractError(await call(baseUrl, 'GET', `/api/tenants/globex/webhooks/${mine.id}`, { token: globexOwner }), 404);
    expectContractError(await call(baseUrl, 'DELETE', `/api/tenants/globex/webhooks/${mine.id}`, { token: globexOwner }), 404);
    expectContractError(await call(baseUrl, 'GET', `/api/tenants/globex/webhooks/${mine.id}/deliveries`, { token: globexOwner }), 404);
    expectContractError(await call(baseUrl, 'GET', '/api/tenants/acme/webhooks'), 401);

    const bad: [unknown, string][] = [
      [{ url: 'ftp://example.com/x', events: ['run.completed'] }, 'url'],
      [{ url: 'https://user:pw@example.com/', events: ['run.completed'] }, 'url'],
      [{ url: 'not a url', events: ['run.completed'] }, 'url'],
      [{ url: r.url, events: [] }, 'events'],
      [{ url: r.url, events: ['run.started'] }, 'events.0'],
      [{ url: r.url }, 'events'],
      [{ url: r.url, events: ['run.queued'], outcomes: ['failed'] }, 'outcomes'],
      [{ url: r.url, events: ['run.completed'], outcomes: ['pending'] }, 'outcomes.0'],
      [{ url: r.url, events: ['run.completed'], types: ['nope.never'] }, 'types.0'],
      [{ url: r.url, events: ['run.completed'], types: ['NOT A TYPE'] }, 'types.0'],
      [{ url: r.url, events: ['run.completed'], format: 'teams' }, 'format'],
      [{ url: r.url, events: ['run.completed'], secret: 'mine' }, ''],
      [{ url: `${r.url}/\u0000`, events: ['run.completed'] }, 'url'],
    ];
    for (const [body, path] of bad) {
      const answer = await call(baseUrl, 'POST', '/api/tenants/acme/webhooks', { token: owner, body });
      expectContractError(answer, 400);
      if (path) expect(answer.body.error.details.map((d: { path: string }) => d.path), JSON.stringify(body)).toContain(path);
    }
    expectContractError(await call(baseUrl, 'GET', '/api/tenants/acme/webhooks/not-a-uuid', { token: owner }), 404);
    const list = await call(baseUrl, 'GET', '/api/tenants/acme/webhooks', { token: owner });
    expect(list.body.webhooks.map((w: { id: string }) => w.id)).toEqual([mine.id]);
  });

  it('stops at 20 webhooks per tenant with a 409', async () => {
    const r = await receiver();
    for (let i = 0; i < 20; i++) await createWebhook({ url: `${r.url}/${i}`, events: ['run.queued'], types: ['runs.purge'] });
    const answer = await call(baseUrl, 'POST', '/api/tenants/acme/webhooks', { token: owner, body: { url: r.url, events: ['run.completed'] } });
    expect(answer.status).toBe(409);
    expect(answer.body.error.code).toBe('limit_reached');
  });

  it('delivers run.completed signed: a receiver verifies the signature over the raw body', async () => {
    const r = await receiver();
    const hook = await createWebhook({ url: `${r.url}/hooks/runboard`, events: ['run.completed'] });
    const runId = await startRun('signed');
    await finish(runId, { succeeded: 1, failed: 1 });
    const [request] = await r.next(1);
    const got = request!;

    expect(got.path).toBe('/hooks/runboard');
    expect(got.headers['content-type']).toBe('application/json');
    expect(got.headers['runboard-event']).toBe('run.completed');
    // As a receiver would, with nothing but node:crypto: t and v1 from the header, HMAC-SHA256 of "<t>.<raw body>".
    const header = String(got.headers['runboard-signature']);
    const { t, v1 } = Object.fromEntries(header.split(',').map((part) => part.split('='))) as { t: string; v1: string };
    expect(Math.abs(Date.now() / 1000 - Number(t))).toBeLessThan(60);
    const expected = createHmac('sha256', hook.secret).update(`${t}.${got.raw}`).digest();
    expect(timingSafeEqual(Buffer.from(v1, 'hex'), expected)).toBe(true);
    // The exported helper agrees, and refuses a changed body, another secret and an old timestamp.
    expect(verifySignature(header, got.raw, hook.secret)).toBe(true);
    expect(verifySignature(header, got.raw.replace('partially', 'fully'), hook.secret)).toBe(false);
    expect(verifySignature(header, got.raw, `${hook.secret}x`)).toBe(false);
    expect(verifySignature(header, got.raw, hook.secret, { now: Number(t) + 301 })).toBe(false);

    const body = got.body as WebhookPayload;
    expect(Object.keys(body).sort()).toEqual(['event', 'id', 'occurredAt', 'run', 'url']);
    expect(body).toMatchObject({ event: 'run.completed', url: `https://runboard.example.com/t/acme/operations/${runId}` });
    expect(body.run).toMatchObject({ id: runId, tenant: 'acme', status: 'completed', outcome: 'partially_succeeded', failureCount: 1, counts: { succeeded: 1, failed: 1 } });
    expect(body.run).not.toHaveProperty('failures');
    expect(body.occurredAt).toBe(body.run.updatedAt);
    expect(got.headers['runboard-delivery']).toBe(body.id);

    const log = await logUntil(hook.id, (l) => l[0]?.status === 'succeeded');
    expect(log).toEqual([expect.objectContaining({ id: body.id, event: 'run.completed', runId, status: 'succeeded', code: 200, attempts: 1, error: null })]);
    expect(log[0]!.durationMs).toBeGreaterThanOrEqual(0);
    const health = (await call(baseUrl, 'GET', `/api/tenants/acme/webhooks/${hook.id}`, { token: owner })).body.webhook.health;
    expect(health).toMatchObject({ state: 'healthy', consecutiveFailures: 0, pausedUntil: null });
  });

  it('filters by event, type and outcome, and a start that joins the active run sends nothing new', async () => {
    const all = await receiver();
    const failedOnly = await receiver();
    const queued = await receiver();
    const otherType = await receiver();
    await createWebhook({ url: all.url, events: ['run.completed'] });
    await createWebhook({ url: failedOnly.url, events: ['run.completed'], outcomes: ['failed', 'partially_succeeded'] });
    await createWebhook({ url: queued.url, events: ['run.queued'], types: ['demo.batch'] });
    await createWebhook({ url: otherType.url, events: ['run.queued', 'run.completed'], types: ['runs.purge'] });

    const ok = await startRun('filter-ok');
    expect(await startRun('filter-ok')).toBe(ok); // joins: no second run.queued
    const bad = await startRun('filter-bad');
    await finish(ok, { succeeded: 2, failed: 0 });
    await finish(bad, { succeeded: 0, failed: 2 });

    await all.next(2);
    await failedOnly.next(1);
    await queued.next(2);
    // The last deliveries are in: anything else would have been claimed in the same passes.
    await logUntil(created[1]!.id, (l) => l.length === 1 && l[0]!.status === 'succeeded');
    expect(all.received.map((x) => [x.body.run.id, x.body.run.outcome]).sort()).toEqual([[bad, 'failed'], [ok, 'succeeded']].sort());
    expect(failedOnly.received.map((x) => x.body.run.id)).toEqual([bad]);
    expect(queued.received.map((x) => [x.body.event, x.body.run.status])).toEqual([['run.queued', 'queued'], ['run.queued', 'queued']]);
    expect(queued.received.map((x) => x.body.run.id).sort()).toEqual([ok, bad].sort());
    expect(otherType.received).toEqual([]);
  });

  it("keeps each tenant's runs to its own webhooks", async () => {
    const acmeHook = await receiver();
    const globexHook = await receiver();
    await createWebhook({ url: acmeHook.url, events: ['run.completed'] });
    await createWebhook({ url: globexHook.url, events: ['run.completed'] }, 'globex', globexOwner);
    const acmeRun = await startRun('tenants');
    const globexRun = await startRun('tenants', 'globex', globexOwner);
    await finish(acmeRun, { succeeded: 2, failed: 0 });
    await finish(globexRun, { succeeded: 2, failed: 0 });
    await acmeHook.next(1);
    await globexHook.next(1);
    await logUntil(created[0]!.id, (l) => l[0]?.status === 'succeeded');
    expect(acmeHook.received.map((x) => x.body.run.id)).toEqual([acmeRun]);
    expect(globexHook.received.map((x) => x.body.run.id)).toEqual([globexRun]);
  });

  it('retries with back-off through an outage of the receiver, in order per run, one event id throughout', async () => {
    const r = await receiver();
    // Down for the first four requests (503, 500, a redirect, 404), then back.
    const down: number[] = [503, 500, 302, 404];
    const location: Record<string, string> = { location: `${r.url}/elsewhere` };
    r.answer = (_req, i) => (i < down.length ? { status: down[i]!, headers: down[i] === 302 ? location : {} } : { status: 204 });
    const hook = await createWebhook({ url: r.url, events: ['run.queued', 'run.completed'] });
    const runId = await startRun('outage');
    await finish(runId, { succeeded: 2, failed: 0 });
    const log = await logUntil(hook.id, (l) => l.length === 2 && l.every((d) => d.status === 'succeeded'));

    // Every attempt of the queued event came before any of the completed one: order per run holds through retries.
    const events = r.received.map((x) => x.body.event);
    const firstCompleted = events.indexOf('run.completed');
    expect(events.slice(0, firstCompleted).every((e) => e === 'run.queued')).toBe(true);
    expect(events.slice(firstCompleted).every((e) => e === 'run.completed')).toBe(true);
    const queuedAttempts = r.received.filter((x) => x.body.event === 'run.queued');
    expect(queuedAttempts).toHaveLength(5);
    expect(new Set(queuedAttempts.map((x) => x.body.id)).size).toBe(1);
    // No redirect was followed.
    expect(r.received.some((x) => x.path === '/elsewhere')).toBe(false);
    // Backed off: each retry waited at least the smallest jittered delay of its attempt.
    for (let i = 1; i < queuedAttempts.length; i++) {
      expect(queuedAttempts[i]!.at - queuedAttempts[i - 1]!.at).toBeGreaterThanOrEqual(retryDelayMs(i, 100, 0) - 5);
    }
    const queuedLog = log.find((d) => d.event === 'run.queued')!;
    expect(queuedLog).toMatchObject({ attempts: 5, code: 204, status: 'succeeded', error: null });
  });

  it('gives up after the retry window and marks the delivery failed with the reason', async () => {
    const r = await receiver();
    r.answer = () => ({ status: 500 });
    const hook = await createWebhook({ url: r.url, events: ['run.completed'] });
    const runId = await startRun('gives-up');
    await finish(runId, { succeeded: 0, failed: 2 });
    const [failed] = await logUntil(hook.id, (l) => l[0]?.status === 'failed', 20_000);
    expect(failed!.code).toBe(500);
    expect(failed!.error).toMatch(/^gave up after \d+ attempts: HTTP 500$/);
    expect(failed!.attempts).toBeGreaterThanOrEqual(3);
    expect(r.received.length).toBe(failed!.attempts);
    const health = (await call(baseUrl, 'GET', `/api/tenants/acme/webhooks/${hook.id}`, { token: owner })).body.webhook.health;
    expect(health.state).toBe('failing');
    expect(health.consecutiveFailures).toBe(failed!.attempts);
  });

  it("a receiver that never answers is cut off at the time limit and delays no one else's deliveries", async () => {
    const dead = await receiver();
    dead.answer = () => 'hang';
    const healthy = await receiver();
    const deadHook = await createWebhook({ url: dead.url, events: ['run.completed'] });
    await createWebhook({ url: healthy.url, events: ['run.completed'] }, 'globex', globexOwner);
    // Many acme runs for the dead receiver first, then one globex run.
    const acmeRuns = await Promise.all(Array.from({ length: 6 }, (_, i) => startRun(`dead-${i}`)));
    for (const id of acmeRuns) await finish(id, { succeeded: 2, failed: 0 });
    await dead.next(1);
    const globexRun = await startRun('healthy', 'globex', globexOwner);
    const before = Date.now();
    await finish(globexRun, { succeeded: 2, failed: 0 });
    await healthy.next(1, 5_000);
    // Delivered while the dead receiver still holds its attempts (time limit 1 s).
    expect(Date.now() - before).toBeLessThan(1_000);
    const log = await logUntil(deadHook.id, (l) => l.some((d) => d.error?.startsWith('no answer within 1 s')), 10_000);
    expect(log.find((d) => d.error)!.code).toBeNull();
    // At most two attempts of that webhook were ever in flight at once.
    expect(dead.received.length).toBeLessThanOrEqual(acmeRuns.length);
  });

  it('sends Slack messages for format "slack"', async () => {
    const r = await receiver();
    await createWebhook({ url: r.url, events: ['run.completed'], format: 'slack' });
    const runId = await startRun('<slack & co>');
    await finish(runId, { succeeded: 1, failed: 1 });
    const [got] = await r.next(1);
    const message = got!.body as { text: string; blocks: { type: string; text?: { text: string } }[] };
    expect(message.text).toContain(':warning: *Demo batch* in *acme* partially succeeded');
    expect(message.text).toContain(`<https://runboard.example.com/t/acme/operations/${runId}|View run>`);
    expect(message.blocks[0]!.text!.text).toContain('First failure: `item_failed` Item 0 failed.');
    expect(got!.headers['runboard-signature']).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/);
  });

  it('a delivery written while no worker sends survives and goes out when one starts (outbox)', async () => {
    await sender.close();
    const r = await receiver();
    const hook = await createWebhook({ url: r.url, events: ['run.completed'] });
    const runId = await startRun('outbox');
    await finish(runId, { succeeded: 2, failed: 0 });
    // Committed with the run, waiting.
    expect(await deliveries(hook.id)).toEqual([expect.objectContaining({ runId, status: 'pending', attempts: 0 })]);
    expect(r.received).toEqual([]);
    sender = await startWebhookSender(system.env.services);
    await r.next(1);
    expect(r.ofRun(runId)).toHaveLength(1);
  });

  describe('the address rule with ALLOW_PRIVATE_TARGETS off', () => {
    const strict = () => loadConfig({ ...system.env.env, ALLOW_PRIVATE_TARGETS: 'false' });

    it('refuses loopback, link-local and private URLs at creation, also through DNS', async () => {
      const services = system.env.services;
      const service = new WebhookService(new WebhookStore(services.orm), services.catalog, strict());
      // This machine's own name resolves to a loopback or private address (the DNS case).
      const own = hostname();
      const addresses = await lookup(own, { all: true });
      expect(addresses.some(({ address }) => refusedAddressReason(address) !== null)).toBe(true);
      const urls = [
        'http://127.0.0.1:9/x', 'http://localhost/x', 'http://[::1]/', 'http://169.254.169.254/latest/meta-data', 'http://10.1.2.3/',
        'http://192.168.0.10/', 'http://0x7f.1/', 'http://2130706433/', 'http://[::ffff:127.0.0.1]/', `http://${own}:8080/hook`,
      ];
      for (const url of urls) {
        const attempt = service.create(system.tenants.acme!.tenant.id, null, { url, events: ['run.completed'] });
        await expect(attempt, url).rejects.toMatchObject({ status: 400, details: [expect.objectContaining({ path: 'url', message: expect.stringMatching(/refused private address/) })] });
      }
    });

    it('refuses at connection time a URL whose address became private after creation (DNS rebinding)', async () => {
      const r = await receiver();
      // Created while allowed, as if the name had resolved to a public address then; it resolves to loopback now.
      const port = new URL(r.url).port;
      const hook = await createWebhook({ url: `http://${hostname()}:${port}/hook`, events: ['run.completed'] });
      await sender.close();
      const services = system.env.services;
      const observed: string[] = [];
      const strictDeliverer = new WebhookDeliverer(
        new WebhookStore(services.orm),
        services.webhooks,
        services.catalog,
        strict(),
        (result) => observed.push(result),
      );
      const runId = await startRun('rebinding');
      await finish(runId, { succeeded: 2, failed: 0 });
      const claimed = await strictDeliverer.claim(10);
      expect(claimed.map((d) => d.run_id)).toEqual([runId]);
      expect(await strictDeliverer.attempt(claimed[0]!)).toBe('refused');
      expect(observed).toEqual(['refused']);
      expect(r.received).toEqual([]);
      const [entry] = await deliveries(hook.id);
      expect(entry).toMatchObject({ status: 'failed', code: null, error: expect.stringMatching(/^refused: /) });
      expect(entry!.error).not.toContain('127.0.0.1');
      sender = await startWebhookSender(services);
    });
  });

  it("a secret copied to another webhook's row does not open, and that delivery fails without sending", async () => {
    const r = await receiver();
    const a = await createWebhook({ url: r.url, events: ['run.completed'] });
    const b = await createWebhook({ url: `${r.url}/b`, events: ['run.completed'] });
    const db = queries(system.env.services.orm);
    await sql`update webhooks set secret_ciphertext = (select secret_ciphertext from webhooks where id = ${a.id}) where id = ${b.id}`.execute(db);
    const runId = await startRun('copied-secret');
    await finish(runId, { succeeded: 2, failed: 0 });
    await r.next(1);
    const log = await logUntil(b.id, (l) => l[0]?.error?.includes('signing secret') === true);
    expect(log[0]!.status).toMatch(/pending|failed/);
    expect(r.received.every((x: Received) => x.path === '/')).toBe(true);
  });
});
