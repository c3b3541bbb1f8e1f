/**
 * `npm run bench` — measures the live path, the API, memory and the dashboard against baselines measured in
 * the same run, and writes docs/benchmarks.md + docs/benchmarks.json.
 *
 *   --quick        a small smoke version (seconds; run by `npm test`, no figures are judged)
 *   --long         bigger loads (10k sockets, longer windows)
 *   --only=a,b     only these suites (ids: see suites/index.ts)
 *   --out=DIR      where to write the report (default docs/, and a temporary directory with --quick)
 *   --merge        keep the other suites' results of the report already in --out (re-measure one suite)
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { createClient } from 'redis';
import { ROOT } from '../helpers/app.ts';
import { ADMIN_DATABASE_URL, TEST_REDIS_URL } from '../helpers/database.ts';
import { machineInfo, meets, renderMarkdown, type SuiteResult } from './lib/report.ts';
import { SUITES } from './suites/index.ts';

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    long: { type: 'boolean', default: false },
    only: { type: 'string' },
    out: { type: 'string' },
    merge: { type: 'boolean', default: false },
  },
});
const quick = values.quick;
const only = values.only?.split(',').map((id) => id.trim());
const unknown = only?.filter((id) => !SUITES.some((suite) => suite.id === id)) ?? [];
if (unknown.length > 0) {
  console.error(`unknown suite ${unknown.join(', ')}; suites: ${SUITES.map((s) => s.id).join(', ')}`);
  process.exit(2);
}
const outDir = values.out ?? (quick ? mkdtempSync(join(tmpdir(), 'runboard-bench-')) : join(ROOT, 'docs'));
const log = (line: string) => console.log(`[bench] ${line}`);

async function serviceVersions(): Promise<{ postgres: string; redis: string }> {
  const client = new pg.Client({ connectionString: ADMIN_DATABASE_URL });
  await client.connect();
  const postgres = (await client.query<{ server_version: string }>('show server_version')).rows[0]!.server_version;
  await client.end();
  const redis = createClient({ url: TEST_REDIS_URL });
  await redis.connect();
  const version = /redis_version:(\S+)/.exec(await redis.info('server'))?.[1] ?? 'unknown';
  await redis.close();
  return { postgres, redis: version };
}

const results: SuiteResult[] = [];
let failed = false;
for (const suite of SUITES.filter((s) => !only || only.includes(s.id))) {
  log(`${suite.id}: ${suite.title}`);
  const started = performance.now();
  try {
    const result = await suite.run({ quick, long: values.long, log: (line) => log(`${suite.id}: ${line}`) });
    result.seconds = Math.round((performance.now() - started) / 100) / 10;
    result.measuredAt = new Date().toISOString();
    results.push(result);
    for (const figure of result.figures) {
      const met = meets(figure);
      log(`${suite.id}: ${figure.name} = ${figure.value} ${figure.unit}${figure.baseline ? ` (baseline ${figure.baseline.value})` : ''}${met === false ? ' MISSED' : ''}`);
    }
    if (result.lost) {
      failed = true;
      log(`${suite.id}: LOST ${result.lost} terminal transitions`);
    }
  } catch (error) {
    failed = true;
    log(`${suite.id}: FAILED ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  }
}

if (values.merge && existsSync(join(outDir, 'benchmarks.json'))) {
  // Suites not run now keep their earlier figures; each result says when it was measured.
  const earlier = (JSON.parse(readFileSync(join(outDir, 'benchmarks.json'), 'utf8')) as { results: SuiteResult[] }).results;
  const fresh = new Map(results.map((r) => [r.id, r]));
  const merged = SUITES.map((suite) => fresh.get(suite.id) ?? earlier.find((r) => r.id === suite.id)).filter((r): r is SuiteResult => r !== undefined);
  results.splice(0, results.length, ...merged);
}
const machine = machineInfo(await serviceVersions());
const command = `npm run bench${quick ? ' -- --quick' : values.long ? ' -- --long' : ''}`;
mkdirSync(outDir, { recursive: true });
writeFileSync(join(outDir, 'benchmarks.json'), `${JSON.stringify({ machine, command, quick, long: values.long, results }, null, 2)}\n`);
writeFileSync(join(outDir, 'benchmarks.md'), renderMarkdown(machine, results, command));
log(`wrote ${join(outDir, 'benchmarks.md')} and benchmarks.json`);
// Open handles (sockets, pools) of a failed suite must not keep the process alive.
process.exit(failed ? 1 : 0);
