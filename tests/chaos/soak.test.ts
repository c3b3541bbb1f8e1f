// Soak: thousands of short runs through the real processes (two gateways, two workers) while 200 live
// clients watch the tenant. Nothing may be lost (every client gets every run's terminal update, exactly as
// committed), and nothing may pile up: process memory after the soak is within a stated bound of what it was
// after warm-up, Redis holds no per-run leftovers, and the inbox counts match the runs. Figures are printed;
// speed is never asserted.
import { readFileSync } from 'node:fs';
import { createClient } from 'redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, login } from '../helpers/app.ts';
import { spawnGateway, spawnWorkerProcess, stopAll, type GatewayProcess, type ServiceProcess } from '../helpers/processes.ts';
import { sized } from '../helpers/scale.ts';
import { createTestEnv, seedTenant, type Seeded, type TestEnv } from '../helpers/stack.ts';
import { Watchers, type WatcherTarget } from '../helpers/watchers.ts';

const RUNS = sized(10_000, 50_000);
/** Runs before the first memory sample: the processes have warmed up (JIT, pools, buffers) by then. */
const WARMUP_RUNS = 500;
const CLIENTS = 200;
/** Start requests in flight at once, spread over both gateways. */
const IN_FLIGHT = 32;
const WORKER_CONCURRENCY = 4;
/** Growth allowed between the post-warm-up and the post-soak sample (both after a settle). */
const RSS_GROWTH_BOUND = 64 * 1024 * 1024;
const HEAP_GROWTH_BOUND = 32 * 1024 * 1024;
/** Entries (hash fields, list/set members) Redis may hold under our prefix once every run has ended. */
const REDIS_ENTRIES_BOUND = 50;
const MB = 1024 * 1024;

type Memory = { rss: number; heap: number };
/** Each spawned process listens for the inspector on a free loopback port, so the test can force a full GC before measuring. */
const INSPECTOR = { NODE_OPTIONS: '--inspect=127.0.0.1:0' };

