import { author } from '../../db/runs/model.ts';
import { createServer, request as httpRequest, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createClient } from 'redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRunboardClient, RunboardError, type RunboardClientOptions, type RunReporter, type RunView } from '../../clients/src/index.ts';
import { demoBatch } from '../../db/catalog/operations.ts';
import { queuePrefix } from '../../db/changefeed/channels.ts';
import { call, login, startSystem, type System } from '../helpers/app.ts';
import { expectContractError } from '../helpers/hostile.ts';
import { RecordingClient, refusal } from '../helpers/live.ts';
import type { Seeded } from '../helpers/stack.ts';

/** Who makes the changes these tests apply directly (their history's `by`). */
const TEST_AUTHOR = author('system', 'test');

// Mirrored runs (docs/api.md §9): an external system starts a run and reports its life over HTTP with an
// integration token, through the client package (clients/, @runboard/client). Real PostgreSQL, Redis, HTTP and sockets.

const SECRET = 'hunter2secret';

type RecordedCall = { method: string; path: string; status: number | 'network_error'; body: Record<string, unknown> | null };

/** A `fetch` for the typed client that records every attempt (status, request body) and can fail some. */
function recordingFetch(fail: (attempt: RecordedCall, index: number) => 'network' | null = () => null) {
  const calls: RecordedCall[] = [];
  const recorded: typeof fetch = async (input, init) => {
    const url = new URL(String(input));
    const entry: RecordedCall = {
      method: init?.method ?? 'GET',
      path: url.pathname,
      status: 'network_error',
      body: typeof init?.body === 'string' ? (JSON.parse(init.body) as Record<string, unknown>) : null,
    };
    calls.push(entry);
    if (fail(entry, calls.length - 1) === 'network') throw new TypeError('fetch failed');
    const response = await fetch(input, init);
    entry.status = response.status;
    return response;
  };
  return { fetch: recorded, calls };
}

const eventsOf = (calls: RecordedCall[], runId: string) => calls.filter((c) => c.path.endsWith(`/runs/${runId}/events`));

