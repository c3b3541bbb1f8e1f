// Chaos: PostgreSQL drops the connections of a gateway and a worker process (pg_terminate_backend on their
// backends in this test's own database, every 50 ms for 2 s) while starts and worker transitions are in
// flight. Promises checked: requests fail cleanly (503 in the contract's error shape, never a 500, no stack
// or SQL), nothing crashes, the system recovers without a restart (/readyz 200, new starts 202 and
// complete), and no transition is lost or duplicated (per run, the changefeed and the socket stream carry
// versions 1, 2, 3, … exactly once each, one terminal event, and the row ends completed with those counts).
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { MikroORM } from '@mikro-orm/postgresql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunChange } from '../../db/changefeed/messages.ts';
import { ormOptions } from '../../db/orm.ts';
import { withTimeout } from '../../db/timeout.ts';
import { call, ChangefeedRecorder, login, type ApiResponse } from '../helpers/app.ts';
import { BoardClient, Fleet, readRuns, settle, viewEquals } from '../helpers/chaos.ts';
import { ADMIN_DATABASE_URL } from '../helpers/database.ts';
import { spawnGateway, spawnWorkerProcess, type GatewayProcess } from '../helpers/processes.ts';
import { createTestEnv, seedTenant, type Seeded, type TestEnv } from '../helpers/stack.ts';

const WINDOW_MS = 2_000;
const EVERY_MS = 50;
const ITEMS = 30;
/** The application name of the pool this test opens itself (the processes under test name theirs runboard-server and runboard-worker). */
const APP_NAME = `runboard_chaos_${randomBytes(4).toString('hex')}`;
/** What a response body must never carry: stack frames, SQL, driver or connection details. */
const LEAK = /\bat .+:\d+:\d+|node_modules|\bselect\b.+\bfrom\b|\binsert into\b|\bupdate\b.+\bset\b|terminat|ECONN|postgres|pg_|SQLSTATE|57P0/i;

type Sample = { what: string; status: number; body: unknown };

