// Many tenants on one screen (docs/api.md §12): `GET /api/overview?window=24h` for a user who is a member of 100
// tenants over 1 million runs, through a real server process, beside what a client without it would do in the
// same run — the same figures read tenant by tenant with the per-tenant routes (stats, running runs, failed
// runs, failure reasons: 400 GETs, 6 at a time like a browser) — and beside its own four statements sent
// straight to PostgreSQL at once. Every SQL statement a request sends is counted on a second, in-process server
// whose pool records them, to show one statement per figure whatever the number of tenants.
import { MikroORM } from '@mikro-orm/postgresql';
import pg from 'pg';
import { createLogger } from '../../../db/logger.ts';
import { ormOptions } from '../../../db/orm.ts';
import { releaseDroppedConnections } from '../../../db/pool-guard.ts';
import { createServices } from '../../../db/services.ts';
import { createApp } from '../../../server/app.ts';
import type { OverviewAnswer } from '../../../server/http/contract.ts';
import { issueSession } from '../../helpers/sessions.ts';
import { spawnGateway, stopAll, type GatewayProcess } from '../../helpers/processes.ts';
import { createTestEnv, seedTenant, testPasswordHash, type TestEnv } from '../../helpers/stack.ts';
import { closedLoopOf, HttpLoad, type LoadRequest } from '../lib/http-load.ts';
import type { BenchOptions, Figure, Suite, SuiteResult } from '../lib/report.ts';
import { now, round, summarize } from '../lib/stats.ts';
import { planSummary, seed } from './list.ts';

const TENANT = 'acme';
const WINDOW = '24h';
/** The issue's target for the overview of 100 tenants. */
const TARGET_P95_MS = 100;
/** How many requests a browser sends to one origin at a time (HTTP/1.1): the baseline's concurrency. */
const BROWSER_CONNECTIONS = 6;
/** The overview's figures, each one statement for all the tenants. */
const FIGURES = ['buckets', 'running', 'latestFailures', 'reasons'] as const;

const sizesFor = ({ quick, long }: BenchOptions) =>
  quick ? { rows: 20_000, samples: 10, rounds: 2 } : long ? { rows: 1_000_000, samples: 500, rounds: 100 } : { rows: 1_000_000, samples: 100, rounds: 30 };

/** What a client without the overview asks per tenant for the same figures. */
const perTenantReads = (slug: string): string[] => [
  `/api/tenants/${slug}/stats?window=${WINDOW}`,
  `/api/tenants/${slug}/runs?bucket=running&limit=20`,
  `/api/tenants/${slug}/runs?bucket=failed&bucket=partially_succeeded&limit=5`,
  `/api/tenants/${slug}/failure-reasons?window=${WINDOW}&limit=3`,
];

type Statement = { text: string; pid: number; started: number; ended: number };

/**
 * A server like the product's, in this process, on an ORM whose pool records every statement its connections
 * send (text, backend, start and end): what one request costs in SQL, counted rather than inferred.
 */
async function countingServer(env: TestEnv): Promise<{ baseUrl: string; statements: Statement[]; close: () => Promise<void> }> {
  const statements: Statement[] = [];
  const options = ormOptions({ databaseUrl: env.env.DATABASE_URL!, poolMax: 20 });
  const record = (pool: pg.Pool) =>
    pool.on('connect', (client: pg.PoolClient) => {
      const query = client.query.bind(client) as (...args: unknown[]) => unknown;
      (client as unknown as { query: (...args: unknown[]) => unknown }).query = (...args: unknown[]) => {
        const first = args[0] as string | { text: string };
        const entry: Statement = { text: typeof first === 'string' ? first : first.text, pid: (client as unknown as { processID: number }).processID, started: now(), ended: NaN };
        statements.push(entry);
        const result = query(...args);
        if (result instanceof Promise) void result.finally(() => (entry.ended = now())).catch(() => undefined);
        return result;
      };
    });
  const orm = await MikroORM.init({
    ...options,
    driverOptions: { ...options.driverOptions, onPoolCreated: (pool: pg.Pool) => (releaseDroppedConnections(pool), record(pool)) },
  });
  const services = await createServices(env.config, orm, createLogger('silent'), { isWorker: false });
  const app = createApp(services);
  await app.ready;
  await new Promise<void>((resolve) => app.httpServer.listen(0, '127.0.0.1', resolve));
  const { port } = app.httpServer.address() as { port: number };
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    statements,
    async close() {
      await app.close();
      await services.close();
      await orm.close();
    },
  };
}