describe(`soak: ${RUNS} short runs, ${CLIENTS} live clients, two gateways, two workers`, () => {
  let env: TestEnv;
  let acme: Seeded;
  const gateways: GatewayProcess[] = [];
  const workers: ServiceProcess[] = [];
  let watchers: Watchers | undefined;

  beforeAll(async () => {
    // Four processes of their own beside the other test files on one PostgreSQL (max_connections 100): each opens
    // at most 10 connections (docs/security.md, DATABASE_POOL_MAX), as an installation with many processes would.
    env = await createTestEnv({ DATABASE_POOL_MAX: '10' });
    acme = await seedTenant(env.services, 'acme');
    // One at a time: four processes compiling and connecting at once can miss the start-up bound on a busy box.
    const worker = { WORKER_CONCURRENCY: String(WORKER_CONCURRENCY), ...INSPECTOR };
    for (let i = 0; i < 2; i++) gateways.push(await spawnGateway(env, INSPECTOR));
    for (let i = 0; i < 2; i++) workers.push(await spawnWorkerProcess(env, worker));
  }, 240_000);

  afterAll(async () => {
    await watchers?.close();
    await stopAll([...gateways, ...workers]);
    await env?.cleanup();
  }, 60_000);

  /** Heap and RSS of each spawned process right after a forced full garbage collection (through its inspector). */
  const sampleMemory = async (): Promise<Map<string, Memory>> => {
    const processes = [...gateways.map((g, i) => ({ name: `gateway ${'AB'[i]}`, service: g as ServiceProcess })), ...workers.map((w, i) => ({ name: `worker ${i + 1}`, service: w }))];
    const sampled = new Map<string, Memory>();
    for (const p of processes) sampled.set(p.name, await collectedMemory(p.service));
    return sampled;
  };

  /** Redis under our prefix: how many keys, and how many entries they hold in all. */
  const redisFootprint = async () => {
    const client = createClient({ url: env.config.redisUrl });
    await client.connect();
    try {
      const sizes: Record<string, number> = {};
      for await (const keys of client.scanIterator({ MATCH: `${env.config.redisPrefix}:*`, COUNT: 500 })) {
        for (const key of keys) {
          const type = await client.type(key);
          sizes[key] =
            type === 'hash' ? await client.hLen(key)
            : type === 'list' ? await client.lLen(key)
            : type === 'set' ? await client.sCard(key)
            : type === 'zset' ? await client.zCard(key)
            : 1;
        }
      }
      return { keys: Object.keys(sizes).length, entries: Object.values(sizes).reduce((a, b) => a + b, 0), sizes };
    } finally {
      await client.close();
    }
  };

  it('every client sees every run complete exactly as committed; memory, Redis and the inbox stay bounded', async () => {
    const operator = await login(gateways[0]!.baseUrl, acme.users.operator.email);
    // ≤ 50 sockets per token per gateway: six readonly sessions, three per gateway (one login at a time:
    // password hashing is deliberately slow, and the box is shared).
    const viewerTokens: string[] = [];
    for (let i = 0; i < 6; i++) viewerTokens.push(await login(gateways[i % 2]!.baseUrl, acme.users.readonly.email));
    const targets: WatcherTarget[] = Array.from({ length: CLIENTS }, (_, i) => ({ baseUrl: gateways[i % 2]!.baseUrl, token: viewerTokens[i % viewerTokens.length]! }));
    watchers = await Watchers.start(targets, 'acme');
    const live = watchers;

    const runIds: string[] = [];
    const refused: string[] = [];
    let next = 0;
    /** Starts runs [next, until) with IN_FLIGHT requests at a time, alternating gateways. */
    const startRuns = async (until: number) => {
      await Promise.all(
        Array.from({ length: IN_FLIGHT }, async () => {
          for (let i = next++; i < until; i = next++) {
            const answer = await call(gateways[i % 2]!.baseUrl, 'POST', '/api/tenants/acme/runs', {
              token: operator,
              body: { type: 'demo.batch', scope: { items: 1, itemMs: 0, key: `soak-${i}` } },
            });
            if (answer.status === 202) runIds.push(answer.body.run.id);
            else if (refused.length < 10) refused.push(`${answer.status} ${JSON.stringify(answer.body)}`);
          }
        }),
      );
      next = until;
    };
    /** Waits while the clients are still catching up; gives up after a minute without any new completion. */
    const drain = async () => {
      for (let last = -1; live.completions !== last; ) {
        last = live.completions;
        if (await live.allSeen(runIds, 60_000)) return;
      }
    };
    /** Compares what every client saw with the committed rows; `lost` counts (client, run) pairs missing. */
    const check = async (phase: string) => {
      const report = await live.report();
      const truth = await env.services.orm.em.fork().execute<{ id: string; version: number; outcome: string; status: string }[]>(
        `select id, version, outcome, status from operation_runs where type = 'demo.batch'`,
      );
      const seen = new Map(report.runs.map((r) => [r.runId, r]));
      let lost = 0;
      const wrong: string[] = [];
      for (const run of truth) {
        const got = seen.get(run.id);
        lost += CLIENTS - (got ? got.pushedTo + got.recoveredBy : 0);
        if (got && (got.version !== run.version || got.outcome !== run.outcome)) wrong.push(`${run.id}: live v${got.version}/${got.outcome}, db v${run.version}/${run.outcome}`);
      }
      const notEnded = truth.filter((r) => r.status !== 'completed').length;
      expect(
        { phase, refused, runs: truth.length, notEnded, lost, missed: report.missed, missedWhileConnected: report.missedWhileConnected, duplicates: report.duplicates, late: report.lateUpdates, disagreements: report.disagreements, wrong: wrong.slice(0, 10) },
        `after ${phase}: ${report.updates} run:update deliveries; disconnects ${JSON.stringify(report.disconnects)}; watchers' longest event-loop stall ${report.maxLoopDelayMs} ms; ` +
          `gateway log: ${gateways.flatMap((g) => g.lines.filter((l) => /"level":(40|50)/.test(l))).slice(0, 3).join(' | ') || '-'}`,
      ).toEqual({ phase, refused: [], runs: runIds.length, notEnded: 0, lost: 0, missed: [], missedWhileConnected: 0, duplicates: 0, late: 0, disagreements: [], wrong: [] });
      expect(truth.every((r) => r.outcome === 'succeeded')).toBe(true);
      return { report, lost };
    };

    const processes = [
      ...gateways.map((g, i) => ({ name: `gateway ${'AB'[i]}`, pid: g.child.pid! })),
      ...workers.map((w, i) => ({ name: `worker ${i + 1}`, pid: w.child.pid! })),
      ...live.pids.map((pid, i) => ({ name: `watchers ${i + 1}`, pid })),
    ];

    const t0 = Date.now();
    await startRuns(WARMUP_RUNS);
    await drain();
    await check('warm-up');
    const warmupMs = Date.now() - t0;
    const before = await sampleMemory();
    const cpuBefore = new Map(processes.map((p) => [p.name, cpuMsOf(p.pid)]));
    const testCpuBefore = process.cpuUsage();

    const t1 = Date.now();
    await startRuns(RUNS);
    const startedMs = Date.now() - t1;
    await drain();
    const soakMs = Date.now() - t1;
    const cpu = processes.map((p) => `${p.name} ${((cpuMsOf(p.pid) - cpuBefore.get(p.name)!) / (RUNS - WARMUP_RUNS)).toFixed(1)}`);
    const testCpu = process.cpuUsage(testCpuBefore);
    cpu.push(`test ${((testCpu.user + testCpu.system) / 1000 / (RUNS - WARMUP_RUNS)).toFixed(1)}`);
    const { report, lost } = await check('soak');
    expect(runIds).toHaveLength(RUNS);
    const after = await sampleMemory();

    // The initiator's inbox: one `queued` and one terminal notification per run (docs/api.md §5), all unread.
    const inbox = await call(gateways[1]!.baseUrl, 'GET', '/api/notifications?limit=1', { token: operator });
    expect(inbox.status).toBe(200);
    expect(inbox.body.unreadCount).toBe(2 * RUNS);
    const levels = await env.services.orm.em.fork().execute<{ level: string; n: string }[]>(`select level, count(*) as n from notifications group by level`);
    expect(Object.fromEntries(levels.map((l) => [l.level, Number(l.n)]))).toEqual({ info: RUNS, success: RUNS });

    // Nothing per run stays in Redis (finished jobs are removed, not kept).
    const redis = await redisFootprint();
    expect(redis.entries, `Redis under the prefix: ${JSON.stringify(redis.sizes)}`).toBeLessThanOrEqual(REDIS_ENTRIES_BOUND);

    const pushed = report.runs.reduce((n, r) => n + r.pushedTo, 0);
    const recovered = report.runs.reduce((n, r) => n + r.recoveredBy, 0);
    const figures = [...before].map(([name, b]) => {
      const a = after.get(name)!;
      return { name, rssGrowth: a.rss - b.rss, heapGrowth: a.heap - b.heap, line: `${name} rss ${mb(b.rss)}→${mb(a.rss)} heap ${mb(b.heap)}→${mb(a.heap)}` };
    });
    console.log(
      `[soak] ${RUNS} runs, ${CLIENTS} clients: warm-up ${WARMUP_RUNS} runs in ${(warmupMs / 1000).toFixed(1)} s; soak ${RUNS - WARMUP_RUNS} runs ` +
        `started in ${(startedMs / 1000).toFixed(1)} s, all seen completed by every client after ${(soakMs / 1000).toFixed(1)} s ` +
        `(${(((RUNS - WARMUP_RUNS) * 1000) / soakMs).toFixed(1)} runs/s end to end); lost ${lost}; ${report.updates} run:update deliveries; ` +
        `completions pushed ${pushed}, re-read after a reconnect ${recovered} (disconnects ${JSON.stringify(report.disconnects)}, longest watcher stall ${report.maxLoopDelayMs} ms); ` +
        `CPU ms per run: ${cpu.join(', ')}; redis ${redis.keys} keys / ${redis.entries} entries; ` +
        `memory (MB, after a forced GC, after warm-up→after soak): ${figures.map((f) => f.line).join('; ')}; watchers rss ${report.rssBytes.map(mb).join(', ')}`,
    );
    for (const f of figures) {
      expect(f.rssGrowth, `${f.name} RSS growth`).toBeLessThan(RSS_GROWTH_BOUND);
      expect(f.heapGrowth, `${f.name} heap growth`).toBeLessThan(HEAP_GROWTH_BOUND);
    }
  }, 1_800_000);
});

