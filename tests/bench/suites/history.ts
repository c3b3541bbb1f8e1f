// Run history on the progress path (docs/api.md §11): a progress change records a history entry in the same
// statement (a CTE of RunStore.update) when the run's last entry is 5 s old. What that costs is measured on
// the real transition — `services.lifecycle.progress`, one transaction with the row lock, the update and the
// changefeed publish, as a worker makes it — beside the very same transition with history never due, in the
// same run, on tables of production size.
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { author, HISTORY_PROGRESS_EVERY_MS } from '../../../db/runs/model.ts';
import { createTestEnv, seedTenant } from '../../helpers/stack.ts';
import type { BenchOptions, Figure, Suite, SuiteResult } from '../lib/report.ts';
import { now, round, summarize, type Summary } from '../lib/stats.ts';
import { seed } from './list.ts';

const TENANT = 'acme';
const BY = author('worker', 'bench (history)');
/** The budget: with history on, at the product's cadence, the progress path is at most 10 % slower. */
const TARGET_RATIO = 1.1;
/** A worker persists progress at most every ~250 ms per run (docs/api.md §4). */
const PROGRESS_HZ = 4;

const sizesFor = ({ quick, long }: BenchOptions) =>
  quick
    ? { rows: 20_000, runs: 10, rounds: 6, lanes: 6, seconds: 6 }
    : long
      ? { rows: 1_000_000, runs: 100, rounds: 40, lanes: 40, seconds: 120 }
      : { rows: 1_000_000, runs: 100, rounds: 20, lanes: 20, seconds: 30 };

/** History due (never recorded since) or not due for years: the one thing that differs between the two sides. */
const DUE = `update operation_runs set history_at = case when $2 then null else now() + interval '100 years' end where id = any($1::uuid[])`;

async function progressRecorded(pool: pg.Pool, runIds: string[]): Promise<number> {
  const { rows } = await pool.query<{ n: string }>(`select count(*) as n from run_history where run_id = any($1::uuid[]) and kind = 'progress'`, [runIds]);
  return Number(rows[0]!.n);
}

