import pg from 'pg';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../db/config.ts';
import { queries } from '../../db/database.ts';
import { createOrm, poolSize } from '../../db/orm.ts';
import { call, ChangefeedRecorder, login, spawnWorker, startApp, type RunningApp } from '../helpers/app.ts';
import { createTestEnv, seedTenant, type TestEnv } from '../helpers/stack.ts';

// DATABASE_POOL_MAX (docs/api.md §13): each server or worker process opens at most that many PostgreSQL
// connections, however much work it has at once. Load is held inside PostgreSQL (an advisory lock, row locks)
// so every connection the pool opens stays busy and visible in pg_stat_activity until the test lets go.

const LOCK_KEY = 4_242;

describe('database pool size', () => {
  let env: TestEnv;
  let app: RunningApp;
  let feed: ChangefeedRecorder;
  let holder: pg.Client;
  let database: string;

  beforeAll(async () => {
    env = await createTestEnv();
    await seedTenant(env.services, 'acme');
    app = await startApp(env);
    feed = await ChangefeedRecorder.start(env);
    holder = new pg.Client({ connectionString: env.env.DATABASE_URL });
    await holder.connect();
    database = new URL(env.env.DATABASE_URL!).pathname.slice(1);
  });

  afterAll(async () => {
    await holder?.end();
    await feed?.close();
    await app?.close();
    await env?.cleanup();
  });

  /** Connections to the test's database, but the holder's, optionally only those of one application_name. */
  const connections = async (filter: { waiting?: boolean; application?: string } = {}) => {
    const result = await holder.query<{ count: string }>(
      `select count(*) from pg_stat_activity
        where datname = $1 and pid <> pg_backend_pid() and backend_type = 'client backend'
          and ($2::boolean is not true or wait_event_type = 'Lock') and ($3::text is null or application_name = $3)`,
      [database, filter.waiting ?? false, filter.application ?? null],
    );
    return Number(result.rows[0]!.count);
  };

  it('sizes a process by its role, unless DATABASE_POOL_MAX says otherwise', () => {
    expect(poolSize(loadConfig({}), 'server')).toBe(20);
    expect(poolSize(loadConfig({ WORKER_CONCURRENCY: '8' }), 'worker')).toBe(20);
    expect(poolSize(loadConfig({ WORKER_CONCURRENCY: '2' }), 'worker')).toBe(8);
    for (const role of ['server', 'worker'] as const) {
      expect(poolSize(loadConfig({ DATABASE_POOL_MAX: '3', WORKER_CONCURRENCY: '8' }), role)).toBe(3);
      expect(poolSize(loadConfig({ DATABASE_POOL_MAX: '50' }), role)).toBe(50);
    }
  });

  /**
   * `tasks` statements at once through an ORM built as a process of `role` with `env` builds it; each waits
   * for the holder's advisory lock, so each holds its connection. Returns the connections seen while all
   * waited and the backends that answered once the lock was released.
   */
  async function underLoad(role: 'server' | 'worker', configEnv: Record<string, string>, tasks: number, expected: number) {
    const application = `runboard-pool-test-${role}`;
    const orm = await createOrm({ databaseUrl: env.env.DATABASE_URL!, poolMax: poolSize(loadConfig(configEnv), role), applicationName: application });
    await holder.query('select pg_advisory_lock($1)', [LOCK_KEY]);
    let released = false;
    try {
      const answers = Array.from({ length: tasks }, () =>
        sql<{ pid: number }>`select pg_backend_pid() as pid from (select pg_advisory_xact_lock_shared(${LOCK_KEY})) as waited`
          .execute(queries(orm))
          .then((result) => result.rows[0]!.pid),
      );
      await expect.poll(() => connections({ waiting: true, application }), { timeout: 15_000, interval: 20 }).toBe(expected);
      const whileWaiting = await connections({ application });
      await holder.query('select pg_advisory_unlock($1)', [LOCK_KEY]);
      released = true;
      const backends = new Set(await Promise.all(answers));
      return { whileWaiting, backends: backends.size };
    } finally {
      if (!released) await holder.query('select pg_advisory_unlock($1)', [LOCK_KEY]);
      await orm.close();
    }
  }

  it('an ORM sized with DATABASE_POOL_MAX opens at most that many connections under 30 concurrent statements', async () => {
    expect(await underLoad('server', { DATABASE_POOL_MAX: '3' }, 30, 3)).toEqual({ whileWaiting: 3, backends: 3 });
    expect(await underLoad('worker', { DATABASE_POOL_MAX: '5', WORKER_CONCURRENCY: '8' }, 30, 5)).toEqual({ whileWaiting: 5, backends: 5 });
    // The same load without the setting fills the server's default pool: the load is concurrent enough to show more.
    expect(await underLoad('server', {}, 30, 20)).toEqual({ whileWaiting: 20, backends: 20 });
  });

  it('a worker process started with DATABASE_POOL_MAX=2 runs 8 jobs at once on 2 connections, and they all complete', async () => {
    const operator = await login(app.baseUrl, 'operator@acme.test');
    const runIds: string[] = [];
    for (let i = 0; i < 8; i++) {
      const started = await call(app.baseUrl, 'POST', '/api/tenants/acme/runs', { token: operator, body: { type: 'demo.batch', scope: { items: 2, itemMs: 1, key: `pool-${i}` } } });
      expect(started.status, JSON.stringify(started.body)).toBe(202);
      runIds.push(started.body.run.id);
    }
    // The queued runs are locked before the worker starts: each job's first write waits, holding its connection.
    await holder.query('begin');
    await holder.query('select id from operation_runs where id = any($1::uuid[]) for update', [runIds]);
    // Its connections carry the role's name; the test's database is its own, so they are this worker's.
    const application = 'runboard-worker';
    const worker = await spawnWorker(env, { DATABASE_POOL_MAX: '2', WORKER_CONCURRENCY: '8' });
    let committed = false;
    try {
      await expect.poll(async () => (await env.services.queue.checkHealth()).active, { timeout: 15_000, interval: 20 }).toBe(8);
      await expect.poll(() => connections({ waiting: true, application }), { timeout: 15_000, interval: 20 }).toBe(2);
      expect(await connections({ application })).toBe(2);
      await holder.query('commit');
      committed = true;
      await Promise.all(runIds.map((id) => feed.completed(id, 30_000)));
      expect(await connections({ application })).toBeLessThanOrEqual(2);
    } finally {
      if (!committed) await holder.query('rollback');
      await worker.stop();
    }
  }, 60_000);

});
