import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Catalog } from '../../db/catalog/catalog.ts';
import { handlersFor } from '../../worker/operations/index.ts';
import { startDailyPurges } from '../../worker/schedule.ts';
import { call, login, startSystem, type ChangefeedRecorder, type RunningApp, type System } from '../helpers/app.ts';
import { createTestEnv, type Seeded, type TestEnv } from '../helpers/stack.ts';

describe('retention purge', () => {
  let system: System;
  let env: TestEnv;
  let app: RunningApp;
  let feed: ChangefeedRecorder;
  let acme: Seeded;
  let globex: Seeded;

  beforeAll(async () => {
    system = await startSystem({ tenants: ['acme', 'globex'], env: { RUN_RETENTION_DAYS: '30' } });
    ({ env, app, feed } = system);
    acme = system.tenants.acme!;
    globex = system.tenants.globex!;
  });

  afterAll(async () => {
    await system?.stop();
  });

  const sql = <T = Record<string, unknown>>(query: string, params: unknown[] = []) =>
    env.services.orm.em.fork().execute<T[]>(query, params);

  /** Inserts `count` runs straight into the table (like the bench seeds), `ageDays` old. */
  const seedRuns = (tenantId: string, count: number, ageDays: number, status: 'completed' | 'running', initiatorId: string | null) =>
    sql(
      `insert into operation_runs (tenant_id, type, status, outcome, identity_hash, scope, initiator_id, created_at, updated_at)
       select ?, 'demo.batch', ?, case when ? = 'completed' then 'succeeded' else 'pending' end,
              md5(random()::text || g::text) || md5(g::text), '{}'::jsonb, ?, now() - make_interval(days => ?), now()
       from generate_series(1, ?) g`,
      [tenantId, status, status, initiatorId, ageDays, count],
    );

  it('deletes only completed runs older than the window, of its own tenant, in batches, with their notifications', async () => {
    const owner = acme.users.owner;
    await seedRuns(acme.tenant.id, 2_345, 45, 'completed', owner.id); // purged (more than two batches)
    await seedRuns(acme.tenant.id, 7, 10, 'completed', owner.id); // inside the window: kept
    await seedRuns(acme.tenant.id, 1, 45, 'running', owner.id); // old but active: kept
    await seedRuns(globex.tenant.id, 11, 45, 'completed', null); // another tenant: kept
    await sql(
      `insert into notifications (user_id, tenant_id, run_id, level, title, body, url)
       select ?, tenant_id, id, 'success', 't', 'b', '/x' from operation_runs where tenant_id = ?`,
      [owner.id, acme.tenant.id],
    );

    const token = await login(app.baseUrl, owner.email);
    const started = await call(app.baseUrl, 'POST', '/api/tenants/acme/runs', { token, body: { type: 'runs.purge', scope: {} } });
    expect(started.status).toBe(202);
    expect(started.body.run.initiator).toMatchObject({ id: owner.id });
    const completed = await feed.completed(started.body.run.id, 60_000);
    expect(completed.run).toMatchObject({ outcome: 'succeeded', counts: { succeeded: 2_345, processed: 2_345, failed: 0 } });

    const remaining = await sql<{ tenant_id: string; status: string; old: boolean; n: string }>(
      `select tenant_id, status, created_at < now() - interval '30 days' as old, count(*) as n
       from operation_runs where type = 'demo.batch' group by 1, 2, 3`,
    );
    const count = (tenantId: string, status: string, old: boolean) =>
      Number(remaining.find((r) => r.tenant_id === tenantId && r.status === status && r.old === old)?.n ?? 0);
    expect(count(acme.tenant.id, 'completed', true)).toBe(0);
    expect(count(acme.tenant.id, 'completed', false)).toBe(7);
    expect(count(acme.tenant.id, 'running', true)).toBe(1);
    expect(count(globex.tenant.id, 'completed', true)).toBe(11);
    const [orphans] = await sql<{ n: string }>(
      `select count(*) as n from notifications n left join operation_runs r on r.id = n.run_id where r.id is null`,
    );
    expect(Number(orphans?.n)).toBe(0);
    const [kept] = await sql<{ n: string }>(`select count(*) as n from notifications where title = 't'`);
    expect(Number(kept?.n)).toBe(8);
  });

  it('only owners may start it on demand', async () => {
    const token = await login(app.baseUrl, acme.users.manager.email);
    const answer = await call(app.baseUrl, 'POST', '/api/tenants/acme/runs', { token, body: { type: 'runs.purge', scope: {} } });
    expect(answer.status).toBe(403);
  });

  it('the daily schedule starts one system purge per tenant per day, whatever the number of workers', async () => {
    const day = new Date('2031-05-04T03:00:00Z');
    const [first, second] = await Promise.all([startDailyPurges(env.services, day), startDailyPurges(env.services, day)]);
    expect(first + second).toBe(2);
    expect(await startDailyPurges(env.services, day)).toBe(0);
    const purges = await sql<{ tenant_id: string; initiator_id: string | null }>(
      `select tenant_id, initiator_id from operation_runs where type = 'runs.purge' and initiator_id is null`,
    );
    expect(purges.map((p) => p.tenant_id).sort()).toEqual([acme.tenant.id, globex.tenant.id].sort());
    await Promise.all(
      (await sql<{ id: string }>(`select id from operation_runs where type = 'runs.purge' and initiator_id is null`)).map((r) =>
        feed.completed(r.id, 30_000),
      ),
    );
  });
});

describe('operation catalog', () => {
  it('every type a worker can be asked to run has a handler', async () => {
    const env = await createTestEnv();
    try {
      const handlers = handlersFor(env.services);
      const types = Catalog.forConfig({ demoOperations: true }).all().filter((d) => !d.mirrored);
      for (const declaration of types) expect(handlers.has(declaration.type), declaration.type).toBe(true);
    } finally {
      await env.cleanup();
    }
  });

  it('demo types exist only when demo operations are on', () => {
    expect(Catalog.forConfig({ demoOperations: false }).get('demo.batch')).toBeUndefined();
    expect(Catalog.forConfig({ demoOperations: true }).get('demo.batch')).toBeDefined();
  });
});

describe('migrations', () => {
  it('the checked-in migrations produce exactly the schema the entities describe', async () => {
    const env = await createTestEnv();
    try {
      const diff = await env.services.orm.schema.getUpdateSchemaSQL({ wrap: false });
      expect(diff.trim()).toBe('');
    } finally {
      await env.cleanup();
    }
  });
});