export const historySuite: Suite = {
  id: 'history',
  title: 'Run history on the progress path',
  async run(options): Promise<SuiteResult> {
    const sizes = sizesFor(options);
    const { log } = options;
    const env = await createTestEnv();
    const pool = new pg.Pool({ connectionString: env.env.DATABASE_URL, max: 2 });
    try {
      const seeded = await seedTenant(env.services, TENANT);
      const tenant = { id: seeded.tenant.id, slug: TENANT };
      const seconds = await seed(pool, sizes.rows, tenant.id, Object.values(seeded.users).map((u) => u.id), log, { history: true });
      const { rows: shape } = await pool.query<{ runs: string; history: string }>(
        `select (select count(*) from operation_runs) as runs, (select count(*) from run_history) as history`,
      );
      log(`seeded ${shape[0]!.runs} runs and ${shape[0]!.history} history entries in ${seconds} s`);

      const { lifecycle, catalog } = env.services;
      const declaration = catalog.get('demo.batch');
      if (!declaration) throw new Error('demo.batch is not registered (RUNBOARD_DEMO_OPERATIONS)');
      const startRuns = async (count: number, tag: string) => {
        const ids: string[] = [];
        for (let i = 0; i < count; i++) {
          const { run } = await lifecycle.start({ tenant, declaration, scope: { key: `${tag}-${i}`, items: 1_000_000, itemMs: 0 }, initiatorId: null, by: BY });
          await lifecycle.markStarted(run.id, BY);
          await lifecycle.progress(run.id, { total: 1_000_000 }, BY);
          ids.push(run.id);
        }
        return ids;
      };
      const progress = async (runId: string): Promise<number> => {
        const t0 = now();
        const view = await lifecycle.progress(runId, { succeeded: 1 }, BY);
        const ms = now() - t0;
        if (!view) throw new Error(`run ${runId} is not running`);
        return ms;
      };

      // 1. Worst case: every progress records (history due before each), beside never. Sequential, and the two
      // sides interleaved run by run and round by round, so noise from the shared machine hits both alike.
      const runs = await startRuns(sizes.runs, 'every');
      const recordedBefore = await progressRecorded(pool, runs);
      const every = { on: [] as number[], off: [] as number[] };
      for (let round = -1; round < sizes.rounds; round++) {
        for (let i = 0; i < runs.length; i++) {
          const on = (i + round) % 2 === 0;
          await pool.query(DUE, [[runs[i]], on]);
          const ms = await progress(runs[i]!);
          // The first round warms connections, plans and the JIT.
          if (round >= 0) (on ? every.on : every.off).push(ms);
        }
      }
      const recordedEvery = (await progressRecorded(pool, runs)) - recordedBefore;
      const warmupOn = runs.filter((_, i) => (i - 1) % 2 === 0).length;
      if (recordedEvery !== every.on.length + warmupOn) {
        throw new Error(`history on every change: ${recordedEvery} progress entries recorded for ${every.on.length + warmupOn} changes with history due`);
      }
      log(`every change: ${every.on.length} with history, ${every.off.length} without`);

      // 2. The product's cadence: each run progresses 4 times a second, as a worker reports; half the runs record
      // history as the product does (at most one progress entry per 5 s), half never. Concurrent lanes, paced.
      const paced = await startRuns(sizes.lanes, 'paced');
      const withHistory = paced.filter((_, i) => i % 2 === 0);
      const without = paced.filter((_, i) => i % 2 === 1);
      await pool.query(DUE, [without, false]);
      const cadenceBefore = await progressRecorded(pool, withHistory);
      const cadence = { on: [] as number[], off: [] as number[] };
      const started = now();
      const end = started + sizes.seconds * 1000;
      const intervalMs = 1000 / PROGRESS_HZ;
      await Promise.all(
        paced.map(async (runId, lane) => {
          const on = lane % 2 === 0;
          let next = started + (lane / paced.length) * intervalMs;
          while (next < end) {
            const wait = next - now();
            if (wait > 0) await sleep(wait);
            next += intervalMs;
            (on ? cadence.on : cadence.off).push(await progress(runId));
          }
        }),
      );
      const wallSeconds = (now() - started) / 1000;
      const recordedCadence = (await progressRecorded(pool, withHistory)) - cadenceBefore;
      const recordedWithout = await progressRecorded(pool, without);
      if (recordedWithout > 0) throw new Error(`${recordedWithout} progress entries recorded for runs whose history was never due`);
      log(`cadence: ${cadence.on.length} with history (${recordedCadence} recorded), ${cadence.off.length} without, in ${round(wallSeconds, 1)} s`);

      const worst = { on: summarize(every.on), off: summarize(every.off) };
      const product = { on: summarize(cadence.on), off: summarize(cadence.off) };
      const ratio = (a: number, b: number) => (b > 0 ? round(a / b) : 0);
      const meanOf = (samples: number[]) => samples.reduce((sum, v) => sum + v, 0) / Math.max(1, samples.length);
      const perEntry = meanOf(every.on) - meanOf(every.off);
      const detailOf = (s: Summary, baseline: Summary) => ({ n: s.n, p50: s.p50, p95: s.p95, p99: s.p99, max: s.max, mean: s.mean, 'baseline n': baseline.n, 'baseline mean': baseline.mean });
      const share = cadence.on.length > 0 ? recordedCadence / cadence.on.length : 0;

      const figures: Figure[] = [
        {
          name: 'progress p50, history recorded on every change',
          value: worst.on.p50,
          unit: 'ms',
          baseline: { name: 'history never due', value: worst.off.p50 },
          detail: { ...detailOf(worst.on, worst.off), recorded: recordedEvery },
        },
        {
          name: 'progress p95, history recorded on every change',
          value: worst.on.p95,
          unit: 'ms',
          baseline: { name: 'history never due', value: worst.off.p95 },
          detail: { 'baseline p99': worst.off.p99, 'mean extra per recorded change ms': round(perEntry, 3) },
        },
        {
          name: `progress p50 at ${PROGRESS_HZ}/s per run, history at most every ${HISTORY_PROGRESS_EVERY_MS / 1000} s`,
          value: product.on.p50,
          unit: 'ms',
          baseline: { name: 'history never due, same cadence', value: product.off.p50 },
          detail: { ...detailOf(product.on, product.off), recorded: recordedCadence, 'share recorded': round(share, 3), lanes: paced.length, seconds: round(wallSeconds, 1) },
        },
        {
          name: `progress p95 at ${PROGRESS_HZ}/s per run, history at most every ${HISTORY_PROGRESS_EVERY_MS / 1000} s`,
          value: product.on.p95,
          unit: 'ms',
          baseline: { name: 'history never due, same cadence', value: product.off.p95 },
          detail: { 'baseline p99': product.off.p99, 'with history p99': product.on.p99 },
        },
        {
          name: 'progress p50 with history ÷ without, product cadence',
          value: ratio(product.on.p50, product.off.p50),
          unit: '×',
          target: { max: TARGET_RATIO },
          detail: { 'every change recorded': ratio(worst.on.p50, worst.off.p50) },
        },
        {
          name: 'progress p95 with history ÷ without, product cadence',
          value: ratio(product.on.p95, product.off.p95),
          unit: '×',
          target: { max: TARGET_RATIO },
          detail: { 'every change recorded': ratio(worst.on.p95, worst.off.p95), 'mean ratio': ratio(product.on.mean, product.off.mean) },
        },
      ];
      return {
        id: 'history',
        title: this.title,
        figures,
        notes: [
          `Tables of production size: ${Number(shape[0]!.runs).toLocaleString('en')} runs over 100 tenants with their search text, failure reasons and ${Number(shape[0]!.history).toLocaleString('en')} history entries (queued, started, completed of each), seeded as in the list suite in ${seconds} s. The measured runs are demo.batch runs of \`${TENANT}\` started and marked started through the lifecycle.`,
          `Each sample is one \`services.lifecycle.progress(run, { succeeded: 1 })\` from the bench process, timed from the call to its return: the transaction that locks the row (and reads whether history is due), the update with its history CTE, the commit and the changefeed publish to Redis — the whole progress path of a worker. The only difference between the sides is the run's \`history_at\`: null (due) or a century ahead (never due), set by a separate statement before the timed call on both sides alike.`,
          `Worst case: ${sizes.runs} runs, ${sizes.rounds} rounds, sequential, history due before every change on one side (${recordedEvery} entries recorded: one per change with history due, the warm-up round's included) and never on the other, interleaved run by run. A recorded change costs ${round(perEntry, 3)} ms more on average: one more row (and primary-key entry) written by the same statement.`,
          `Product cadence: ${paced.length} runs progressing ${PROGRESS_HZ} times a second each for ${round(wallSeconds, 1)} s, concurrently; half record history as the product does — ${recordedCadence} progress entries for ${cadence.on.length} changes (${round(share * 100, 1)} %, one per ${HISTORY_PROGRESS_EVERY_MS / 1000} s of a run) — and half never (0 recorded). The target (≤ ${TARGET_RATIO}×) is judged here; with one change in ${Math.round(1 / Math.max(share, 1e-9))} recorded, the expected overhead is that share of the worst-case extra, well inside the noise of a shared 2-core machine: a ratio just above or below 1 is noise.`,
        ],
      };
    } finally {
      await pool.end().catch(() => undefined);
      await env.cleanup();
    }
  },
};