describe('mirrored runs', () => {
  let system: System;
  let acme: Seeded;
  let baseUrl: string;
  let owner: string;
  let operator: string;
  let integration: { id: string; token: string };
  let globexIntegration: string;
  const clients: RecordingClient[] = [];

  const reporter = (token = integration.token, extra: Partial<RunboardClientOptions> = {}): RunReporter =>
    createRunboardClient({ baseUrl, token, retry: { attempts: 3, baseDelayMs: 20 }, ...extra }).reporter('acme');
  const detail = async (runId: string): Promise<RunView> => {
    const answer = await call(baseUrl, 'GET', `/api/tenants/acme/runs/${runId}`, { token: operator });
    expect(answer.status).toBe(200);
    return answer.body.run;
  };
  const post = (token: string, runId: string, body: unknown, tenant = 'acme') =>
    call(baseUrl, 'POST', `/api/tenants/${tenant}/runs/${runId}/events`, { token, body });
  /** Starts a mirrored run (no initiator) and reports `started`. */
  const running = async (key: string): Promise<RunView> => {
    const { run } = await reporter().start({ type: 'demo.external', scope: { key } });
    return reporter().started(run.id);
  };
  /** Whether the runs queue holds a job for this run (bee-queue's jobs hash; job id = run id). */
  const enqueued = async (runId: string): Promise<boolean> => {
    const redis = createClient({ url: system.env.config.redisUrl });
    await redis.connect();
    try {
      return (await redis.hExists(`${queuePrefix(system.env.config.redisPrefix)}:runs:jobs`, runId)) === 1;
    } finally {
      await redis.close();
    }
  };
  const connect = async (token: string) => {
    const client = await RecordingClient.connect(baseUrl, { token });
    clients.push(client);
    return client;
  };
  const notificationsFor = (runId: string) =>
    system.feed.users.flatMap((u) => (u.type === 'notification:new' && u.notification.runId === runId ? [u] : []));

  beforeAll(async () => {
    // No worker: a mirrored run needs none, and nothing may be enqueued for it.
    system = await startSystem({ tenants: ['acme', 'globex'], worker: false });
    acme = system.tenants.acme!;
    baseUrl = system.app.baseUrl;
    [owner, operator] = await Promise.all([login(baseUrl, acme.users.owner.email), login(baseUrl, acme.users.operator.email)]);
    const created = await call(baseUrl, 'POST', '/api/tenants/acme/integration-tokens', { token: owner, body: { label: 'restore service' } });
    expect(created.status).toBe(201);
    expect(created.body).toEqual({ id: expect.any(String), token: expect.stringMatching(/^rbi_[A-Za-z0-9_-]{43}$/) });
    integration = created.body;
    globexIntegration = (await system.env.services.auth.createTenantToken('integration', system.tenants.globex!.tenant.id, 'globex ci', null)).token;
  });

  afterAll(async () => {
    for (const client of clients) client.close();
    await system?.stop();
  });

  it('lives its whole life over HTTP, pushed live with one version per event, notifying the named initiator only', async () => {
    const [initiatorTab, bystanderTab, otherTenantTab] = await Promise.all([
      connect(operator),
      connect(await login(baseUrl, acme.users.manager.email)),
      connect(await login(baseUrl, system.tenants.globex!.users.owner.email)),
    ]);
    expect(await initiatorTab.subscribe({ tenant: 'acme' })).toEqual({ ok: true });
    expect(await bystanderTab.subscribe({ tenant: 'acme' })).toEqual({ ok: true });
    expect(await otherTenantTab.subscribe({ tenant: 'globex' })).toEqual({ ok: true });
    const { fetch: recorded, calls } = recordingFetch();
    const client = reporter(integration.token, { fetch: recorded });
    const updates = (tab: RecordingClient, runId: string) => tab.of('run:update').filter((u) => u.run.id === runId);
    const seen = (runId: string, version: number) =>
      initiatorTab.until(() => updates(initiatorTab, runId).some((u) => u.run.version === version), 10_000, `version ${version} pushed`);

    const started = await client.start({ type: 'demo.external', scope: { key: 'restore-42' }, initiator: { email: 'Operator@Acme.test' } });
    expect(calls.at(-1)!.status).toBe(202);
    expect(started.reused).toBe(false);
    expect(started.url).toBe(`/t/acme/operations/${started.run.id}`);
    expect(started.run).toMatchObject({
      type: 'demo.external',
      status: 'queued',
      outcome: 'pending',
      bucket: 'queued',
      version: 1,
      scope: { key: 'restore-42' },
      initiator: { id: acme.users.operator.id, name: acme.users.operator.name },
    });
    const runId = started.run.id;
    await seen(runId, 1);
    expect(await enqueued(runId)).toBe(false);
    // Starting it again while active reuses it (and is no new run, no new notification).
    const again = await client.start({ type: 'demo.external', scope: { key: 'restore-42' } });
    expect(calls.at(-1)!.status).toBe(200);
    expect(again).toMatchObject({ reused: true, run: { id: runId, version: 1 } });
    expect(await detail(runId)).toMatchObject({ status: 'queued', version: 1 });

    const afterStarted = await client.started(runId);
    expect(afterStarted).toMatchObject({ status: 'running', bucket: 'running', version: 2 });
    expect(afterStarted.startedAt).not.toBeNull();
    await seen(runId, 2);

    expect(await client.progress(runId, { total: 10, succeeded: 3 })).toMatchObject({
      version: 3,
      counts: { total: 10, processed: 3, succeeded: 3, failed: 0, skipped: 0 },
    });
    await seen(runId, 3);

    const afterFailures = await client.progress(runId, {
      succeeded: 4,
      failed: 2,
      failures: [
        { code: 'restore_failed', message: `could not connect to postgres://u:${SECRET}@db/x`, item: 'db-7' },
        { code: 'checksum_mismatch', message: 'backup checksum did not match', item: 'db-9' },
      ],
    });
    expect(afterFailures).toMatchObject({ version: 4, counts: { total: 10, processed: 9, succeeded: 7, failed: 2, skipped: 0 }, failureCount: 2 });
    await seen(runId, 4);

    const final = await client.completed(runId);
    expect(final).toMatchObject({
      status: 'completed',
      outcome: 'partially_succeeded',
      bucket: 'partially_succeeded',
      version: 5,
      counts: { total: 10, processed: 9, succeeded: 7, failed: 2, skipped: 0 },
      failureCount: 2,
    });
    await seen(runId, 5);
    expect(eventsOf(calls, runId).map((c) => c.status)).toEqual([200, 200, 200, 200]);
    // Every event went out with its own generated eventId.
    const ids = eventsOf(calls, runId).map((c) => c.body?.eventId);
    expect(ids.every((id) => typeof id === 'string' && /^[0-9a-f-]{36}$/.test(id))).toBe(true);
    expect(new Set(ids).size).toBe(4);

    // The detail: failures sanitized (the host kept, the password gone), item ids kept.
    // An event answers with the committed row of that change (failures summarised to failureCount, as pushed).
    const stored = await detail(runId);
    const { failures: _failures, ...storedWithoutFailures } = stored;
    expect(storedWithoutFailures).toEqual(final);
    expect(stored.failures).toEqual([
      { code: 'restore_failed', message: expect.stringContaining('db/x'), item: 'db-7' },
      { code: 'checksum_mismatch', message: 'backup checksum did not match', item: 'db-9' },
    ]);
    expect(JSON.stringify(stored)).not.toContain(SECRET);

    // Live: both members' sockets saw every change exactly once, in version order; the other tenant none.
    for (const tab of [initiatorTab, bystanderTab]) {
      await tab.until(() => updates(tab, runId).some((u) => u.kind === 'completed'), 10_000, 'completed pushed');
      const pushed = updates(tab, runId);
      expect(pushed.map((u) => [u.kind, u.run.version])).toEqual([
        ['queued', 1],
        ['started', 2],
        ['progress', 3],
        ['progress', 4],
        ['completed', 5],
      ]);
      const { failures: _failures, ...withoutFailures } = stored;
      expect(pushed.at(-1)!.run).toEqual(withoutFailures);
    }
    expect(JSON.stringify(system.feed.forRun(runId))).not.toContain(SECRET);

    // Notifications: queued (info) and partially succeeded (warning), to the named initiator only.
    await system.feed.until(() => notificationsFor(runId).length === 2, 10_000, 'queued and terminal notifications');
    const notified = notificationsFor(runId);
    expect(notified.map((n) => [n.userId, n.notification.level])).toEqual([
      [acme.users.operator.id, 'info'],
      [acme.users.operator.id, 'warning'],
    ]);
    expect(notified[1]!.notification).toMatchObject({ tenant: 'acme', url: `/t/acme/operations/${runId}` });
    expect(notified[1]!.notification.body).toContain('7 succeeded, 2 failed of 10 items');
    expect(JSON.stringify(notified)).not.toContain(SECRET);
    await initiatorTab.until(() => initiatorTab.of('notification:new').filter((n) => n.notification.runId === runId).length === 2, 10_000);
    const inbox = await call(baseUrl, 'GET', '/api/notifications', { token: operator });
    expect(inbox.body.notifications.filter((n: { runId: string }) => n.runId === runId)).toHaveLength(2);
    expect(bystanderTab.of('notification:new')).toEqual([]);
    expect(otherTenantTab.events.some((e) => JSON.stringify(e.payload).includes(runId))).toBe(false);
  });

  it('a start naming a non-member (or nobody) has no initiator and notifies no one; users may not name one', async () => {
    const client = reporter();
    const foreign = await client.start({ type: 'demo.external', scope: { key: 'foreign' }, initiator: { email: 'operator@globex.test' } });
    const unknown = await client.start({ type: 'demo.external', scope: { key: 'unknown' }, initiator: { email: 'nobody@nowhere.test' } });
    const anonymous = await client.start({ type: 'demo.external', scope: { key: 'anonymous' } });
    for (const { run } of [foreign, unknown, anonymous]) {
      expect(run.initiator).toBeNull();
      await client.started(run.id);
      await client.completed(run.id, { abort: true });
    }
    // Changefeed messages of one publisher arrive in order: once a later run's notifications are here,
    // those of the runs above would have been too.
    const { run: anchor } = await client.start({ type: 'demo.external', scope: { key: 'anchor' }, initiator: { email: acme.users.readonly.email } });
    await client.completed(anchor.id);
    await system.feed.until(() => notificationsFor(anchor.id).length === 2, 10_000, 'the anchor run’s notifications');
    expect(notificationsFor(anchor.id).map((n) => n.userId)).toEqual([acme.users.readonly.id, acme.users.readonly.id]);
    for (const { run } of [foreign, unknown, anonymous]) expect(notificationsFor(run.id)).toEqual([]);
    expect(await detail(anonymous.run.id)).toMatchObject({ status: 'completed', outcome: 'failed', failureCount: 0 });

    // A user starts mirrored types as themselves, never on behalf of someone else.
    const named = await call(baseUrl, 'POST', '/api/tenants/acme/runs', {
      token: operator,
      body: { type: 'demo.external', scope: { key: 'named-by-user' }, initiator: { email: acme.users.owner.email } },
    });
    expectContractError(named, 400);
    const own = await call(baseUrl, 'POST', '/api/tenants/acme/runs', { token: operator, body: { type: 'demo.external', scope: { key: 'by-user' } } });
    expect(own.status).toBe(202);
    expect(own.body.run.initiator).toEqual({ id: acme.users.operator.id, name: acme.users.operator.name });
    expect(await enqueued(own.body.run.id)).toBe(false);
  });

  it('applies an event id once: repeated, concurrent, and retried after completion', async () => {
    const run = await running('duplicates');
    const client = reporter();
    const once = await client.progress(run.id, { total: 20, succeeded: 1, eventId: 'batch-1' });
    expect(once).toMatchObject({ version: 3, counts: { succeeded: 1 } });
    expect(await client.progress(run.id, { total: 20, succeeded: 1, eventId: 'batch-1' })).toMatchObject({ version: 3, counts: { succeeded: 1 } });

    const { fetch: recorded, calls } = recordingFetch();
    const concurrent = reporter(integration.token, { fetch: recorded });
    const answers = await Promise.all(Array.from({ length: 10 }, () => concurrent.progress(run.id, { succeeded: 2, skipped: 1, eventId: 'batch-2' })));
    expect(calls.map((c) => c.status)).toEqual(Array(10).fill(200));
    expect(answers.every((a) => a.version === 4)).toBe(true);
    expect(await detail(run.id)).toMatchObject({ version: 4, counts: { total: 20, processed: 4, succeeded: 3, failed: 0, skipped: 1 } });

    const done = await client.completed(run.id, { eventId: 'done' });
    expect(done).toMatchObject({ status: 'completed', outcome: 'succeeded', version: 5 });
    const retried = await client.completed(run.id, { eventId: 'done' });
    // Event ids are per run: another run's 'batch-1' is its own.
    const other = await running('duplicates-other');
    expect(await client.progress(other.id, { succeeded: 1, eventId: 'batch-1' })).toMatchObject({ version: 3, counts: { succeeded: 1 } });
    expect(retried).toEqual(done);
    // A duplicate of an event applied before completion is recognised too (200, unchanged), not a 409.
    expect(await client.progress(run.id, { succeeded: 2, skipped: 1, eventId: 'batch-2' })).toEqual(done);

    await system.feed.until(() => system.feed.forRun(run.id).some((c) => c.kind === 'completed'), 10_000);
    expect(system.feed.forRun(run.id).map((c) => [c.kind, c.run.version])).toEqual([
      ['queued', 1],
      ['started', 2],
      ['progress', 3],
      ['progress', 4],
      ['completed', 5],
    ]);
  });

  it('refuses transitions that do not move forward with 409 invalid_transition, changing nothing', async () => {
    const { fetch: recorded, calls } = recordingFetch();
    const client = reporter(integration.token, { fetch: recorded });
    const { run } = await client.start({ type: 'demo.external', scope: { key: 'backwards' } });
    const refused = async (attempt: Promise<unknown>, expectedVersion: number) => {
      const error = await attempt.then(() => null, (e: unknown) => e);
      expect(error).toBeInstanceOf(RunboardError);
      expect(error).toMatchObject({ status: 409, code: 'invalid_transition', message: expect.any(String) });
      expect(calls.at(-1)!.status).toBe(409);
      expect((await detail(run.id)).version).toBe(expectedVersion);
    };

    await refused(client.progress(run.id, { succeeded: 1, eventId: 'early' }), 1); // progress before started
    await client.started(run.id);
    await refused(client.started(run.id), 2); // started twice
    // A refused event left no trace: its id is still free.
    expect(await client.progress(run.id, { succeeded: 1, eventId: 'early' })).toMatchObject({ version: 3, counts: { succeeded: 1 } });
    await client.progress(run.id, { total: 2, succeeded: 1 });
    await client.completed(run.id);
    await refused(client.completed(run.id), 5); // completed twice, without an eventId
    await refused(client.progress(run.id, { succeeded: 1 }), 5); // progress after completion
    await refused(client.started(run.id), 5); // started after completion
    // A 4xx is never retried: nine calls above, nine requests.
    expect(eventsOf(calls, run.id).map((c) => c.status)).toEqual([409, 200, 409, 200, 200, 200, 409, 409, 409]);

    // The wire shape of the refusal, and the run unchanged: counts, outcome, no extra changefeed message.
    const raw = await post(integration.token, run.id, { kind: 'progress', succeeded: 1 });
    expect(raw.status).toBe(409);
    expect(raw.body).toEqual({ error: { code: 'invalid_transition', message: expect.any(String) } });
    expect(await detail(run.id)).toMatchObject({ version: 5, outcome: 'succeeded', counts: { total: 2, processed: 2, succeeded: 2 } });
    expect(system.feed.forRun(run.id).map((c) => c.run.version)).toEqual([1, 2, 3, 4, 5]);
  });

  it('concurrent events from two reporters never lose an increment', async () => {
    const { token: second } = await system.env.services.auth.createTenantToken('integration', acme.tenant.id, 'second reporter', null);
    const run = await running('concurrent');
    const [a, b] = [reporter(), reporter(second)];
    const answers = await Promise.all(
      Array.from({ length: 50 }, (_, i) => (i % 2 === 0 ? a : b).progress(run.id, { succeeded: 1, ...(i % 10 === 0 ? { failed: 1, failures: [{ code: 'item_failed', message: `item ${i}`, item: `i-${i}` }] } : {}) })),
    );
    expect(answers.every((r) => r.status === 'running')).toBe(true);
    const after = await detail(run.id);
    expect(after).toMatchObject({ version: 52, counts: { total: 55, processed: 55, succeeded: 50, failed: 5, skipped: 0 }, failureCount: 5 });
    expect(after.failures).toHaveLength(5);
    await system.feed.until(() => system.feed.forRun(run.id).length === 52, 10_000, 'every change published');
    const versions = system.feed.forRun(run.id).map((c) => c.run.version).sort((x, y) => x - y);
    expect(versions).toEqual(Array.from({ length: 52 }, (_, i) => i + 1));
  });

  it('an integration token reports and starts mirrored runs of its own tenant — nothing else', async () => {
    const token = integration.token;
    const batch = await call(baseUrl, 'POST', '/api/tenants/acme/runs', { token: operator, body: { type: 'demo.batch', scope: { items: 1, key: 'not-external' } } });
    expect(batch.status).toBe(202);
    expect(await enqueued(batch.body.run.id)).toBe(true); // the probe above would see a job if there were one
    const mirrored = await running('access');

    expectContractError(await call(baseUrl, 'GET', '/api/notifications', { token }), 403);
    expectContractError(await call(baseUrl, 'POST', '/api/notifications/read-all', { token }), 403);
    expectContractError(await call(baseUrl, 'GET', '/api/me', { token }), 403);
    expectContractError(await call(baseUrl, 'GET', '/api/tenants/acme/runs', { token }), 403);
    expectContractError(await call(baseUrl, 'GET', `/api/tenants/acme/runs/${mirrored.id}`, { token }), 403);
    expectContractError(await call(baseUrl, 'GET', '/api/tenants/acme/stats', { token }), 403);
    expectContractError(await call(baseUrl, 'GET', '/api/tenants/acme/operation-types', { token }), 403);
    const startBatch = await reporter().start({ type: 'demo.batch', scope: { items: 1 } }).catch((e: unknown) => e);
    expect(startBatch).toMatchObject({ status: 403, code: 'forbidden' });
    expectContractError(await call(baseUrl, 'POST', '/api/tenants/acme/runs', { token, body: { type: 'runs.purge', scope: {} } }), 403);
    const onBatch = await post(token, batch.body.run.id, { kind: 'started' });
    expect(onBatch.status).toBe(409);
    expect(onBatch.body).toEqual({ error: { code: 'not_mirrored', message: expect.any(String) } });
    expect((await detail(batch.body.run.id)).version).toBe(1);
    expectContractError(await call(baseUrl, 'POST', '/api/tenants/acme/integration-tokens', { token, body: { label: 'more' } }), 403);
    expectContractError(await call(baseUrl, 'POST', '/api/tenants/acme/kiosk-tokens', { token, body: { label: 'wall' } }), 403);
    expectContractError(await call(baseUrl, 'DELETE', `/api/tenants/acme/integration-tokens/${integration.id}`, { token }), 403);
    expect(await refusal(baseUrl, { token })).toBe('unauthorized');

    // Another tenant: 403 under its path; under its own path an acme run id is simply not found.
    expectContractError(await call(baseUrl, 'POST', '/api/tenants/globex/runs', { token, body: { type: 'demo.external', scope: {} } }), 403);
    expectContractError(await post(token, mirrored.id, { kind: 'progress', succeeded: 1 }, 'globex'), 403);
    expectContractError(await post(globexIntegration, mirrored.id, { kind: 'progress', succeeded: 1 }), 403);
    expectContractError(await post(globexIntegration, mirrored.id, { kind: 'progress', succeeded: 1 }, 'globex'), 404);
    expectContractError(await post(token, '6f1c1c4e-8b7a-4c1e-9d2e-0a1b2c3d4e5f', { kind: 'started' }), 404);

    // Nobody signed in: 401 on every mirrored-runs route; a member of another tenant: 403.
    for (const [method, path] of [
      ['POST', `/api/tenants/acme/runs/${mirrored.id}/events`],
      ['POST', '/api/tenants/acme/integration-tokens'],
      ['DELETE', `/api/tenants/acme/integration-tokens/${integration.id}`],
    ] as const) {
      expectContractError(await call(baseUrl, method, path, { body: { kind: 'started', label: 'x' } }), 401);
      expectContractError(await call(baseUrl, method, path, { token: await login(baseUrl, 'owner@globex.test'), body: { kind: 'started', label: 'x' } }), 403);
    }

    // People report nothing, whatever their role; kiosks neither.
    for (const role of ['owner', 'manager', 'operator'] as const) {
      const person = role === 'owner' ? owner : role === 'operator' ? operator : await login(baseUrl, acme.users[role].email);
      expectContractError(await post(person, mirrored.id, { kind: 'progress', succeeded: 1 }), 403);
    }
    const kiosk = await call(baseUrl, 'POST', '/api/tenants/acme/kiosk-tokens', { token: owner, body: { label: 'wall' } });
    expectContractError(await post(kiosk.body.token, mirrored.id, { kind: 'progress', succeeded: 1 }), 403);
    expect(await detail(mirrored.id)).toMatchObject({ version: 2, counts: { succeeded: 0 } });
  });

  it('only owners create and revoke integration tokens; a revoked token gets 401', async () => {
    const manager = await login(baseUrl, acme.users.manager.email);
    const globexOwner = await login(baseUrl, system.tenants.globex!.users.owner.email);
    expectContractError(await call(baseUrl, 'POST', '/api/tenants/acme/integration-tokens', { token: manager, body: { label: 'x' } }), 403);
    expectContractError(await call(baseUrl, 'POST', '/api/tenants/acme/integration-tokens', { token: operator, body: { label: 'x' } }), 403);
    expectContractError(await call(baseUrl, 'POST', '/api/tenants/acme/integration-tokens', { token: globexOwner, body: { label: 'x' } }), 403);
    expectContractError(await call(baseUrl, 'POST', '/api/tenants/acme/integration-tokens', { token: owner, body: { label: '' } }), 400);
    expectContractError(await call(baseUrl, 'POST', '/api/tenants/acme/integration-tokens', { token: owner, body: { label: 'x', kind: 'kiosk' } }), 400);

    const created = await call(baseUrl, 'POST', '/api/tenants/acme/integration-tokens', { token: owner, body: { label: 'short-lived' } });
    expect(created.status).toBe(201);
    const { id, token } = created.body as { id: string; token: string };
    const run = (await reporter(token).start({ type: 'demo.external', scope: { key: 'revoked' } })).run;
    expectContractError(await call(baseUrl, 'DELETE', `/api/tenants/acme/integration-tokens/${id}`, { token: manager }), 403);
    expectContractError(await call(baseUrl, 'DELETE', `/api/tenants/globex/integration-tokens/${id}`, { token: globexOwner }), 404);
    expect((await call(baseUrl, 'DELETE', `/api/tenants/acme/integration-tokens/${id}`, { token: owner })).status).toBe(204);

    const revoked = await reporter(token).started(run.id).catch((e: unknown) => e);
    expect(revoked).toBeInstanceOf(RunboardError);
    expect(revoked).toMatchObject({ status: 401, code: 'unauthorized' });
    expectContractError(await post(token, run.id, { kind: 'started' }), 401);
    expectContractError(await call(baseUrl, 'POST', '/api/tenants/acme/runs', { token, body: { type: 'demo.external', scope: { key: 'again' } } }), 401);
    expect(await detail(run.id)).toMatchObject({ status: 'queued', version: 1 });
  });

  it('refuses bad event bodies with 400 validation_failed in the contract shape, changing nothing', async () => {
    const run = await running('bad-bodies');
    const failure = { code: 'item_failed', message: 'x' };
    const cases: [string, unknown][] = [
      ['empty object', {}],
      ['no kind', { succeeded: 1 }],
      ['unknown kind', { kind: 'finished' }],
      ['kind of another case', { kind: 'Progress', succeeded: 1 }],
      ['unknown key', { kind: 'progress', succeeded: 1, bonus: 1 }],
      ['a progress key on started', { kind: 'started', total: 3 }],
      ['abort on progress', { kind: 'progress', abort: true }],
      ['negative count', { kind: 'progress', succeeded: -1 }],
      ['negative total', { kind: 'progress', total: -5 }],
      ['float count', { kind: 'progress', succeeded: 1.5 }],
      ['count as string', { kind: 'progress', succeeded: '3' }],
      ['count as null', { kind: 'progress', failed: null }],
      ['huge count', { kind: 'progress', succeeded: 1e12 }],
      ['abort as string', { kind: 'completed', abort: 'yes' }],
      ['failures not a list', { kind: 'progress', failures: failure }],
      ['1001 failures', { kind: 'progress', failed: 1001, failures: Array(1001).fill(failure) }],
      ['failure without code', { kind: 'progress', failures: [{ message: 'x' }] }],
      ['failure with unknown key', { kind: 'progress', failures: [{ ...failure, stack: 'at x' }] }],
      ['NUL byte in a failure message', { kind: 'progress', failures: [{ ...failure, message: 'a\u0000b' }] }],
      ['huge eventId', { kind: 'progress', succeeded: 1, eventId: 'e'.repeat(10_000) }],
      ['empty eventId', { kind: 'progress', succeeded: 1, eventId: '' }],
      ['eventId as number', { kind: 'progress', succeeded: 1, eventId: 7 }],
      ['NUL byte in eventId', { kind: 'progress', succeeded: 1, eventId: 'a\u0000b' }],
      ['a list', [{ kind: 'started' }]],
      ['a string', 'started'],
    ];
    for (const [name, body] of cases) {
      const answer = await post(integration.token, run.id, body);
      expect(answer.status, name).toBe(400);
      expectContractError(answer, 400);
      expect(answer.body.error.details, name).toEqual(expect.any(Array));
    }
    for (const raw of ['{"kind":"progress",', 'null', '']) {
      const answer = await call(baseUrl, 'POST', `/api/tenants/acme/runs/${run.id}/events`, { token: integration.token, raw });
      expect(answer.status, JSON.stringify(raw)).toBe(400);
      expectContractError(answer, 400);
    }
    const tooLarge = await post(integration.token, run.id, { kind: 'progress', failures: Array(600).fill({ code: 'x', message: 'm'.repeat(200) }) });
    expectContractError(tooLarge, 413);
    // Ids that cannot name a run are simply not found.
    for (const id of ['not-a-uuid', '123', `${run.id}x`, "1' or '1'='1"]) {
      expectContractError(await post(integration.token, encodeURIComponent(id), { kind: 'started' }), 404);
    }
    // The typed client surfaces the details.
    const viaClient = await reporter().progress(run.id, { succeeded: -1 }).catch((e: unknown) => e);
    expect(viaClient).toMatchObject({ status: 400, code: 'validation_failed', details: [{ path: 'succeeded', message: expect.any(String) }] });
    expect(await detail(run.id)).toMatchObject({ version: 2, counts: { total: 0, processed: 0 }, failureCount: 0 });
    // The limits themselves are accepted: 1000 failures, a 200-character eventId.
    const atLimit = await reporter().progress(run.id, { failed: 1000, failures: Array(1000).fill(failure), eventId: 'e'.repeat(200) });
    expect(atLimit).toMatchObject({ version: 3, failureCount: 1000, counts: { failed: 1000 } });
  });

  describe('the typed client retries with the same eventId', () => {
    /** A proxy in front of the server that forwards every request but answers the first `failFirst` events with 503. */
    async function flakyProxy(failFirst: number) {
      const seen: { eventId: unknown; answered: number }[] = [];
      const server: Server = createServer((req, res) => {
        const chunks: Buffer[] = [];
        req.on('data', (chunk: Buffer) => chunks.push(chunk));
        req.on('end', () => {
          const body = Buffer.concat(chunks);
          const forward = httpRequest(`${baseUrl}${req.url}`, { method: req.method, headers: req.headers }, (upstream: IncomingMessage) => {
            const parts: Buffer[] = [];
            upstream.on('data', (chunk: Buffer) => parts.push(chunk));
            upstream.on('end', () => {
              const isEvent = /\/events$/.test(req.url ?? '');
              const failing = isEvent && seen.filter((s) => s.answered === 503).length < failFirst;
              if (isEvent) seen.push({ eventId: (JSON.parse(body.toString()) as { eventId?: unknown }).eventId, answered: failing ? 503 : upstream.statusCode! });
              // The upstream applied the event; the answer is "lost" on the way back.
              if (failing) res.writeHead(503, { 'content-type': 'application/json' }).end('{"error":{"code":"unavailable","message":"proxy"}}');
              else res.writeHead(upstream.statusCode!, upstream.headers).end(Buffer.concat(parts));
            });
          });
          forward.end(body);
        });
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      return { url, seen, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
    }

    it('a 503 whose event was in fact applied: the retry is recognised, the event applied once', async () => {
      const run = await running('retry-503');
      const proxy = await flakyProxy(2);
      try {
        const client = createRunboardClient({ baseUrl: proxy.url, token: integration.token, retry: { attempts: 4, baseDelayMs: 10 } }).reporter('acme');
        const after = await client.progress(run.id, { total: 5, succeeded: 2 });
        expect(proxy.seen.map((s) => s.answered)).toEqual([503, 503, 200]);
        expect(new Set(proxy.seen.map((s) => s.eventId)).size).toBe(1);
        expect(after).toMatchObject({ version: 3, counts: { total: 5, succeeded: 2 } });
        expect(await detail(run.id)).toMatchObject({ version: 3, counts: { succeeded: 2 } });
      } finally {
        await proxy.close();
      }
    });

    it('a network failure before the request left is retried with the same eventId; retries are bounded', async () => {
      const run = await running('retry-network');
      const once = recordingFetch((_call, index) => (index === 0 ? 'network' : null));
      const after = await reporter(integration.token, { fetch: once.fetch }).progress(run.id, { succeeded: 3 });
      expect(once.calls.map((c) => c.status)).toEqual(['network_error', 200]);
      expect(once.calls[0]!.body).toEqual(once.calls[1]!.body);
      expect(after).toMatchObject({ version: 3, counts: { succeeded: 3 } });

      const never = recordingFetch(() => 'network');
      const error = await reporter(integration.token, { fetch: never.fetch }).completed(run.id).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(RunboardError);
      expect(error).toMatchObject({ status: 0, code: 'network_error' });
      expect(never.calls).toHaveLength(3);
      expect(new Set(never.calls.map((c) => c.body?.eventId)).size).toBe(1);
      expect(await detail(run.id)).toMatchObject({ status: 'running', version: 3 });
    });

    it('reportRun: the whole life in one call, and a thrown error ends the run failed with a sanitized failure', async () => {
      const runboard = createRunboardClient({ baseUrl, token: integration.token });
      const { run, result } = await runboard.reportRun(
        'acme',
        { type: 'demo.external', scope: { key: 'report-run' }, initiator: { email: acme.users.operator.email } },
        async (work) => {
          expect(work.run.status).toBe('running');
          await work.progress({ total: 3, succeeded: 2 });
          await work.progress({ skipped: 1 });
          return 'restored';
        },
      );
      expect(result).toBe('restored');
      expect(run).toMatchObject({ status: 'completed', outcome: 'succeeded', version: 5, counts: { total: 3, processed: 3, succeeded: 2, skipped: 1 } });

      let failedRunId = '';
      const thrown = await runboard.reportRun('acme', { type: 'demo.external', scope: { key: 'report-run-fails' } }, async (work) => {
        failedRunId = work.run.id;
        await work.progress({ total: 4, succeeded: 1 });
        throw new Error(`restore aborted: redis://:${SECRET}@cache:6379 refused`);
      }).catch((e: unknown) => e);
      expect((thrown as Error).message).toContain('restore aborted');
      const failed = await detail(failedRunId);
      expect(failed).toMatchObject({ status: 'completed', outcome: 'failed', counts: { succeeded: 1 }, failureCount: 1 });
      expect(failed.failures).toEqual([{ code: 'workflow_failed', message: expect.stringContaining('restore aborted') }]);
      expect(JSON.stringify(failed)).not.toContain(SECRET);
    });
  });
});

describe('mirrored runs with a worker', () => {
  let system: System;
  let acme: Seeded;
  let client: RunReporter;
  const STALL_MS = 3_000;

  beforeAll(async () => {
    system = await startSystem({ env: { RUN_STALL_TIMEOUT_MS: String(STALL_MS) } });
    acme = system.tenants.acme!;
    const { token } = await system.env.services.auth.createTenantToken('integration', acme.tenant.id, 'restore service', null);
    client = createRunboardClient({ baseUrl: system.app.baseUrl, token, retry: { attempts: 3, baseDelayMs: 20 } }).reporter('acme');
  });

  afterAll(async () => {
    await system?.stop();
  });

  const notified = (runId: string) =>
    system.feed.users.flatMap((u) => (u.type === 'notification:new' && u.notification.runId === runId ? [u] : []));

  it('a queued mirrored run waits for its `started` however long: no worker starts or fails it', async () => {
    const { run } = await client.start({ type: 'demo.external', scope: { key: 'patient' } });
    // A queued run whose job is gone: the worker's re-dispatch (after ~STALL_MS/2) must pick it up and run it.
    // Its completion shows the worker has looked at every run queued since before it — the mirrored one too.
    const orphan = await system.env.services.lifecycle.start({
      tenant: acme.tenant,
      declaration: demoBatch,
      scope: demoBatch.scope.parse({ items: 3, itemMs: 100, key: 'orphan' }) as Record<string, unknown>,
      initiatorId: null,
      by: TEST_AUTHOR,
    });
    expect(orphan.reused).toBe(false);
    await system.feed.completed(orphan.run.id, 20_000);
    const stillQueued = await call(system.app.baseUrl, 'GET', `/api/tenants/acme/runs/${run.id}`, {
      token: await login(system.app.baseUrl, acme.users.operator.email),
    });
    expect(stillQueued.body.run).toMatchObject({ status: 'queued', outcome: 'pending', version: 1, failureCount: 0, startedAt: null });
    expect(system.feed.forRun(run.id).map((c) => c.kind)).toEqual(['queued']);
    expect(await client.started(run.id)).toMatchObject({ status: 'running', version: 2 });
    await client.completed(run.id);
  }, 40_000);

  it('events keep a mirrored run alive; once it goes silent after `started` it ends failed/worker_lost and its initiator hears of it', async () => {
    const { run } = await client.start({ type: 'demo.external', scope: { key: 'silent' }, initiator: { email: acme.users.operator.email } });
    await client.started(run.id);
    await client.progress(run.id, { total: 100 });
    // Reporting at a steady pace for longer than the stall timeout keeps it running (events are heartbeats).
    const reportingSince = Date.now();
    // The last answer is the committed row (its push may still be on its way to the recorder).
    let kept = run;
    while (Date.now() - reportingSince < STALL_MS * 1.5) {
      await new Promise((resolve) => setTimeout(resolve, STALL_MS / 4));
      kept = await client.progress(run.id, { succeeded: 1 }).catch((error: unknown) => {
        throw new Error(`the run was ended while still reporting: ${String(error)}`);
      });
    }
    expect(kept.status).toBe('running');
    const succeeded = kept.counts.succeeded;

    // Now silence: the sweeper ends it within the stall timeout plus a sweep interval.
    const silentSince = Date.now();
    const ended = await system.feed.completed(run.id, STALL_MS * 4);
    expect(Date.now() - silentSince).toBeGreaterThanOrEqual(STALL_MS - 500);
    expect(ended.run).toMatchObject({ status: 'completed', outcome: 'failed', bucket: 'failed', failureCount: 1, counts: { total: 100, succeeded } });
    const stored = await call(system.app.baseUrl, 'GET', `/api/tenants/acme/runs/${run.id}`, {
      token: await login(system.app.baseUrl, acme.users.operator.email),
    });
    expect(stored.body.run.failures).toEqual([{ code: 'worker_lost', message: expect.any(String) }]);

    await system.feed.until(() => notified(run.id).length === 2, 10_000, 'queued and failed notifications');
    expect(notified(run.id).map((n) => [n.userId, n.notification.level])).toEqual([
      [acme.users.operator.id, 'info'],
      [acme.users.operator.id, 'danger'],
    ]);
    // A late report cannot revive it.
    const late = await client.progress(run.id, { succeeded: 1 }).catch((e: unknown) => e);
    expect(late).toMatchObject({ status: 409, code: 'invalid_transition' });
  }, 40_000);
});