/**
 * Forces two full garbage collections in a process started with INSPECTOR, then reads its memory: what is
 * left is what it holds on to. Speaks the inspector protocol over its WebSocket (Node's own WebSocket).
 */
async function collectedMemory(service: ServiceProcess): Promise<Memory> {
  const url = /ws:\/\/\S+/.exec(await service.waitForLine(/Debugger listening on ws:\/\//))![0];
  const socket = new WebSocket(url);
  const replies = new Map<number, (result: any) => void>();
  socket.onmessage = (event) => {
    const message = JSON.parse(String(event.data)) as { id?: number; result?: unknown };
    if (message.id !== undefined) replies.get(message.id)?.(message.result);
  };
  let nextId = 0;
  const send = (method: string, params: Record<string, unknown> = {}) =>
    new Promise<any>((resolve) => {
      const id = ++nextId;
      replies.set(id, resolve);
      socket.send(JSON.stringify({ id, method, params }));
    });
  try {
    await new Promise((resolve, reject) => {
      socket.onopen = resolve;
      socket.onerror = () => reject(new Error(`inspector of pid ${service.child.pid} unreachable`));
    });
    await send('HeapProfiler.collectGarbage');
    await send('HeapProfiler.collectGarbage');
    const answer = await send('Runtime.evaluate', { expression: 'JSON.stringify(process.memoryUsage())', returnByValue: true });
    const usage = JSON.parse(answer.result.value as string) as { rss: number; heapUsed: number };
    return { rss: usage.rss, heap: usage.heapUsed };
  } finally {
    socket.close();
  }
}

/** CPU time (user + system) a process on this machine has used so far, in ms (Linux /proc, 100 ticks/s). */
function cpuMsOf(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /s, '').split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

const mb = (bytes: number) => (bytes / MB).toFixed(1);
