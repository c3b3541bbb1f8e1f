// The live path across real processes: two gateway processes and a worker process sharing PostgreSQL and
// Redis, hundreds of sockets over loopback and logout on another node (the client that stops reading is in
// tests/security/limits.test.ts, a Redis restart under load in tests/chaos/redis-restart.test.ts). Figures are
// logged for information only; nothing here asserts speed.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunUpdatePayload } from '../../server/live/events.ts';
import { call, login } from '../helpers/app.ts';
import { RecordingClient } from '../helpers/live.ts';
import { spawnGateway, spawnWorkerProcess, stopAll, type GatewayProcess, type ServiceProcess } from '../helpers/processes.ts';
import { createTestEnv, seedTenant, type Seeded, type TestEnv } from '../helpers/stack.ts';

type LiveRun = RunUpdatePayload['run'];

/** Starts every process given; if any fails, the ones that did start are still returned for afterAll to stop. */
async function startAllProcesses<const T extends readonly Promise<ServiceProcess>[]>(
  started: ServiceProcess[],
  starts: T,
): Promise<{ -readonly [K in keyof T]: Awaited<T[K]> }> {
  const settled = await Promise.allSettled(starts);
  for (const s of settled) if (s.status === 'fulfilled') started.push(s.value);
  const failed = settled.find((s) => s.status === 'rejected');
  if (failed) throw (failed as PromiseRejectedResult).reason;
  return settled.map((s) => (s as PromiseFulfilledResult<ServiceProcess>).value) as { -readonly [K in keyof T]: Awaited<T[K]> };
}

/** Connects `count` clients in small waves (so 200 handshakes do not all hit a 2-core box at once). */
async function connectMany(count: number, target: (i: number) => { baseUrl: string; token: string }, into: RecordingClient[]): Promise<RecordingClient[]> {
  const made: RecordingClient[] = [];
  for (let first = 0; first < count; first += 40) {
    const wave = await Promise.all(
      Array.from({ length: Math.min(40, count - first) }, (_, k) => {
        const { baseUrl, token } = target(first + k);
        return RecordingClient.connect(baseUrl, { token }).then((client) => {
          into.push(client);
          return client;
        });
      }),
    );
    made.push(...wave);
  }
  return made;
}