/** The statements one request sends, on the counting server (after a warm-up request of the same). */
async function statementsOf(server: Awaited<ReturnType<typeof countingServer>>, token: string, path: string): Promise<Statement[]> {
  const http = new HttpLoad(server.baseUrl, 1);
  try {
    const send = async () => {
      const answer = await http.send({ method: 'GET', path, token });
      if (answer.status !== 200) throw new Error(`GET ${path} → ${answer.status} ${answer.body.slice(0, 300)}`);
    };
    await send();
    const from = server.statements.length;
    await send();
    return server.statements.slice(from);
  } finally {
    http.close();
  }
}

/** The most statements in flight at the same time. */
function mostAtOnce(statements: Statement[]): number {
  const edges = statements.flatMap((s) => [[s.started, 1], [s.ended, -1]] as const).sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let open = 0;
  let most = 0;
  for (const [, step] of edges) most = Math.max(most, (open += step));
  return most;
}

/** Which figure (or authentication) a statement of the overview serves, by the tables it reads. */
function figureOf(text: string): string {
  if (text.includes('"auth_tokens"')) return 'authentication';
  if (text.includes('"run_failure_reasons"')) return 'reasons';
  if (text.includes('row_number()')) return 'running';
  if (text.includes('"completed_at" >=')) return 'latestFailures';
  if (text.includes('right join "tenants"')) return 'buckets';
  return 'other';
}

