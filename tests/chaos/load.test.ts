// Load: a thousand start requests at the same instant, against two real gateway processes. Identical starts
// must collapse into one run (the database decides, across processes); distinct starts must all be accepted
// (202) and all end through real worker processes. Start latencies are printed, never asserted.
import { Agent, request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChangefeedRecorder, login } from '../helpers/app.ts';
import { spawnGateway, spawnWorkerProcess, stopAll, type GatewayProcess, type ServiceProcess } from '../helpers/processes.ts';
import { sized } from '../helpers/scale.ts';
import { createTestEnv, seedTenant, type Seeded, type TestEnv } from '../helpers/stack.ts';

const REQUESTS = sized(1_000, 3_000);

type Answer = { status: number; body: any; ms: number; error?: string };

/**
 * POSTs JSON over node:http with an agent that opens as many keep-alive connections as there are requests,
 * so `count` requests really are in flight at once (fetch's pool would decide that for us).
 */
async function postAll(count: number, target: (i: number) => { baseUrl: string; path: string; token: string; body: unknown }): Promise<Answer[]> {
  const agent = new Agent({ keepAlive: true, maxSockets: count, maxFreeSockets: count });
  try {
    return await Promise.all(
      Array.from({ length: count }, (_, i) => {
        const { baseUrl, path, token, body } = target(i);
        const payload = JSON.stringify(body);
        const t0 = performance.now();
        return new Promise<Answer>((resolve) => {
          const req = request(
            `${baseUrl}${path}`,
            { method: 'POST', agent, timeout: 60_000, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } },
            (res) => {
              const chunks: Buffer[] = [];
              res.on('data', (chunk: Buffer) => chunks.push(chunk));
              res.on('end', () => {
                const text = Buffer.concat(chunks).toString('utf8');
                let parsed: unknown = text;
                try {
                  parsed = JSON.parse(text);
                } catch {
                  // not JSON: kept as text for the failure message
                }
                resolve({ status: res.statusCode ?? 0, body: parsed, ms: performance.now() - t0 });
              });
            },
          );
          req.on('timeout', () => req.destroy(new Error('timed out')));
          req.on('error', (error: NodeJS.ErrnoException) => resolve({ status: 0, body: null, ms: performance.now() - t0, error: error.code ?? error.message }));
          req.end(payload);
        });
      }),
    );
  } finally {
    agent.destroy();
  }
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
const latencies = (answers: Answer[]) => {
  const sorted = answers.map((a) => a.ms).sort((a, b) => a - b);
  return `p50 ${percentile(sorted, 50).toFixed(0)} ms, p95 ${percentile(sorted, 95).toFixed(0)} ms, p99 ${percentile(sorted, 99).toFixed(0)} ms, max ${sorted.at(-1)!.toFixed(0)} ms`;
};
/** `{ "202": 998, "503 dispatch_failed": 2 }`: every distinct answer, for failure messages and figures. */
const tally = (answers: Answer[]) =>
  answers.reduce<Record<string, number>>((acc, a) => {
    const key = a.error ? `error ${a.error}` : a.status >= 400 ? `${a.status} ${a.body?.error?.code ?? String(a.body).slice(0, 60)}` : String(a.status);
    acc[key] = (acc[key] ?? 0) + 1;
    return acc;
  }, {});

/**
 * Mean time the gateways themselves spent on start requests (their own request histogram, from the first
 * middleware to the answer): the rest of a client's latency was spent waiting to be read at all.
 */
async function serverSide(gateways: GatewayProcess[]): Promise<{ sum: number; count: number }> {
  let sum = 0;
  let count = 0;
  for (const gateway of gateways) {
    const text = await (await fetch(`${gateway.baseUrl}/metrics`)).text();
    for (const [, name, value] of text.matchAll(/^runboard_http_request_duration_seconds_(sum|count)\{[^}]*method="POST",route="[^"]*\/runs"[^}]*\} (\S+)$/gm)) {
      if (name === 'sum') sum += Number(value);
      else count += Number(value);
    }
  }
  return { sum, count };
}
const meanMs = (before: { sum: number; count: number }, after: { sum: number; count: number }) =>
  (((after.sum - before.sum) / (after.count - before.count)) * 1000).toFixed(0);