async function subscribeAll(clients: RecordingClient[], tenant: string): Promise<void> {
  const answers = await Promise.all(clients.map((c) => c.subscribe({ tenant })));
  expect(answers.filter((a) => !a.ok)).toEqual([]);
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;

/** The HTTP truth of a tenant's runs (the list omits failures, like the live payload). */
async function readRuns(baseUrl: string, token: string, tenant = 'acme'): Promise<Map<string, LiveRun>> {
  const response = await call(baseUrl, 'GET', `/api/tenants/${tenant}/runs?limit=500`, { token });
  if (response.status !== 200) throw new Error(`GET runs → ${response.status} ${JSON.stringify(response.body)}`);
  return new Map((response.body.runs as (LiveRun & { failures?: unknown })[]).map(({ failures: _f, ...run }) => [run.id, run]));
}

describe('live path at scale: two gateway processes and one worker process', () => {
  let env: TestEnv;
  let acme: Seeded;
  let gatewayA: GatewayProcess;
  let gatewayB: GatewayProcess;
  const processes: ServiceProcess[] = [];
  const clients: RecordingClient[] = [];

  const closeClients = () => {
    for (const client of clients.splice(0)) client.close();
  };

  beforeAll(async () => {
    env = await createTestEnv();
    acme = await seedTenant(env.services, 'acme');
    await seedTenant(env.services, 'globex');
    // The worker gets enough concurrency that 50 short runs overlap (and finish in a few seconds).
    [gatewayA, gatewayB] = await startAllProcesses(processes, [spawnGateway(env), spawnGateway(env), spawnWorkerProcess(env, { WORKER_CONCURRENCY: '10' })]);
  }, 90_000);

  afterAll(async () => {
    closeClients();
    await stopAll(processes);
    await env?.cleanup();
  }, 60_000);

  it('200 clients over both gateways each receive the completion of all 50 concurrent runs, versions strictly increasing', async () => {
    const gateways = [gatewayA, gatewayB];
    // A few sessions per user, logged in on either gateway, reused by many sockets.
    const roles = ['owner', 'manager', 'operator', 'readonly'] as const;
    const tokens = await Promise.all(roles.flatMap((role, i) => [0, 1].map((g) => login(gateways[(i + g) % 2]!.baseUrl, acme.users[role].email))));
    const starter = await login(gatewayA.baseUrl, acme.users.operator.email);

    type Track = { gateway: number; completedAt: Map<string, number>; versions: Map<string, number>; violations: string[]; updates: number };
    const tracks: Track[] = [];
    const latencies: number[] = [];
    const expected = new Set<string>();
    let wake: () => void = () => undefined;
    const CLIENTS = 200;

    const live = await connectMany(CLIENTS, (i) => ({ baseUrl: gateways[i % 2]!.baseUrl, token: tokens[i % tokens.length]! }), clients);
    live.forEach((client, i) => {
      const track: Track = { gateway: i % 2, completedAt: new Map(), versions: new Map(), violations: [], updates: 0 };
      tracks.push(track);
      client.socket.on('run:update', ({ kind, run }) => {
        const receivedAt = Date.now();
        track.updates += 1;
        const previous = track.versions.get(run.id);
        if (previous !== undefined && run.version <= previous) track.violations.push(`${run.id}: v${run.version} after v${previous}`);
        track.versions.set(run.id, Math.max(previous ?? 0, run.version));
        if (kind === 'completed') {
          track.completedAt.set(run.id, receivedAt);
          latencies.push(receivedAt - Date.parse(run.updatedAt));
          wake();
        }
      });
    });
    await subscribeAll(live, 'acme');

    const RUNS = 50;
    const startedVia = new Map<string, number>();
    const answers = await Promise.all(
      Array.from({ length: RUNS }, (_, i) =>
        call(gateways[i % 2]!.baseUrl, 'POST', '/api/tenants/acme/runs', {
          token: starter,
          body: { type: 'demo.batch', scope: { items: 6, itemMs: 40, key: `scale-${i}` } },
        }),
      ),
    );
    expect(answers.map((a) => a.status)).toEqual(Array(RUNS).fill(202));
    answers.forEach((a, i) => {
      expected.add(a.body.run.id);
      startedVia.set(a.body.run.id, i % 2);
    });

    const missing = () => tracks.reduce((n, t) => n + [...expected].filter((id) => !t.completedAt.has(id)).length, 0);
    const t0 = Date.now();
    await new Promise<void>((resolve) => {
      const deadline = setTimeout(resolve, 60_000);
      wake = () => {
        if (missing() === 0) {
          clearTimeout(deadline);
          resolve();
        }
      };
      wake();
    });
    const drainedMs = Date.now() - t0;

    // 0 lost terminal transitions: every client has the completion of every run.
    const lost = tracks.flatMap((t, i) => [...expected].filter((id) => !t.completedAt.has(id)).map((id) => `client ${i} (gateway ${'AB'[t.gateway]}) missed ${id}`));
    expect(lost.slice(0, 10), `${lost.length} missed completions`).toEqual([]);
    expect(tracks.flatMap((t) => t.violations).slice(0, 10)).toEqual([]);
    // A client on gateway A saw every run started through gateway B's API (and vice versa).
    const viaB = [...startedVia].filter(([, g]) => g === 1).map(([id]) => id);
    const viaA = [...startedVia].filter(([, g]) => g === 0).map(([id]) => id);
    expect(viaB.length).toBeGreaterThan(0);
    for (const t of tracks) {
      const foreign = t.gateway === 0 ? viaB : viaA;
      expect(foreign.every((id) => t.completedAt.has(id))).toBe(true);
    }
    // What the sockets got last is the committed row the API serves.
    const truth = await readRuns(gatewayB.baseUrl, starter);
    for (const id of expected) {
      expect(truth.get(id)?.status).toBe('completed');
      for (const t of tracks) expect(t.versions.get(id)).toBe(truth.get(id)!.version);
    }

    const sorted = [...latencies].sort((a, b) => a - b);
    const deliveries = tracks.reduce((n, t) => n + t.updates, 0);
    console.log(
      `[live-scale] ${CLIENTS} clients, ${RUNS} runs: ${deliveries} run:update deliveries (${sorted.length} completed), ` +
        `all completions received ${drainedMs} ms after the starts answered; completed latency (receipt − run.updatedAt) ` +
        `p50 ${percentile(sorted, 50)} ms, p99 ${percentile(sorted, 99)} ms, max ${sorted.at(-1)} ms`,
    );
    closeClients();
  }, 120_000);

  it('logout and kiosk revocation through gateway B disconnect the sockets held on gateway A within 5 s', async () => {
    const token = await login(gatewayB.baseUrl, acme.users.operator.email);
    const session = await RecordingClient.connect(gatewayA.baseUrl, { token });
    clients.push(session);
    expect(await session.subscribe({ tenant: 'acme' })).toEqual({ ok: true });

    let t0 = Date.now();
    const sessionGone = session.disconnected(5_000);
    expect((await call(gatewayB.baseUrl, 'POST', '/api/auth/logout', { token })).status).toBe(204);
    expect(await sessionGone).toBe('io server disconnect');
    const sessionMs = Date.now() - t0;
    expect(sessionMs).toBeLessThan(5_000);
    await expect(RecordingClient.connect(gatewayA.baseUrl, { token })).rejects.toThrow('unauthorized');

    const manager = await login(gatewayB.baseUrl, acme.users.manager.email);
    const kiosk = await call(gatewayB.baseUrl, 'POST', '/api/tenants/acme/kiosk-tokens', { token: manager, body: { label: 'NOC wall on A' } });
    expect(kiosk.status).toBe(201);
    const wall = await RecordingClient.connect(gatewayA.baseUrl, { token: kiosk.body.token });
    clients.push(wall);
    expect(await wall.subscribe({ tenant: 'acme' })).toEqual({ ok: true });

    t0 = Date.now();
    const wallGone = wall.disconnected(5_000);
    expect((await call(gatewayB.baseUrl, 'DELETE', `/api/tenants/acme/kiosk-tokens/${kiosk.body.id}`, { token: manager })).status).toBe(204);
    expect(await wallGone).toBe('io server disconnect');
    const wallMs = Date.now() - t0;
    expect(wallMs).toBeLessThan(5_000);
    await expect(RecordingClient.connect(gatewayA.baseUrl, { token: kiosk.body.token })).rejects.toThrow('unauthorized');
    console.log(`[live-scale] cross-gateway disconnect: logout ${sessionMs} ms, kiosk revocation ${wallMs} ms`);
    closeClients();
  }, 30_000);
});