export const overviewSuite: Suite = {
  id: 'overview',
  title: 'Overview of 100 tenants at 1 M runs',
  async run(options): Promise<SuiteResult> {
    const sizes = sizesFor(options);
    const { log } = options;
    const env = await createTestEnv();
    let gateway: GatewayProcess | undefined;
    let pool: pg.Pool | undefined;
    let http: HttpLoad | undefined;
    let browser: HttpLoad | undefined;
    let counting: Awaited<ReturnType<typeof countingServer>> | undefined;
    try {
      const seeded = await seedTenant(env.services, TENANT);
      pool = new pg.Pool({ connectionString: env.env.DATABASE_URL, max: FIGURES.length });
      const seconds = await seed(pool, sizes.rows, seeded.tenant.id, Object.values(seeded.users).map((u) => u.id), log);
      // The NOC user: a member (readonly) of every tenant.
      const { rows: tenantRows } = await pool.query<{ id: string; slug: string }>('select id, slug from tenants order by slug');
      const { tenants } = env.services;
      const noc = await tenants.createUser({ email: 'noc@bench.test', name: 'NOC', passwordHash: await testPasswordHash() });
      for (const { slug } of tenantRows) await tenants.addMember(slug, noc.email, 'readonly');
      const { rows: shape } = await pool.query<{ runs: string; running: string; window: string; failing: string; reasons: string }>(
        `select count(*) as runs, count(*) filter (where status = 'running') as running, count(*) filter (where created_at >= now() - interval '24 hours') as window,
                count(*) filter (where status = 'completed' and outcome in ('failed', 'partially_succeeded') and completed_at >= now() - interval '24 hours') as failing,
                (select count(*) from run_failure_reasons where run_created_at >= now() - interval '24 hours') as reasons
         from operation_runs`,
      );
      log(`seeded ${shape[0]!.runs} runs over ${tenantRows.length} tenants in ${seconds} s; the NOC user is a member of all`);

      gateway = await spawnGateway(env);
      const token = await issueSession(env, noc);
      http = new HttpLoad(gateway.baseUrl, 1);
      const path = `/api/overview?window=${WINDOW}`;
      const ids = tenantRows.map((t) => t.id);
      const statements = env.services.runs.overviewSql(ids, WINDOW);

      // 1. The overview, sequential and keep-alive, alternating with its four statements sent at once via pg.
      const api: number[] = [];
      const floor: number[] = [];
      let body = '';
      for (let i = 0; i < sizes.samples + 3; i++) {
        const t0 = now();
        const answer = await http.send({ method: 'GET', path, token });
        const t1 = now();
        await Promise.all(FIGURES.map((figure) => pool!.query(statements[figure].sql, statements[figure].params)));
        const t2 = now();
        if (answer.status !== 200) throw new Error(`GET ${path} → ${answer.status} ${answer.body.slice(0, 300)}`);
        body = answer.body;
        // The first rounds warm the plan cache, the JIT and the connections.
        if (i < 3) continue;
        api.push(t1 - t0);
        floor.push(t2 - t1);
      }
      // A fast wrong answer must not pass: every tenant, and every running run of the install counted.
      const answer = JSON.parse(body) as OverviewAnswer;
      const running = answer.tenants.reduce((sum, t) => sum + t.buckets.running, 0);
      if (answer.tenants.length !== tenantRows.length) throw new Error(`${answer.tenants.length} tiles for ${tenantRows.length} tenants`);
      if (running !== Number(shape[0]!.running)) throw new Error(`${running} running runs counted, ${shape[0]!.running} in the table`);
      const shown = {
        running: answer.tenants.reduce((sum, t) => sum + t.running.length, 0),
        failures: answer.tenants.reduce((sum, t) => sum + t.latestFailures.length, 0),
        reasons: answer.tenants.reduce((sum, t) => sum + t.reasons.length, 0),
      };
      log(`overview: ${api.length} requests, ${Buffer.byteLength(body)} bytes each (${shown.running} running, ${shown.failures} failures, ${shown.reasons} reasons shown)`);

      // 2. The baseline: the same figures tenant by tenant, 400 GETs on 6 connections, as a browser would.
      browser = new HttpLoad(gateway.baseUrl, BROWSER_CONNECTIONS);
      const reads: LoadRequest[] = tenantRows.flatMap(({ slug }) => perTenantReads(slug).map((p): LoadRequest => ({ method: 'GET', path: p, token })));
      const rounds: number[] = [];
      for (let i = 0; i < sizes.rounds + 1; i++) {
        const t0 = now();
        await closedLoopOf({
          total: reads.length,
          concurrency: BROWSER_CONNECTIONS,
          run: async (n) => {
            const read = await browser!.send(reads[n]!);
            if (read.status !== 200) throw new Error(`GET ${reads[n]!.path} → ${read.status} ${read.body.slice(0, 300)}`);
          },
        });
        if (i > 0) rounds.push(now() - t0);
      }
      log(`per-tenant reads: ${rounds.length} rounds of ${reads.length} GETs`);

      // 3. Each statement alone via pg, and its plan; the running runs' other form beside the product's.
      const alone: Record<string, ReturnType<typeof summarize>> = {};
      const plans: { title: string; text: string }[] = [];
      const explain = async (title: string, query: { sql: string; params: unknown[] }) => {
        const times: number[] = [];
        for (let i = 0; i < Math.max(5, Math.ceil(sizes.samples / 2)) + 3; i++) {
          const t0 = now();
          await pool!.query(query.sql, query.params);
          if (i >= 3) times.push(now() - t0);
        }
        const { rows } = await pool!.query<{ 'QUERY PLAN': string }>(`explain (analyze, buffers) ${query.sql}`, query.params);
        plans.push({ title, text: rows.map((r) => r['QUERY PLAN']).join('\n') });
        return summarize(times);
      };
      for (const figure of FIGURES) alone[figure] = await explain(`EXPLAIN (ANALYZE, BUFFERS): ${figure}${figure === 'running' ? ' (row_number() ≤ 20, the product\'s)' : ''}`, statements[figure]);
      alone.lateral = await explain('EXPLAIN (ANALYZE, BUFFERS): running as a LATERAL per tenant (not used)', env.services.runs.overviewSql(ids, WINDOW, 'lateral').running);

      // 4. Statements per request, counted on an in-process server whose pool records them.
      counting = await countingServer(env);
      const overviewStatements = await statementsOf(counting, token, path);
      const oneTenant = await statementsOf(counting, token, `${path}&tenants=${TENANT}`);
      const perTenant: Statement[][] = [];
      for (const read of perTenantReads(TENANT)) perTenant.push(await statementsOf(counting, token, read));
      const byFigure: Record<string, number> = {};
      for (const statement of overviewStatements) byFigure[figureOf(statement.text)] = (byFigure[figureOf(statement.text)] ?? 0) + 1;
      const auth = byFigure.authentication ?? 0;
      const figureStatements = overviewStatements.length - auth;
      const baselineStatements = tenantRows.length * perTenant.reduce((sum, s) => sum + s.length, 0);
      const baselineBeyondAuth = tenantRows.length * perTenant.reduce((sum, s) => sum + s.filter((st) => figureOf(st.text) !== 'authentication').length, 0);
      const connections = new Set(overviewStatements.filter((s) => figureOf(s.text) !== 'authentication').map((s) => s.pid)).size;
      const atOnce = mostAtOnce(overviewStatements.filter((s) => figureOf(s.text) !== 'authentication'));
      log(`statements: overview ${overviewStatements.length} (${auth} for the token), per-tenant reads ${baselineStatements}; ${connections} connections, ${atOnce} at once`);

      const overviewSummary = summarize(api);
      const floorSummary = summarize(floor);
      const baseline = summarize(rounds);
      const detailOfAlone = Object.fromEntries(Object.entries(alone).map(([name, s]) => [`${name} alone p95`, s.p95]));
      const figures: Figure[] = [
        {
          name: `GET /api/overview?window=${WINDOW} p50, ${tenantRows.length} tenants`,
          value: overviewSummary.p50,
          unit: 'ms',
          baseline: { name: `the same figures tenant by tenant: ${reads.length} GETs, ${BROWSER_CONNECTIONS} at a time`, value: baseline.p50 },
          detail: { n: overviewSummary.n, 'baseline rounds': baseline.n, bytes: Buffer.byteLength(body), 'running shown': shown.running, 'failures shown': shown.failures, 'reasons shown': shown.reasons },
        },
        {
          name: `GET /api/overview?window=${WINDOW} p95, ${tenantRows.length} tenants`,
          value: overviewSummary.p95,
          unit: 'ms',
          baseline: { name: `the same figures tenant by tenant: ${reads.length} GETs, ${BROWSER_CONNECTIONS} at a time`, value: baseline.p95 },
          target: { max: TARGET_P95_MS },
          detail: { max: overviewSummary.max, mean: overviewSummary.mean, 'baseline max': baseline.max },
        },
        {
          name: `GET /api/overview?window=${WINDOW} p99, ${tenantRows.length} tenants`,
          value: overviewSummary.p99,
          unit: 'ms',
          baseline: { name: `the same figures tenant by tenant: ${reads.length} GETs, ${BROWSER_CONNECTIONS} at a time`, value: baseline.p99 },
        },
        {
          name: 'overview p95 beside its 4 statements sent at once via pg',
          value: overviewSummary.p95,
          unit: 'ms',
          baseline: { name: 'the 4 statements via pg, at once on 4 connections', value: floorSummary.p95 },
          detail: { 'SQL p50': floorSummary.p50, 'SQL p99': floorSummary.p99, ...detailOfAlone },
        },
        {
          name: 'SQL statements per overview request, beyond authentication',
          value: figureStatements,
          unit: 'statements',
          baseline: { name: `the per-tenant reads (${reads.length} requests), beyond authentication`, value: baselineBeyondAuth },
          target: { max: FIGURES.length, text: `≤ ${FIGURES.length}: one per figure` },
          detail: {
            'with authentication': overviewStatements.length,
            'for 1 tenant': oneTenant.length - auth,
            ...byFigure,
            'pool connections': connections,
            'most at once': atOnce,
            'per-tenant reads with authentication': baselineStatements,
          },
        },
      ];
      const planLines = plans.map(({ title, text }) => {
        const { indexes, seqScans, ms } = planSummary(text);
        return `\`${title.replace('EXPLAIN (ANALYZE, BUFFERS): ', '')}\`: ${indexes.join(', ') || 'no index'}${seqScans.length > 0 ? `; reads ${seqScans.join(', ')} whole` : ''} (${round(ms)} ms)`;
      });
      return {
        id: 'overview',
        title: this.title,
        figures,
        notes: [
          `${Number(shape[0]!.runs).toLocaleString('en')} runs over ${tenantRows.length} tenants, seeded as in the list suite in ${seconds} s (created over 30 days, \`${TENANT}\` holding ~10 % and a long tail little, ~85 % succeeded / 8 % partially succeeded / 7 % failed with their failure reasons, the last 10 minutes queued or running): in the ${WINDOW} window ${Number(shape[0]!.window).toLocaleString('en')} runs, ${Number(shape[0]!.failing).toLocaleString('en')} completed failed or partially succeeded, ${Number(shape[0]!.reasons).toLocaleString('en')} failure-reason rows, ${Number(shape[0]!.running).toLocaleString('en')} runs running. The NOC user is a readonly member of all ${tenantRows.length} tenants.`,
          `Each overview sample: one \`GET ${path}\` through a real \`server/main.ts\` process, sequential, keep-alive, answering ${tenantRows.length} tiles (${Buffer.byteLength(body).toLocaleString('en')} bytes of JSON); checked: a tile per tenant, and the running runs counted equal those in the table. Baseline, in the same run: what a client without the overview sends for the same figures — per tenant \`stats\`, \`runs?bucket=running&limit=20\`, \`runs?bucket=failed&bucket=partially_succeeded&limit=5\` and \`failure-reasons?limit=3\` — ${reads.length} GETs on ${BROWSER_CONNECTIONS} keep-alive connections (a browser's limit per origin), timed from the first request to the last answer, ${baseline.n} rounds. The SQL floor: the overview's four statements (\`runs.overviewSql\` of db/runs/queries.ts) sent straight to PostgreSQL with \`pg\` at once on four connections, alternating with the API request.`,
          `Statements per request are counted, not inferred: a second server in the bench process (\`createApp\` over the same database) runs on an ORM whose pg pool wraps each connection's \`query\`, recording every statement's text, backend pid and start/end. The overview sends ${overviewStatements.length}: ${auth} to resolve the session (its token, user and memberships) and ${figureStatements} for the figures (${FIGURES.map((f) => `${f} ${byFigure[f] ?? 0}`).join(', ')}), on ${connections} pool connections, ${atOnce} of them in flight at once — and the same ${oneTenant.length - auth} for one tenant as for ${tenantRows.length}. Tenant by tenant, the same figures cost ${baselineStatements.toLocaleString('en')} statements (${reads.length} requests, each with its session lookup).`,
          `How each figure is one statement for all the tenants (db/runs/store.ts, db/runs/reason-store.ts): buckets — the stats rule (runs created in the window, plus older queued or running runs) as two index scans for the tenants' ids, the bucket CASE derived from the one bucket rule, grouped by tenant and bucket, right-joined to \`tenants\` so a tenant without runs keeps its tile; running — \`row_number() over (partition by tenant order by created desc) ≤ 20\` over the tenants' running runs (PostgreSQL stops each partition at 20: "Run Condition"), read from the running runs' partial index; a LATERAL per tenant on \`operation_runs_active_identity\` gives the same rows and is kept only for this comparison (${alone.lateral!.p95} ms p95 beside ${alone.running!.p95} ms); latest failures — a LATERAL per tenant reading \`operation_runs_tenant_completed\` backwards from the newest completion until 5 runs are in the failed or partially succeeded bucket; reasons — one aggregate of the tenants' \`run_failure_reasons\` of the window per tenant and code, ranked per tenant by the summary's order, top 3 kept.`,
          `Plans (EXPLAIN ANALYZE, BUFFERS, after the measured rounds; in full below): ${planLines.join('; ')}.`,
        ],
        blocks: plans,
      };
    } finally {
      http?.close();
      browser?.close();
      await counting?.close().catch(() => undefined);
      await stopAll([gateway]);
      await pool?.end().catch(() => undefined);
      await env.cleanup();
    }
  },
};