describe(`load: ${REQUESTS} concurrent start requests over two gateway processes`, () => {
  let env: TestEnv;
  let acme: Seeded;
  let gateways: GatewayProcess[] = [];
  const workers: ServiceProcess[] = [];
  let feed: ChangefeedRecorder | undefined;
  let operator = '';

  beforeAll(async () => {
    env = await createTestEnv();
    acme = await seedTenant(env.services, 'acme');
    const started = await Promise.allSettled([spawnGateway(env), spawnGateway(env)]);
    gateways = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
    const failed = started.find((s) => s.status === 'rejected');
    if (failed) throw (failed as PromiseRejectedResult).reason;
    operator = await login(gateways[0]!.baseUrl, acme.users.operator.email);
    feed = await ChangefeedRecorder.start(env);
  }, 120_000);

  afterAll(async () => {
    await feed?.close();
    await stopAll([...gateways, ...workers]);
    await env?.cleanup();
  }, 60_000);

  const db = <T>(sql: string, params: unknown[] = []) => env.services.orm.em.fork().execute<T[]>(sql, params);

  it(`${REQUESTS} identical concurrent starts make exactly one run: one 202 reused:false, the rest 200 reused:true, one queued notification`, async () => {
    // No worker yet: the run stays queued for the whole burst, so every request meets the same active run.
    const answers = await postAll(REQUESTS, (i) => ({
      baseUrl: gateways[i % 2]!.baseUrl,
      path: '/api/tenants/acme/runs',
      token: operator,
      body: { type: 'demo.batch', scope: { items: 1, itemMs: 0, key: 'the-same-one' } },
    }));
    console.log(
      `[load] ${REQUESTS} identical starts: ${JSON.stringify(tally(answers))}; latency ${latencies(answers)}; ` +
        `inside the gateways ${meanMs({ sum: 0, count: 0 }, await serverSide(gateways))} ms on average`,
    );

    expect(tally(answers)).toEqual({ '202': 1, '200': REQUESTS - 1 });
    expect(answers.filter((a) => a.body.reused === false)).toHaveLength(1);
    const ids = new Set(answers.map((a) => a.body.run.id));
    expect(ids.size).toBe(1);
    const [runId] = ids;
    expect(await db(`select id from operation_runs where type = 'demo.batch'`)).toEqual([{ id: runId }]);
    expect(await db(`select level from notifications where run_id = ?`, [runId])).toEqual([{ level: 'info' }]);
    // Published once: the changefeed saw one `queued` for it.
    expect(feed!.forRun(runId!).filter((m) => m.kind === 'queued')).toHaveLength(1);
  }, 180_000);

  it(`${REQUESTS} distinct concurrent starts are all accepted and all end through worker processes`, async () => {
    const spawned = await Promise.allSettled([spawnWorkerProcess(env), spawnWorkerProcess(env)]);
    for (const s of spawned) if (s.status === 'fulfilled') workers.push(s.value);
    expect(spawned.map((s) => s.status)).toEqual(['fulfilled', 'fulfilled']);

    const inside = await serverSide(gateways);
    const t0 = Date.now();
    const answers = await postAll(REQUESTS, (i) => ({
      baseUrl: gateways[i % 2]!.baseUrl,
      path: '/api/tenants/acme/runs',
      token: operator,
      body: { type: 'demo.batch', scope: { items: 1, itemMs: 0, key: `distinct-${i}` } },
    }));
    const answeredMs = Date.now() - t0;
    console.log(
      `[load] ${REQUESTS} distinct starts answered in ${answeredMs} ms: ${JSON.stringify(tally(answers))}; latency ${latencies(answers)}; ` +
        `inside the gateways ${meanMs(inside, await serverSide(gateways))} ms on average`,
    );

    // The server takes the burst rather than shedding it: a start is cheap (one transaction and an enqueue),
    // and waiting for a pooled connection is the right back-pressure. So: every answer is 202, none an error.
    expect(tally(answers)).toEqual({ '202': REQUESTS });
    const ids = new Set(answers.map((a) => a.body.run.id as string));
    expect(ids.size).toBe(REQUESTS);

    const completed = () => new Set(feed!.runs.filter((m) => m.kind === 'completed' && ids.has(m.run.id)).map((m) => m.run.id)).size;
    await feed!.until(() => completed() === REQUESTS, 300_000, `${REQUESTS} runs to complete`);
    const drainedMs = Date.now() - t0;
    const rows = await db<{ status: string; outcome: string; n: string }>(
      `select status, outcome, count(*) as n from operation_runs where id = any(?::uuid[]) group by status, outcome`,
      [`{${[...ids].join(',')}}`],
    );
    expect(rows.map((r) => ({ ...r, n: Number(r.n) }))).toEqual([{ status: 'completed', outcome: 'succeeded', n: REQUESTS }]);
    expect(await db(`select id from operation_runs where type = 'demo.batch' and status <> 'completed'`)).toEqual([]);
    console.log(`[load] ${REQUESTS} distinct runs all completed ${drainedMs} ms after the burst began`);
  }, 420_000);
});