describe('chaos: PostgreSQL connections terminated under load', () => {
  let env: TestEnv;
  let acme: Seeded;
  let gateway: GatewayProcess;
  let feed: ChangefeedRecorder | undefined;
  let admin: pg.Client | undefined;
  const fleet = new Fleet();
  const clients: BoardClient[] = [];

  beforeAll(async () => {
    env = await createTestEnv({ RUN_STALL_TIMEOUT_MS: '5000', WORKER_CONCURRENCY: '8' });
    acme = await seedTenant(env.services, 'acme');
    [gateway] = await fleet.start(['gateway', 'worker'], [spawnGateway(env), spawnWorkerProcess(env)]);
    feed = await ChangefeedRecorder.start(env);
    admin = new pg.Client({ connectionString: ADMIN_DATABASE_URL });
    await admin.connect();
  }, 90_000);

  afterAll(async () => {
    for (const client of clients) client.close();
    await feed?.close();
    await admin?.end();
    await fleet.stop();
    await env?.cleanup();
  }, 60_000);

  /** Terminates every backend of the processes under test in this test's database; returns how many. */
  const terminate = async (): Promise<number> => {
    const result = await admin!.query<{ n: string }>(
      // The server and worker name their connections (db/bootstrap.ts); the test's own have no such name.
      `select count(*) filter (where pg_terminate_backend(pid)) as n from pg_stat_activity where datname = $1 and application_name = any($2)`,
      [new URL(env.config.databaseUrl!).pathname.slice(1), ['runboard-server', 'runboard-worker']],
    );
    return Number(result.rows[0]?.n ?? 0);
  };

  it('requests fail cleanly while it lasts, the system recovers by itself, and no transition is lost or duplicated', async () => {
    const operator = await login(gateway.baseUrl, acme.users.operator.email);
    const truth = () => readRuns(gateway.baseUrl, operator);
    const board = await BoardClient.open(gateway.baseUrl, operator);
    clients.push(board);
    let serial = 0;
    const start = (what: string) =>
      call(gateway.baseUrl, 'POST', '/api/tenants/acme/runs', {
        token: operator,
        body: { type: 'demo.batch', scope: { items: ITEMS, itemMs: 60, key: `${what}-${serial++}` } },
      });
    expect(await terminate(), 'the processes under test are found by their application name').toBeGreaterThan(0);

    // Work in flight when the cuts begin: runs progressing in the worker.
    const before = await Promise.all(Array.from({ length: 6 }, () => start('before')));
    expect(before.map((s) => s.status)).toEqual(Array(6).fill(202));
    await board.until(() => before.every((s) => (board.store.latest(s.body.run.id)?.counts.processed ?? 0) > 0), 20_000, 'runs in progress');

    // The window: cuts every 50 ms, while a client keeps starting runs and reading (list, detail, readiness).
    const samples: Sample[] = [];
    const record = (what: string) => (response: ApiResponse) => void samples.push({ what, status: response.status, body: response.body });
    let cutting = true;
    let terminated = 0;
    let cuts = 0;
    const windowStart = Date.now();
    const cutter = (async () => {
      while (Date.now() - windowStart < WINDOW_MS) {
        terminated += await terminate();
        cuts += 1;
        await sleep(EVERY_MS);
      }
      cutting = false;
    })();
    const someId = before[0]!.body.run.id as string;
    // Each kind of request in its own loop, so a slow answer of one does not hold back the others.
    const loop = async (what: string, request: () => Promise<ApiResponse>) => {
      while (cutting) record(what)(await request());
    };
    const traffic = Promise.all([
      loop('start', () => start('during')),
      loop('start', () => start('during')),
      loop('list', () => call(gateway.baseUrl, 'GET', '/api/tenants/acme/runs?limit=50', { token: operator })),
      loop('detail', () => call(gateway.baseUrl, 'GET', `/api/tenants/acme/runs/${someId}`, { token: operator })),
      loop('me', () => call(gateway.baseUrl, 'GET', '/api/me', { token: operator })),
      loop('readyz', () => call(gateway.baseUrl, 'GET', '/readyz')),
    ]);
    await Promise.all([cutter, traffic]);
    const windowEnd = Date.now();

    // Cleanly: every answer is a success or a 503 in the contract's error shape, with nothing leaked.
    const byStatus = Object.groupBy(samples, (s) => String(s.status));
    const unclean = samples.filter((s) => ![200, 202, 503].includes(s.status));
    expect(unclean.slice(0, 5).map((s) => `${s.what} ${s.status} ${JSON.stringify(s.body)}`), 'answers other than 200/202/503').toEqual([]);
    for (const s of samples.filter((x) => x.status === 503)) {
      if (s.what === 'readyz') expect(s.body, 'readiness while cut').toMatchObject({ status: 'unavailable', checks: { postgres: 'down' } });
      else expect(s.body, `${s.what} 503 body`).toEqual({ error: { code: 'unavailable', message: expect.any(String) } });
    }
    const leaks = samples.filter((s) => s.what !== 'readyz' && s.status === 503 && LEAK.test(JSON.stringify(s.body)));
    expect(leaks.slice(0, 3).map((s) => JSON.stringify(s.body)), 'bodies with stack, SQL or driver text').toEqual([]);

    // Recovery without a restart: ready again, a new start is accepted and completes.
    const ready = await settle(async () => (await call(gateway.baseUrl, 'GET', '/readyz')).status, (status) => status === 200, 15_000);
    expect(ready, '/readyz after the window').toBe(200);
    const recoveredAfter = Date.now() - windowEnd;
    const after = await start('after');
    expect(after.status, JSON.stringify(after.body)).toBe(202);

    // Every run that exists (whatever its start answered) ends, and the board shows the truth.
    const final = await settle(truth, (t) => [...t.values()].every((r) => r.status === 'completed') && t.has(after.body.run.id) && viewEquals(board.runs(), t), 60_000);
    const unfinished = [...final.values()].filter((r) => r.status !== 'completed');
    expect(unfinished.map((r) => `${r.id} ${r.status} v${r.version}`), 'runs not completed').toEqual([]);
    expect(final.get(after.body.run.id)?.outcome).toBe('succeeded');

    // No transition lost or duplicated: per run, versions 1..N each exactly once on the changefeed and on the
    // socket, N the row's version; one terminal event; counts never beyond the items.
    await feed!.until(() => [...final.values()].every((r) => feed!.forRun(r.id).some((m) => m.run.version === r.version)), 10_000, 'the last changes on the changefeed');
    const problems: string[] = [];
    const sequence = (versions: number[], last: number) => versions.length === last && versions.every((v, i) => v === i + 1);
    for (const run of final.values()) {
      const changes: RunChange[] = feed!.forRun(run.id);
      const fed = changes.map((m) => m.run.version);
      if (!sequence(fed, run.version)) problems.push(`${run.id}: changefeed v${fed.join(',')} for row v${run.version}`);
      const pushed = board.updates.filter((u) => u.run.id === run.id).map((u) => u.run.version);
      if (!sequence(pushed, run.version)) problems.push(`${run.id}: socket v${pushed.join(',')} for row v${run.version}`);
      const terminal = changes.filter((m) => m.kind === 'completed').length;
      if (terminal !== 1) problems.push(`${run.id}: ${terminal} completed events`);
      // The worker's own daily purge run (runs.purge) may be among them; item counts are checked on ours.
      if (run.type === 'demo.batch' && (run.counts.processed > ITEMS || (run.outcome === 'succeeded' && run.counts.processed !== ITEMS))) {
        problems.push(`${run.id}: ${run.outcome} with ${run.counts.processed} of ${ITEMS} items processed`);
      }
    }
    expect(problems.slice(0, 10), `${problems.length} runs with lost or duplicated transitions`).toEqual([]);
    expect(fleet.problems()).toEqual([]);

    const workerLog = fleet.lines('worker');
    const retried = (msg: string) => workerLog.filter((line) => line.includes(`"msg":"${msg}`)).length;
    const outcomes = Object.entries(Object.groupBy([...final.values()], (r) => r.outcome)).map(([o, rs]) => `${rs!.length} ${o}`);
    console.log(
      `[chaos] PostgreSQL terminate: ${cuts} cuts in ${windowEnd - windowStart} ms ended ${terminated} backends; ${samples.length} requests meanwhile → ` +
        `${Object.entries(byStatus).map(([status, s]) => `${s!.length}× ${status}`).join(', ')}; /readyz 200 again ${recoveredAfter} ms after the window; ` +
        `${final.size} runs all completed (${outcomes.join(', ')}), versions gap-free and unique on changefeed and socket; the worker kept ` +
        `${retried('progress write failed')} failed progress writes for the next write and retried ${retried('completion write failed')} completions`,
    );
  }, 120_000);

  it('a connection dropped inside a transaction gives its pool slot back (before: each one leaked a slot until all queries hung)', async () => {
    const name = `${APP_NAME}_pool`;
    // The production ORM options on a pool of 2, with connections named so only these are cut.
    const base = ormOptions({ databaseUrl: env.config.databaseUrl!, poolMax: 2 });
    const orm = await MikroORM.init({ ...base, driverOptions: { ...(base.driverOptions as object), application_name: name } });
    try {
      const database = new URL(env.config.databaseUrl!).pathname.slice(1);
      for (let i = 0; i < 4; i++) {
        // Settles to the transaction's error (caught at once: it may fail before anything awaits it).
        const failure = orm.em
          .fork()
          .transactional(async (tx) => {
            await tx.execute('select pg_sleep(5)');
          })
          .then(() => null, (error: Error) => error);
        await settle(
          () => admin!.query(`select pid from pg_stat_activity where datname = $1 and application_name = $2 and state = 'active'`, [database, name]),
          (result) => result.rowCount === 1,
          5_000,
        );
        await admin!.query(`select pg_terminate_backend(pid) from pg_stat_activity where datname = $1 and application_name = $2`, [database, name]);
        expect(await failure, 'the cut transaction fails').toBeInstanceOf(Error);
        // With 2 slots, the third lost transaction would otherwise leave this query waiting forever.
        await expect(withTimeout(orm.em.fork().execute('select 1 as ok'), 5_000, 'a query after the loss')).resolves.toEqual([{ ok: 1 }]);
      }
    } finally {
      await orm.close();
    }
  });
});
