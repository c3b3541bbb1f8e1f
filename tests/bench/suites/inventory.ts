// inventory.sync and drift.generate at 10,000 policies through a real server and worker process, each
// beside a floor measured in the same run with `pg`: the bare batched INSERT of the same rows (or, for a
// comparison, the same comparison as one FULL JOIN), and the read pages beside the very same SQL.
import { readFileSync } from 'node:fs';
import pg from 'pg';
import type { RunView } from '../../../db/runs/view.ts';
import { ChangefeedRecorder, login } from '../../helpers/app.ts';
import { spawnGateway, spawnWorkerProcess, stopAll, type GatewayProcess, type ServiceProcess } from '../../helpers/processes.ts';
import { createTestEnv, seedTenant, type TestEnv } from '../../helpers/stack.ts';
import { HttpLoad } from '../lib/http-load.ts';
import type { BenchOptions, Figure, Suite, SuiteResult } from '../lib/report.ts';
import { now, round, summarize } from '../lib/stats.ts';

const TENANT = 'acme';
const TARGET_P95_MS = 50;
/** The simulated source's page: the sync inserts this many rows a statement, and so does the floor. */
const SOURCE_PAGE = 100;
/** The drift handler writes findings this many at a time (worker/operations/drift-generate.ts). */
const FINDINGS_BATCH = 50;

type Sizes = { policies: number; heavyMove: number; samples: number };
const sizesFor = ({ quick }: BenchOptions): Sizes => (quick ? { policies: 300, heavyMove: 150, samples: 8 } : { policies: 10_000, heavyMove: 5_000, samples: 100 });

const MiB = 2 ** 20;

function rssOf(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const match = new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Number(match[1]) * 1024 : 0;
}

/** The worker's resident memory sampled every 20 ms while `work` runs: its idle level before, and the peak. */
async function withRss<T>(pid: number, work: () => Promise<T>): Promise<{ result: T; idleMiB: number; peakMiB: number }> {
  const idle = rssOf(pid, 'VmRSS');
  let peak = idle;
  const sampler = setInterval(() => (peak = Math.max(peak, rssOf(pid, 'VmRSS'))), 20);
  try {
    const result = await work();
    return { result, idleMiB: round(idle / MiB, 1), peakMiB: round(Math.max(peak, rssOf(pid, 'VmRSS')) / MiB, 1) };
  } finally {
    clearInterval(sampler);
  }
}

/** Handler time of a completed run: started → completed, by the database's clock. */
const handlerSeconds = (run: RunView) => (new Date(run.completedAt!).getTime() - new Date(run.startedAt!).getTime()) / 1000;

/** A completed run of a type no page shows, to own the floor's rows (they cascade with it). */
async function floorRun(pool: pg.Pool, tenantId: string): Promise<string> {
  const { rows } = await pool.query<{ id: string }>(
    `insert into operation_runs (tenant_id, type, status, outcome, identity_hash, scope, completed_at)
     values ($1, 'bench.floor', 'completed', 'failed', md5(random()::text) || md5(random()::text), '{}', now()) returning id`,
    [tenantId],
  );
  return rows[0]!.id;
}

/** Multi-row INSERTs of `rows` into `table`, `batch` rows a statement; returns rows per second. */
async function bareInsert(pool: pg.Pool, table: string, columns: string[], rows: unknown[][], batch: number): Promise<number> {
  const started = now();
  for (let start = 0; start < rows.length; start += batch) {
    const chunk = rows.slice(start, start + batch);
    const values = chunk.map((_, r) => `(${columns.map((_, c) => `$${r * columns.length + c + 1}`).join(', ')})`).join(', ');
    await pool.query(`insert into ${table} (${columns.join(', ')}) values ${values}`, chunk.flat());
  }
  return round(rows.length / ((now() - started) / 1000), 0);
}

type Measured = { name: string; http: number[]; floor: number[]; rows: number };

/** `samples` alternating rounds of the API request and its SQL statements through `pg`. */
async function measure(http: HttpLoad, pool: pg.Pool, token: string, samples: number, name: string, path: string, statements: { sql: string; params: unknown[] }[]): Promise<Measured> {
  const result: Measured = { name, http: [], floor: [], rows: 0 };
  for (let i = 0; i < samples + 3; i++) {
    const t0 = now();
    const answer = await http.send({ method: 'GET', path, token });
    const t1 = now();
    let rows = 0;
    for (const statement of statements) rows += (await pool.query(statement.sql, statement.params)).rowCount ?? 0;
    const t2 = now();
    if (answer.status !== 200) throw new Error(`GET ${path} → ${answer.status} ${answer.body.slice(0, 300)}`);
    if (i < 3) continue; // warm-up: plan cache, JIT, connections
    result.http.push(t1 - t0);
    result.floor.push(t2 - t1);
    result.rows = rows;
  }
  return result;
}

