import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { call, login, ROOT, startSystem, type ChangefeedRecorder, type RunningApp, type System } from '../helpers/app.ts';
import { SOCKET_LIMITS } from '../../server/live/context.ts';
import { RecordingClient, refusal } from '../helpers/live.ts';
import type { Seeded, TestEnv } from '../helpers/stack.ts';

describe('live channel', () => {
  let system: System;
  let env: TestEnv;
  let app: RunningApp;
  let feed: ChangefeedRecorder;
  let acme: Seeded;
  let globex: Seeded;
  const clients: RecordingClient[] = [];

  const connect = async (token: string, options: Parameters<typeof RecordingClient.connect>[1] = {}) => {
    const client = await RecordingClient.connect(app.baseUrl, { token, ...options });
    clients.push(client);
    return client;
  };

  beforeAll(async () => {
    system = await startSystem({ tenants: ['acme', 'globex'] });
    ({ env, app, feed } = system);
    acme = system.tenants.acme!;
    globex = system.tenants.globex!;
  });

  afterAll(async () => {
    for (const client of clients) client.close();
    await system?.stop();
  });

  const start = (token: string, tenant: string, scope: Record<string, unknown>) =>
    call(app.baseUrl, 'POST', `/api/tenants/${tenant}/runs`, { token, body: { type: 'demo.batch', scope } });

  it('alice with two tabs gets every transition of her tenant in version order; bob in another tenant gets none', async () => {
    const alice = await login(app.baseUrl, acme.users.operator.email);
    const bob = await login(app.baseUrl, globex.users.operator.email);
    const [tab1, tab2, bobTab] = await Promise.all([connect(alice), connect(alice), connect(bob)]);
    expect(await tab1.subscribe({ tenant: 'acme' })).toEqual({ ok: true });
    expect(await tab2.subscribe({ tenant: 'acme' })).toEqual({ ok: true });
    expect(await bobTab.subscribe({ tenant: 'globex' })).toEqual({ ok: true });

    // First prove bob's client does receive his own tenant's updates…
    const bobs = await start(bob, 'globex', { items: 2, itemMs: 5, key: 'bob' });
    await bobTab.until(() => bobTab.of('run:update').some((u) => u.run.id === bobs.body.run.id && u.kind === 'completed'));

    // …then that he receives nothing of alice's.
    const started = await start(alice, 'acme', { items: 20, itemMs: 40, failEvery: 7, key: 'alice' });
    const runId: string = started.body.run.id;
    for (const tab of [tab1, tab2]) {
      await tab.until(() => tab.of('run:update').some((u) => u.run.id === runId && u.kind === 'completed'), 20_000, 'completed');
      const updates = tab.of('run:update').filter((u) => u.run.id === runId);
      expect(updates.map((u) => u.kind)).toEqual(expect.arrayContaining(['queued', 'started', 'progress', 'completed']));
      const versions = updates.map((u) => u.run.version);
      expect(versions).toEqual([...versions].sort((a, b) => a - b));
      expect(new Set(versions).size).toBe(versions.length);
      const detail = await call(app.baseUrl, 'GET', `/api/tenants/acme/runs/${runId}`, { token: alice });
      const { failures: _failures, ...withoutFailures } = detail.body.run;
      expect(updates.at(-1)!.run).toEqual(withoutFailures);
      expect(updates.at(-1)!.tenant).toBe('acme');
    }
    // Wait until the feed saw the run completed plus the notification, then check bob once more.
    await feed.completed(runId);
    expect(bobTab.events.some((e) => JSON.stringify(e.payload).includes(runId))).toBe(false);
    expect(bobTab.of('notification:new')).toHaveLength(2);
    expect(bobTab.of('notification:new').every((n) => n.notification.tenant === 'globex')).toBe(true);
  });

  it('the initiator’s tabs all get notification:new; reading in one tab tells the other', async () => {
    const token = await login(app.baseUrl, acme.users.manager.email);
    const otherMember = await login(app.baseUrl, acme.users.readonly.email);
    const [tab1, tab2, bystander] = await Promise.all([connect(token), connect(token), connect(otherMember)]);
    const started = await start(token, 'acme', { items: 1, itemMs: 1, key: 'notify' });
    const runId: string = started.body.run.id;
    for (const tab of [tab1, tab2]) {
      await tab.until(() => tab.of('notification:new').filter((n) => n.notification.runId === runId).length === 2, 15_000);
      const [queued, done] = tab.of('notification:new').filter((n) => n.notification.runId === runId);
      expect(queued!.notification.level).toBe('info');
      expect(done!.notification.level).toBe('success');
      expect(done!.unreadCount).toBe(2);
    }
    const id = tab1.of('notification:new').find((n) => n.notification.runId === runId)!.notification.id;
    expect((await call(app.baseUrl, 'POST', `/api/notifications/${id}/read`, { token })).status).toBe(204);
    await tab2.until(() => tab2.of('notification:read').length > 0, 10_000, 'notification:read');
    expect(tab2.of('notification:read')[0]).toEqual({ ids: [id], unreadCount: 1 });
    expect(bystander.of('notification:new')).toHaveLength(0);
  });

  it('refuses bad handshakes with connect_error "unauthorized"', async () => {
    expect(await refusal(app.baseUrl, {})).toBe('unauthorized');
    expect(await refusal(app.baseUrl, { token: 'not-a-token' })).toBe('unauthorized');
    expect(await refusal(app.baseUrl, { token: `rbu_${'A'.repeat(43)}` })).toBe('unauthorized');
    const token = await login(app.baseUrl, acme.users.operator.email);
    expect(await call(app.baseUrl, 'POST', '/api/auth/logout', { token }).then((r) => r.status)).toBe(204);
    expect(await refusal(app.baseUrl, { token })).toBe('unauthorized');
  });

  it('the session cookie authenticates the handshake; a foreign Origin is refused', async () => {
    const token = await login(app.baseUrl, acme.users.operator.email);
    const viaCookie = await connect('', { headers: { cookie: `rb_session=${token}` } });
    expect(await viaCookie.subscribe({ tenant: 'acme' })).toEqual({ ok: true });
    expect(await refusal(app.baseUrl, { token, headers: { origin: 'https://evil.example' } })).not.toBe('connected');
    const own = new URL(app.baseUrl);
    expect(await refusal(app.baseUrl, { token, headers: { origin: own.origin } })).toBe('connected');
  });

  it('refuses subscriptions it must: non-member, kiosk of another tenant, malformed payloads — the socket stays usable', async () => {
    const token = await login(app.baseUrl, acme.users.readonly.email);
    const client = await connect(token);
    expect(await client.subscribe({ tenant: 'globex' })).toEqual({ ok: false, error: 'forbidden' });
    expect(await client.subscribe({ tenant: 'does-not-exist' })).toEqual({ ok: false, error: 'forbidden' });
    for (const bad of [null, 'acme', 42, [], {}, { tenant: 5 }, { tenant: '' }, { tenant: 'x'.repeat(65) }, { tenant: 'acme', extra: 1 }]) {
      expect(await client.subscribe(bad)).toEqual({ ok: false, error: 'invalid' });
    }
    expect(await client.subscribe({ tenant: 'acme' })).toEqual({ ok: true });

    const owner = await login(app.baseUrl, globex.users.owner.email);
    const kiosk = await call(app.baseUrl, 'POST', '/api/tenants/globex/kiosk-tokens', { token: owner, body: { label: 'wall' } });
    const wall = await connect(kiosk.body.token);
    expect(await wall.subscribe({ tenant: 'acme' })).toEqual({ ok: false, error: 'forbidden' });
    expect(await wall.subscribe({ tenant: 'globex' })).toEqual({ ok: true });
    expect(wall.socket.connected).toBe(true);
  });

  it('an oversize message closes only that socket', async () => {
    const token = await login(app.baseUrl, acme.users.operator.email);
    const [big, bystander] = await Promise.all([connect(token), connect(token)]);
    const gone = big.disconnected();
    big.socket.emit('subscribe', { tenant: 'x'.repeat(100_000) }, () => undefined);
    await gone;
    expect(await bystander.subscribe({ tenant: 'acme' })).toEqual({ ok: true });
  });

  it('logout and kiosk revocation disconnect open sockets within 5 s', async () => {
    const token = await login(app.baseUrl, acme.users.operator.email);
    const session = await connect(token);
    const manager = await login(app.baseUrl, acme.users.manager.email);
    const kiosk = await call(app.baseUrl, 'POST', '/api/tenants/acme/kiosk-tokens', { token: manager, body: { label: 'noc' } });
    const wall = await connect(kiosk.body.token);
    expect(await wall.subscribe({ tenant: 'acme' })).toEqual({ ok: true });

    const t0 = Date.now();
    const [sessionGone, wallGone] = [session.disconnected(5_000), wall.disconnected(5_000)];
    await call(app.baseUrl, 'POST', '/api/auth/logout', { token });
    await call(app.baseUrl, 'DELETE', `/api/tenants/acme/kiosk-tokens/${kiosk.body.id}`, { token: manager });
    await Promise.all([sessionGone, wallGone]);
    expect(Date.now() - t0).toBeLessThan(5_000);
  });

  it('a member removed while subscribed stops receiving the tenant at once', async () => {
    await env.services.tenants.createUser({ email: 'temp@acme.test', name: 'Temp', passwordHash: (await import('../helpers/stack.ts').then((m) => m.testPasswordHash())) });
    await env.services.tenants.addMember('acme', 'temp@acme.test', 'readonly');
    const token = await login(app.baseUrl, 'temp@acme.test');
    const client = await connect(token);
    expect(await client.subscribe({ tenant: 'acme' })).toEqual({ ok: true });
    await env.services.tenants.removeMember('acme', 'temp@acme.test');
    const operator = await login(app.baseUrl, acme.users.operator.email);
    const watcher = await connect(operator);
    await watcher.subscribe({ tenant: 'acme' });
    // The removal's control message precedes this run's changes on the same Redis connection.
    const started = await start(operator, 'acme', { items: 1, itemMs: 1, key: 'after-removal' });
    await watcher.until(() => watcher.of('run:update').some((u) => u.run.id === started.body.run.id && u.kind === 'completed'));
    expect(client.of('run:update').some((u) => u.run.id === started.body.run.id)).toBe(false);
    expect(await client.subscribe({ tenant: 'acme' })).toEqual({ ok: false, error: 'forbidden' });
  });

  it('npm run watch prints a tenant’s transitions as they arrive, and refuses a bad token', async () => {
    const token = await login(app.baseUrl, acme.users.operator.email);
    const watch = (args: string[]) =>
      spawn(process.execPath, ['--import', 'tsx', 'scripts/watch.ts', '--url', app.baseUrl, ...args], {
        cwd: ROOT,
        env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
    const child = watch(['--tenant', 'acme', '--token', token]);
    try {
      const lines: string[] = [];
      const seen = (pattern: RegExp, what: string) =>
        new Promise<void>((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error(`watch never printed ${what}: ${lines.join('\n')}`)), 20_000);
          const check = () => {
            if (lines.some((l) => pattern.test(l))) {
              clearTimeout(timer);
              resolve();
            }
          };
          createInterface({ input: child.stdout! }).on('line', (l) => {
            lines.push(l);
            check();
          });
          check();
        });
      await seen(/live on/, 'that it is live');
      const started = await start(token, 'acme', { items: 3, itemMs: 5, failEvery: 3, key: 'watch-cli' });
      await seen(new RegExp(`completed\\s+partially_succeeded.*${started.body.run.id}`), 'the completion');
    } finally {
      child.kill('SIGTERM');
    }
    const refused = watch(['--tenant', 'acme', '--token', 'nope']);
    const stderr: string[] = [];
    refused.stderr!.on('data', (chunk: Buffer) => stderr.push(chunk.toString()));
    const code = await new Promise<number | null>((resolve) => refused.once('exit', resolve));
    expect(code).toBe(2);
    expect(stderr.join('')).toContain('unauthorized');
  });

  it('/metrics shows live sockets, deliveries and relay lag', async () => {
    const token = await login(app.baseUrl, acme.users.operator.email);
    const client = await connect(token);
    await client.subscribe({ tenant: 'acme' });
    const started = await start(token, 'acme', { items: 1, itemMs: 1, key: 'metrics' });
    await client.until(() => client.of('run:update').some((u) => u.run.id === started.body.run.id && u.kind === 'completed'));
    const metrics = await call<string>(app.baseUrl, 'GET', '/metrics');
    const value = (pattern: RegExp) => Number(pattern.exec(metrics.body)?.[1] ?? NaN);
    expect(value(/^runboard_live_sockets\{kind="user"\} (\d+)/m)).toBeGreaterThan(0);
    expect(value(/^runboard_live_deliveries_total\{event="run:update"\} (\d+)/m)).toBeGreaterThan(0);
    expect(value(/^runboard_live_relay_lag_seconds_count (\d+)/m)).toBeGreaterThan(0);
    expect(value(/^runboard_live_refused_handshakes_total\{reason="unauthorized"\} (\d+)/m)).toBeGreaterThan(0);
  });

  it('a publisher whose Redis link came back makes every gateway send resync', async () => {
    const token = await login(app.baseUrl, acme.users.operator.email);
    const client = await connect(token);
    // What a worker's or server's changefeed publishes once its Redis connection is ready again.
    await env.services.changefeed.control({ type: 'resync' });
    await client.until(() => client.of('resync').length > 0, 10_000, 'resync');
    expect(client.of('resync')[0]).toEqual({});
  });

  it('one token opens at most SOCKET_LIMITS.socketsPerToken sockets on a gateway', async () => {
    const token = await login(app.baseUrl, acme.users.readonly.email);
    const opened = await Promise.all(Array.from({ length: SOCKET_LIMITS.socketsPerToken }, () => connect(token)));
    expect(opened.every((c) => c.socket.connected)).toBe(true);
    expect(await refusal(app.baseUrl, { token })).toBe('too_many_connections');
    // Another token is not affected, and closing one socket makes room again.
    const other = await login(app.baseUrl, acme.users.readonly.email);
    expect(await refusal(app.baseUrl, { token: other })).toBe('connected');
    const gone = opened[0]!.disconnected();
    opened[0]!.close();
    await gone;
    await expect.poll(() => refusal(app.baseUrl, { token }), { timeout: 5_000 }).toBe('connected');
  });
});
