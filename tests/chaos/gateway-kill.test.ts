// Chaos: two gateway processes share PostgreSQL and Redis; the clients watching runs are on gateway A, which
// is SIGKILLed. The clients reconnect to gateway B and must show the HTTP truth within 1 s of connecting
// (docs/api.md §4: after any reconnect the client re-synchronises), including runs that ended while they were
// away; runs keep completing and no client's final view misses a terminal transition.
//
// Failover: Socket.IO clients take one URL, and production puts a load balancer behind it. The test does the
// same with a small TCP proxy (FailoverProxy) in front of A and B: connections go to A while it accepts them
// and to B once A refuses. While A is being killed the proxy holds new connections for a moment, as a
// balancer does until its health check notices a dead node — long enough for some runs to end unseen.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, login } from '../helpers/app.ts';
import { awaitConvergence, FailoverProxy, Fleet, openBoards, percentile, readRuns, reconnectWave, settle, viewEquals, type BoardClient } from '../helpers/chaos.ts';
import { spawnGateway, spawnWorkerProcess, type GatewayProcess } from '../helpers/processes.ts';
import { createTestEnv, seedTenant, type Seeded, type TestEnv } from '../helpers/stack.ts';

const CLIENTS = 20;
const RUNS = 10;
/** The promise: a reconnected client shows the truth within 1 s of connecting. */
const CONVERGE_TARGET_MS = 1_000;
/** How far behind the truth a live view may be while runs move (pushes take a moment to arrive). */
const PUSH_LAG_MS = 1_000;

describe('chaos: a gateway process killed under its clients', () => {
  let env: TestEnv;
  let acme: Seeded;
  let gatewayA: GatewayProcess;
  let gatewayB: GatewayProcess;
  let proxy: FailoverProxy | undefined;
  const fleet = new Fleet();
  const clients: BoardClient[] = [];

  beforeAll(async () => {
    env = await createTestEnv();
    acme = await seedTenant(env.services, 'acme');
    [gatewayA, gatewayB] = await fleet.start(
      ['gateway A', 'gateway B', 'worker'],
      [spawnGateway(env), spawnGateway(env), spawnWorkerProcess(env, { WORKER_CONCURRENCY: String(RUNS) })],
    );
    proxy = await FailoverProxy.start([gatewayA.port, gatewayB.port]);
  }, 90_000);

  afterAll(async () => {
    for (const client of clients) client.close();
    await proxy?.close();
    await fleet.stop();
    await env?.cleanup();
  }, 60_000);

  it('clients fail over to gateway B and equal the HTTP truth within 1 s of connecting; no terminal transition is missed', async () => {
    const front = proxy!;
    const [operator, readonly] = await Promise.all([login(front.url, acme.users.operator.email), login(front.url, acme.users.readonly.email)]);
    const tokens = [operator, readonly];
    // The truth is read from B directly: it is the node that stays.
    const truth = () => readRuns(gatewayB.baseUrl, operator);
    await openBoards(CLIENTS, (i) => ({ baseUrl: front.url, token: tokens[i % 2]! }), clients, { reconnect: true });
    expect(front.backend, 'clients are on gateway A').toBe(gatewayA.port);
    // What a reconnect of every client costs this machine now: the bound is the promise plus two such waves.
    const wave = await reconnectWave(clients);
    const bound = CONVERGE_TARGET_MS + 2 * wave;

    // Half the runs end while the clients are away, half keep running after they are back.
    const started = await Promise.all(
      Array.from({ length: RUNS }, (_, i) =>
        call(front.url, 'POST', '/api/tenants/acme/runs', {
          token: operator,
          body: { type: 'demo.batch', scope: { key: `failover-${i}`, itemMs: 100, items: i % 2 === 0 ? 20 : 80 } },
        }),
      ),
    );
    expect(started.map((s) => s.status)).toEqual(Array(RUNS).fill(202));
    const runIds: string[] = started.map((s) => s.body.run.id);
    const endWhileAway = runIds.filter((_, i) => i % 2 === 0);
    const watcher = clients[0]!;
    await watcher.until(() => runIds.every((id) => watcher.store.latest(id)?.status === 'running'), 30_000, 'every run to be running');

    front.hold();
    await fleet.kill(gatewayA);
    const killedAt = Date.now();
    await Promise.all(clients.map((c) => c.until(() => !c.socket.connected, 10_000, 'the disconnect')));
    const away = await settle(truth, (t) => endWhileAway.every((id) => t.get(id)?.status === 'completed'), 20_000);
    expect(endWhileAway.map((id) => away.get(id)?.status), 'runs that ended while the clients were away').toEqual(endWhileAway.map(() => 'completed'));
    front.release();
    const releasedAt = Date.now();

    const reconnected = (c: BoardClient) => c.socket.connected && (c.connectedAt ?? 0) >= releasedAt;
    const { convergedAt, problems } = await awaitConvergence(clients, truth, {
      deadline: releasedAt + 20_000,
      eligible: reconnected,
      lagMs: PUSH_LAG_MS,
      baseline: away,
    });
    expect([...problems.values()].slice(0, 3), `${problems.size} of ${CLIENTS} clients never matched the truth`).toEqual([]);
    expect(front.backend, 'clients are on gateway B').toBe(gatewayB.port);
    const connectToTruth = clients.map((c) => convergedAt.get(c)! - c.connectedAt!);
    const connectToSync = clients.map((c) => c.syncedAt! - c.connectedAt!);
    const reconnectAfter = clients.map((c) => c.connectedAt! - releasedAt);
    console.log(
      `[chaos] gateway SIGKILL: ${CLIENTS} clients failed over to the other gateway (connected ${Math.min(...reconnectAfter)}–${Math.max(...reconnectAfter)} ms ` +
        `after the balancer let them through; ${endWhileAway.length} runs ended while they were away). Connect → re-read done p50 ` +
        `${percentile(connectToSync, 50)} / max ${Math.max(...connectToSync)} ms; connect → equal to the HTTP truth p50 ${percentile(connectToTruth, 50)} / ` +
        `max ${Math.max(...connectToTruth)} ms (target ${CONVERGE_TARGET_MS} ms; asserted ≤ ${bound} ms: the target + 2 × ${wave} ms, ` +
        `what reconnecting all clients took before the fault)`,
    );
    expect(Math.max(...connectToTruth), 'connect → equal to the truth (ms)').toBeLessThanOrEqual(bound);

    // Runs keep completing; every client's final view has every run's terminal version, whether it arrived
    // live or through the re-read after the reconnect.
    const final = await settle(truth, (t) => runIds.every((id) => t.get(id)?.status === 'completed') && clients.every((c) => viewEquals(c.runs(), t)), 30_000);
    for (const id of runIds) expect(final.get(id)?.outcome, `run ${id}`).toBe('succeeded');
    for (const client of clients) expect(Object.fromEntries(client.runs())).toEqual(Object.fromEntries(final));
    const liveTerminals = clients.reduce((n, c) => n + c.terminalUpdates().size, 0);
    expect(clients.every((c) => [...c.terminalUpdates().values()].every((count) => count === 1)), 'at most one terminal push per run and client').toBe(true);
    expect(fleet.problems()).toEqual([]);
    console.log(
      `[chaos] gateway SIGKILL: all ${RUNS} runs succeeded; ${liveTerminals} of ${CLIENTS * RUNS} terminal transitions reached clients live, ` +
        `the rest through the re-read; every final view equals the truth (A killed ${releasedAt - killedAt} ms before the failover)`,
    );
  }, 120_000);
});
