// Outgoing webhooks (docs/api.md §13): how long after a run completes its webhook arrives at a receiver, how many
// deliveries a worker sends per second, and what the outbox costs the run path — each beside a floor measured in
// the same run: the bare HTTP POST to the same receiver, bare POSTs at the same concurrency, and the same
// completion in a tenant without webhooks.
import { Agent, request } from 'node:http';
import { author } from '../../../db/runs/model.ts';
import { startWebhookSender } from '../../../worker/webhooks.ts';
import { createTestEnv, seedTenant } from '../../helpers/stack.ts';
import { WebhookReceiver } from '../../helpers/webhook-receiver.ts';
import type { Figure, Suite, SuiteResult } from '../lib/report.ts';
import { now, round, summarize } from '../lib/stats.ts';

const BY = author('worker', 'bench (webhooks)');
const CONCURRENCY = 16;

/** One bare POST to the receiver (the latency floor), in ms. */
function barePost(url: string, body: string, agent: Agent): Promise<number> {
  const started = now();
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
      res.resume();
      res.on('end', () => resolve(now() - started));
    });
    req.on('error', reject);
    req.end(body);
  });
}

export const webhooksSuite: Suite = {
  id: 'webhooks',
  title: 'Webhook deliveries',
  async run({ quick, log }): Promise<SuiteResult> {
    const sizes = quick ? { latency: 20, burst: 60, hooks: 3, path: 20 } : { latency: 200, burst: 600, hooks: 5, path: 200 };
    const env = await createTestEnv({ SOURCE_CREDENTIALS_KEY: Buffer.alloc(32, 5).toString('base64'), ALLOW_PRIVATE_TARGETS: 'true', WEBHOOK_CONCURRENCY: String(CONCURRENCY) });
    const receiver = await WebhookReceiver.start();
    const { lifecycle, catalog, webhooks } = env.services;
    const declaration = catalog.get('demo.external')!;
    let sender: Awaited<ReturnType<typeof startWebhookSender>> | undefined;
    try {
      const acme = (await seedTenant(env.services, 'acme')).tenant;
      const quiet = (await seedTenant(env.services, 'quiet')).tenant;
      let key = 0;
      const runIn = async (tenant: { id: string; slug: string }) => {
        const { run } = await lifecycle.start({ tenant, declaration, scope: { key: `bench-${key++}` }, initiatorId: null, by: BY });
        await lifecycle.markStarted(run.id, BY);
        return run.id;
      };
      const complete = async (runId: string) => {
        const started = now();
        await lifecycle.complete(runId, { total: 1, succeeded: 1 }, BY);
        return now() - started;
      };

      // 1. What the outbox costs the run path: completing a run with `hooks` matching webhooks, beside a tenant
      // with none; interleaved so the shared machine's noise hits both. No sender runs, so nothing else competes.
      for (let i = 0; i < sizes.hooks; i++) await webhooks.create(acme.id, null, { url: `${receiver.url}/hook-${i}`, events: ['run.completed'] });
      const cost = { with: [] as number[], without: [] as number[] };
      for (let i = -5; i < sizes.path; i++) {
        const [a, b] = [await runIn(acme), await runIn(quiet)];
        const [withHooks, without] = i % 2 === 0 ? [await complete(a), await complete(b)] : [await complete(b), await complete(a)].reverse();
        if (i >= 0) {
          cost.with.push(withHooks!);
          cost.without.push(without!);
        }
      }
      const pending = sizes.hooks * (sizes.path + 5);
      log(`run path: ${cost.with.length} completions with ${sizes.hooks} webhooks each, ${cost.without.length} without`);

      // 2. Throughput: the sender starts with that backlog, then a burst of completions on top.
      const burstRuns: string[] = [];
      for (let i = 0; i < sizes.burst / sizes.hooks; i++) burstRuns.push(await runIn(acme));
      const expected = pending + burstRuns.length * sizes.hooks;
      const t0 = now();
      sender = await startWebhookSender(env.services);
      await Promise.all(burstRuns.map((id) => complete(id)));
      await receiver.next(expected, 120_000);
      const sendSeconds = (now() - t0) / 1000;
      const perSecond = round(expected / sendSeconds, 0);
      log(`throughput: ${expected} deliveries in ${round(sendSeconds, 1)} s`);

      // The floor: bare POSTs to the same receiver at the same concurrency.
      const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });
      const body = JSON.stringify(receiver.received[0]!.body);
      const bareCount = Math.min(expected, 2_000);
      const b0 = now();
      let sent = 0;
      await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
        while (sent < bareCount) {
          sent++;
          await barePost(`${receiver.url}/bare`, body, agent);
        }
      }));
      const barePerSecond = round(bareCount / ((now() - b0) / 1000), 0);

      // 3. Latency: one run at a time, from its completion's commit to the receiver (one webhook left).
      for (const hook of await webhooks.list(acme.id)) await webhooks.delete(acme.id, hook.id);
      await webhooks.create(acme.id, null, { url: `${receiver.url}/latency`, events: ['run.completed'] });
      const latency: number[] = [];
      const floor: number[] = [];
      for (let i = -3; i < sizes.latency; i++) {
        const runId = await runIn(acme);
        const seen = receiver.received.length;
        await lifecycle.complete(runId, { total: 1, succeeded: 1 }, BY);
        const committed = Date.now();
        const arrived = await receiver.next(seen + 1, 10_000);
        if (i >= 0) latency.push(arrived[seen]!.at - committed);
        if (i >= 0) floor.push(await barePost(`${receiver.url}/bare`, body, agent));
      }
      agent.destroy();
      const l = summarize(latency);
      const f = summarize(floor);
      const w = summarize(cost.with);
      const wo = summarize(cost.without);
      const figures: Figure[] = [
        {
          name: 'delivery latency p50 (completion committed → receiver)',
          value: l.p50,
          unit: 'ms',
          baseline: { name: 'bare POST to the receiver', value: f.p50 },
          target: { max: 100 },
          detail: { n: l.n, p95: l.p95, p99: l.p99, max: l.max, 'bare p95': f.p95 },
        },
        {
          name: 'deliveries per second (one worker, concurrency 16)',
          value: perSecond,
          unit: '/s',
          baseline: { name: 'bare POSTs/s at concurrency 16', value: barePerSecond },
          target: { min: 100 },
          detail: { deliveries: expected, webhooks: sizes.hooks, seconds: round(sendSeconds, 2) },
        },
        {
          name: `run completion p50 with ${sizes.hooks} matching webhooks (outbox rows in the same statement)`,
          value: w.p50,
          unit: 'ms',
          baseline: { name: 'the same completion, tenant without webhooks', value: wo.p50 },
          target: { max: round(wo.p50 * 1.25 + 0.2) },
          detail: { n: w.n, p95: w.p95, 'baseline p95': wo.p95, ratio: wo.p50 > 0 ? round(w.p50 / wo.p50) : 0 },
        },
      ];
      return {
        id: 'webhooks',
        title: 'Webhook deliveries',
        figures,
        notes: [
          'One worker process\'s sender (in the bench process) against a loopback receiver that answers 200 at once; real PostgreSQL and Redis.',
          'Latency: one run at a time; the clock starts when `lifecycle.complete` returns (the change is committed and published) and stops when the receiver has the request. The sender is woken by the run change on the changefeed.',
          'Throughput: a backlog of deliveries plus a burst of completions, until the receiver has them all; each delivery is claimed (SKIP LOCKED), signed, sent and recorded — one claim statement per batch and one result statement per delivery.',
          'Run path: the completion transaction with the deliveries inserted by its own statement, beside a tenant with no webhooks (no rows inserted).',
        ],
      };
    } finally {
      await sender?.close();
      await receiver.close();
      await env.cleanup();
    }
  },
};