function readFigure(m: Measured): Figure {
  const api = summarize(m.http);
  const floor = summarize(m.floor);
  return {
    name: `${m.name} p95`,
    value: api.p95,
    unit: 'ms',
    baseline: { name: 'same SQL via pg', value: floor.p95 },
    target: { max: TARGET_P95_MS },
    detail: { n: api.n, 'rows read': m.rows, p50: api.p50, p99: api.p99, max: api.max, 'SQL p50': floor.p50 },
  };
}

export const inventory: Suite = {
  id: 'inventory',
  title: 'Inventory sync and drift at 10,000 policies',
  async run(options): Promise<SuiteResult> {
    const sizes = sizesFor(options);
    const { log } = options;
    const env: TestEnv = await createTestEnv();
    const processes: (ServiceProcess | GatewayProcess)[] = [];
    let pool: pg.Pool | undefined;
    let http: HttpLoad | undefined;
    let feed: ChangefeedRecorder | undefined;
    try {
      const seeded = await seedTenant(env.services, TENANT);
      const tenantId = seeded.tenant.id;
      await env.services.sources.setSimulated(tenantId, { policies: sizes.policies });
      const gateway = await spawnGateway(env);
      const worker = await spawnWorkerProcess(env, { WORKER_CONCURRENCY: '1' });
      processes.push(gateway, worker);
      feed = await ChangefeedRecorder.start(env);
      pool = new pg.Pool({ connectionString: env.env.DATABASE_URL, max: 2 });
      // An idle connection ended by the server must fail the next query, not crash the process.
      pool.on('error', (error) => log(`pg pool: ${error.message}`));
      const token = await login(gateway.baseUrl, seeded.users.operator.email);
      http = new HttpLoad(gateway.baseUrl, 1);
      const runOf = async (type: string, scope: Record<string, unknown> = {}) => {
        const answer = await http!.send({ method: 'POST', path: `/api/tenants/${TENANT}/runs`, token, body: { type, scope } });
        if (answer.status !== 202) throw new Error(`start ${type} → ${answer.status} ${answer.body.slice(0, 300)}`);
        const { run } = JSON.parse(answer.body) as { run: RunView };
        await feed!.completed(run.id, 600_000);
        const detail = await http!.send({ method: 'GET', path: `/api/tenants/${TENANT}/runs/${run.id}`, token });
        const done = (JSON.parse(detail.body) as { run: RunView }).run;
        if (done.outcome !== 'succeeded') throw new Error(`${type} ended ${done.outcome}: ${JSON.stringify(done.failures)}`);
        return done;
      };
      const pid = worker.child.pid!;

      // inventory.sync of N policies, then the bare INSERT of the very same rows into the same table.
      const sync = await withRss(pid, () => runOf('inventory.sync'));
      const syncSeconds = handlerSeconds(sync.result);
      log(`sync of ${sizes.policies}: ${round(syncSeconds, 2)} s, worker RSS ${sync.idleMiB} → ${sync.peakMiB} MiB`);
      const { rows: snapshot } = await pool.query<Record<string, unknown>>(
        'select external_id, tenant_id, name, policy_type, last_modified, settings, settings_hash from inventory_items where run_id = $1',
        [sync.result.id],
      );
      const floorSync = await floorRun(pool, tenantId);
      const insertRate = await bareInsert(
        pool,
        'inventory_items',
        ['run_id', 'external_id', 'tenant_id', 'name', 'policy_type', 'last_modified', 'settings', 'settings_hash'],
        snapshot.map((r) => [floorSync, r.external_id, r.tenant_id, r.name, r.policy_type, r.last_modified, JSON.stringify(r.settings), r.settings_hash]),
        SOURCE_PAGE,
      );

      // drift.generate at revision +1 (+1 / −1 / 2 modified): the comparison itself, beside one FULL JOIN.
      await env.services.sources.moveRevision(tenantId, 1);
      const second = await runOf('inventory.sync');
      const light = await withRss(pid, () => runOf('drift.generate', { baselineRunId: sync.result.id, currentRunId: second.id }));
      const lightSeconds = handlerSeconds(light.result);
      const joinStarted = now();
      const { rows: joined } = await pool.query<{ compared: string }>(
        `select count(*) as compared, count(*) filter (where b.external_id is null) as added, count(*) filter (where c.external_id is null) as removed,
                count(*) filter (where b.settings_hash <> c.settings_hash) as modified
         from (select external_id, settings_hash from inventory_items where run_id = $1) b
         full join (select external_id, settings_hash from inventory_items where run_id = $2) c using (external_id)`,
        [sync.result.id, second.id],
      );
      const joinRate = round(Number(joined[0]!.compared) / ((now() - joinStarted) / 1000), 0);
      log(`drift (+1): ${round(lightSeconds, 2)} s, ${light.result.counts.total} compared`);

      // drift.generate across half the snapshot (~N findings, every one with its field diff), beside the
      // bare INSERT of the same findings.
      await env.services.sources.moveRevision(tenantId, sizes.heavyMove - 1);
      const third = await runOf('inventory.sync');
      const heavy = await withRss(pid, () => runOf('drift.generate', { baselineRunId: sync.result.id, currentRunId: third.id }));
      const heavySeconds = handlerSeconds(heavy.result);
      const { rows: found } = await pool.query<Record<string, unknown>>(
        'select tenant_id, external_id, name, policy_type, change, fields, fields_omitted from drift_findings where run_id = $1',
        [heavy.result.id],
      );
      log(`drift (+${sizes.heavyMove}): ${round(heavySeconds, 2)} s, ${found.length} findings`);
      const floorDrift = await floorRun(pool, tenantId);
      const findingsRate = await bareInsert(
        pool,
        'drift_findings',
        ['run_id', 'tenant_id', 'external_id', 'name', 'policy_type', 'change', 'fields', 'fields_omitted'],
        found.map((r) => [floorDrift, r.tenant_id, r.external_id, r.name, r.policy_type, r.change, JSON.stringify(r.fields), r.fields_omitted]),
        FINDINGS_BATCH,
      );
      await pool.query('vacuum (analyze) inventory_items');
      await pool.query('vacuum (analyze) drift_findings');

      // The read pages at this size, through HTTP, beside the same statements via pg.
      const latest = third.id;
      const types = (await env.services.inventory.list(tenantId, { limit: 1 })).policyTypes;
      const deepCursor = (await env.services.inventory.list(tenantId, { limit: Math.floor(sizes.policies / 2) })).nextCursor!;
      const findingsCursor = (await env.services.drift.findings(tenantId, { run: heavy.result.id, limit: Math.floor(found.length / 2) })).nextCursor!;
      const cases: { name: string; path: string; statements: { sql: string; params: unknown[] }[] }[] = [
        { name: 'inventory, first 50', path: 'inventory?limit=50', statements: [env.services.inventory.listSql(latest, { limit: 50 })] },
        { name: 'inventory, 50 from the middle (cursor)', path: `inventory?limit=50&cursor=${deepCursor}`, statements: [env.services.inventory.listSql(latest, { limit: 50, cursor: deepCursor })] },
        { name: 'inventory, q=finance', path: 'inventory?limit=50&q=finance', statements: [env.services.inventory.listSql(latest, { limit: 50, q: 'finance' })] },
        {
          name: 'inventory, policyType',
          path: `inventory?limit=50&policyType=${encodeURIComponent(types[0]!.policyType)}`,
          statements: [env.services.inventory.listSql(latest, { limit: 50, policyType: types[0]!.policyType })],
        },
        { name: 'findings, first 50', path: `drift/findings?run=${heavy.result.id}&limit=50`, statements: [env.services.drift.findingsSql(heavy.result.id, { limit: 50 })] },
        {
          name: 'findings, 50 from the middle (cursor)',
          path: `drift/findings?run=${heavy.result.id}&limit=50&cursor=${findingsCursor}`,
          statements: [env.services.drift.findingsSql(heavy.result.id, { limit: 50, cursor: findingsCursor })],
        },
        { name: 'findings, change=modified', path: `drift/findings?run=${heavy.result.id}&limit=50&change=modified`, statements: [env.services.drift.findingsSql(heavy.result.id, { limit: 50, change: 'modified' })] },
      ];
      const reads: Measured[] = [];
      for (const c of cases) reads.push(await measure(http, pool, token, sizes.samples, c.name, `/api/tenants/${TENANT}/${c.path}`, c.statements));
      // What the first read of a snapshot or generation counts (then kept per process: it never changes).
      const once = async (statement: { sql: string; params: unknown[] }) => {
        const samples: number[] = [];
        for (let i = 0; i < 6; i++) {
          const t0 = now();
          await pool!.query(statement.sql, statement.params);
          if (i > 0) samples.push(now() - t0);
        }
        return summarize(samples).p50;
      };
      const typesMs = await once(env.services.inventory.policyTypesSql(latest));
      const countsMs = await once(env.services.drift.countsSql(heavy.result.id));
      const plans: { title: string; text: string }[] = [];
      for (const c of [cases[1]!, cases[5]!]) {
        const { rows } = await pool.query<{ 'QUERY PLAN': string }>(`explain (analyze, buffers) ${c.statements[0]!.sql}`, c.statements[0]!.params);
        plans.push({ title: `EXPLAIN (ANALYZE, BUFFERS): ${c.name}`, text: rows.map((r) => r['QUERY PLAN']).join('\n') });
      }

      const n = sizes.policies.toLocaleString('en');
      const figures: Figure[] = [
        { name: `inventory.sync of ${n} policies`, value: round(syncSeconds, 2), unit: 's', detail: { 'worker RSS idle MiB': sync.idleMiB, 'worker RSS peak MiB': sync.peakMiB } },
        {
          name: 'inventory.sync rows/s',
          value: round(sizes.policies / syncSeconds, 0),
          unit: 'rows/s',
          baseline: { name: `bare INSERT of the same rows via pg, ${SOURCE_PAGE} a statement`, value: insertRate },
        },
        { name: 'inventory.sync worker RSS peak', value: sync.peakMiB, unit: 'MiB', detail: { 'idle before': sync.idleMiB } },
        { name: `drift.generate, revision +1 (${light.result.counts.total.toLocaleString('en')} compared)`, value: round(lightSeconds, 2), unit: 's', detail: { 'worker RSS peak MiB': light.peakMiB } },
        {
          name: 'drift.generate +1, policies compared/s',
          value: round(light.result.counts.total / lightSeconds, 0),
          unit: 'rows/s',
          baseline: { name: 'the same comparison as one FULL JOIN via pg', value: joinRate },
        },
        {
          name: `drift.generate, revision +${sizes.heavyMove.toLocaleString('en')} (${found.length.toLocaleString('en')} findings)`,
          value: round(heavySeconds, 2),
          unit: 's',
          detail: { compared: heavy.result.counts.total, 'worker RSS idle MiB': heavy.idleMiB, 'worker RSS peak MiB': heavy.peakMiB },
        },
        {
          name: `drift.generate +${sizes.heavyMove.toLocaleString('en')}, findings/s`,
          value: round(found.length / heavySeconds, 0),
          unit: 'rows/s',
          baseline: { name: `bare INSERT of the same findings via pg, ${FINDINGS_BATCH} a statement`, value: findingsRate },
        },
        { name: 'drift.generate worker RSS peak', value: Math.max(light.peakMiB, heavy.peakMiB), unit: 'MiB' },
        ...reads.map(readFigure),
        { name: `policy types of the ${n}-policy snapshot, counted on its first read`, value: typesMs, unit: 'ms', detail: { 'via pg, p50 of': 5 } },
        { name: `counts of the ${found.length.toLocaleString('en')}-finding generation, counted on its first read`, value: countsMs, unit: 'ms', detail: { 'via pg, p50 of': 5 } },
      ];
      return {
        id: 'inventory',
        title: this.title,
        figures,
        notes: [
          `One \`server/main.ts\` and one \`worker/main.ts\` process (concurrency 1); tenant \`${TENANT}\` with a simulated source of ${n} policies (pages of ${SOURCE_PAGE}). Times are the handler's: the run's startedAt → completedAt. Worker RSS is sampled from /proc every 20 ms while the run goes on ("idle" is just before it starts, after the runs before it).`,
          `Sync floor: the same ${n} rows (read back from the snapshot) inserted into \`inventory_items\` again with \`pg\`, ${SOURCE_PAGE} rows a statement, under a run of their own: the table, its indexes and foreign keys are the same, so the ratio is what reading the source, hashing settings and reporting progress add.`,
          `Drift +1 compares two snapshots one revision apart (+1 / −1 / 2 modified): its floor is the same comparison as one FULL JOIN via \`pg\`, with no diff and nothing written. Drift +${sizes.heavyMove.toLocaleString('en')} compares the first snapshot with one ${sizes.heavyMove.toLocaleString('en')} revisions on (about half the policies replaced, many more modified), so nearly every policy becomes a finding with its field diff (each value sanitized); its floor is the bare INSERT of the same findings, ${FINDINGS_BATCH} a statement.`,
          `Reads: GET …/inventory and …/drift/findings as the operator, sequential, keep-alive, beside the page's statement (\`inventory.listSql\`, \`drift.findingsSql\`) sent via \`pg\`; the API also resolves the latest sync or the named generation (one index lookup). Every inventory page carries the snapshot's policy types with counts, and every findings page the generation's counts by change: both are GROUP BYs over the whole snapshot or generation, counted on the first read and then kept by each server process (a completed run's records never change; a running generation's counts are always counted afresh). Their cost is the last two figures. Both tables are VACUUM ANALYZEd before the reads, as autovacuum does a minute or so after a bulk write: on a table PostgreSQL has never analyzed (the very first sync of an install) the planner has no statistics, sorts the whole snapshot instead of walking the (run, name) index, and a page costs ~10 ms at 10,000 policies until then.`,
        ],
        blocks: plans,
      };
    } finally {
      http?.close();
      await feed?.close().catch(() => undefined);
      await stopAll(processes);
      await pool?.end().catch(() => undefined);
      await env.cleanup();
    }
  },
};
