// Push vs poll, measured: the same committed changes seen by socket clients and by clients polling our own
// list API, with the gateway's CPU per update; the peers' polling dashboards as computed figures.
import { setTimeout as sleep } from 'node:timers/promises';
import { spawnGateway, type GatewayProcess } from '../../helpers/processes.ts';
import { createTestEnv, seedTenant, type TestEnv } from '../../helpers/stack.ts';
import { mintSessions, startSwarm, type Swarm } from '../lib/client-swarm.ts';
import type { BenchOptions, Figure, Suite, SuiteResult } from '../lib/report.ts';
import { processCpuSeconds, round, summarize, type Summary } from '../lib/stats.ts';
import { TransitionDriver } from '../lib/transitions.ts';

const TENANT = 'acme';
/** Committed changes per second during every phase (a few busy runs, each at a worker's progress pace). */
const TRANSITIONS_PER_SECOND = 16;

/** Poll intervals of the peers' dashboards (their defaults): a change shows after half of it on average. */
const PEERS = [
  { name: 'bull-board', seconds: 5 },
  { name: 'Laravel Horizon', seconds: 3 },
  { name: 'Trigger.dev run lists', seconds: 3 },
  { name: 'Hangfire dashboard', seconds: 2 },
];

type Plan = { clients: number; pushSeconds: number; polls: { intervalMs: number; seconds: number }[] };
const planFor = ({ quick, long }: BenchOptions): Plan =>
  quick
    ? { clients: 10, pushSeconds: 1.5, polls: [{ intervalMs: 250, seconds: 2 }, { intervalMs: 1_000, seconds: 3 }] }
    : {
        clients: long ? 200 : 50,
        pushSeconds: long ? 20 : 5,
        polls: [{ intervalMs: 1_000, seconds: long ? 30 : 8 }, { intervalMs: 5_000, seconds: long ? 60 : 15 }],
      };

type Measured = { latency: Summary; observed: number; committed: number; cpuSeconds: number; seconds: number };

/** Commit → first shown (that version or a newer one), per client and change. */
async function measure(driver: TransitionDriver, swarm: Swarm, gatewayPid: number, seconds: number, settleMs: number): Promise<Measured> {
  await swarm.reset();
  const cpuBefore = processCpuSeconds(gatewayPid) ?? 0;
  const drive = await driver.drive('product', TRANSITIONS_PER_SECOND, seconds);
  // Pollers need up to one more interval to see the last changes; the gateway's CPU counts until then too.
  await sleep(settleMs);
  const cpuSeconds = (processCpuSeconds(gatewayPid) ?? 0) - cpuBefore;
  const receipts = await swarm.collect();
  const samples: number[] = [];
  for (const [key, stamp] of driver.stamps) for (const at of receipts.get(key) ?? []) samples.push(at - stamp.at);
  return { latency: summarize(samples), observed: samples.length, committed: driver.stamps.size, cpuSeconds, seconds: drive.seconds };
}

async function run(options: BenchOptions): Promise<SuiteResult> {
  const plan = planFor(options);
  const { log } = options;
  let env: TestEnv | undefined;
  let gateway: GatewayProcess | undefined;
  let driver: TransitionDriver | undefined;
  const swarms: Swarm[] = [];
  try {
    env = await createTestEnv();
    const seeded = await seedTenant(env.services, TENANT);
    // Every process starts at once (each takes seconds on a busy machine).
    const starting = [startSwarm(2), startSwarm(2)].map((s) => s.then((started) => (swarms.push(started), started)));
    gateway = await spawnGateway(env);
    const [pushers, pollers] = (await Promise.all(starting)) as [Swarm, Swarm];
    const pid = gateway.child.pid!;
    const tokens = await mintSessions(env.services, Object.values(seeded.users).map((u) => u.id), Math.ceil(plan.clients / 10));
    driver = new TransitionDriver(env.services, seeded.tenant);

    if ((await pushers.connect(gateway.baseUrl, tokens, plan.clients, TENANT)) > 0) throw new Error('sockets were refused');
    const push = await measure(driver, pushers, pid, plan.pushSeconds, 500);
    log(`push: mean ${push.latency.mean} ms, ${push.observed} deliveries, ${push.cpuSeconds} CPU s`);
    // The push clients leave before polling starts, so the gateway's CPU is the pollers' alone.
    await pushers.close();

    const polls: (Measured & { intervalMs: number })[] = [];
    for (const { intervalMs, seconds } of plan.polls) {
      await pollers.poll(gateway.baseUrl, tokens, TENANT, intervalMs, plan.clients);
      // Every poller has polled at least once (connections open, code warm) before anything is counted.
      await sleep(intervalMs + 500);
      const measured = await measure(driver, pollers, pid, seconds, intervalMs + 500);
      await pollers.stopPolling();
      polls.push({ ...measured, intervalMs });
      log(`poll every ${intervalMs} ms: mean ${measured.latency.mean} ms, ${measured.observed} observed, ${measured.cpuSeconds} CPU s`);
    }

    const perUpdateUs = (m: Measured) => (m.observed > 0 ? round((m.cpuSeconds / m.observed) * 1e6, 1) : 0);
    const label = (ms: number) => (ms >= 1000 ? `${ms / 1000} s` : `${ms} ms`);
    const first = polls[0]!;
    const figures: Figure[] = [
      {
        name: `push, ${plan.clients} clients: commit → seen, mean`,
        value: push.latency.mean,
        unit: 'ms',
        baseline: { name: `our list API polled every ${label(first.intervalMs)}`, value: first.latency.mean },
        detail: { p50: push.latency.p50, p95: push.latency.p95, p99: push.latency.p99, max: push.latency.max, 'changes committed': push.committed, deliveries: push.observed },
      },
      ...polls.map(
        (p): Figure => ({
          name: `our list API polled every ${label(p.intervalMs)}, ${plan.clients} clients: commit → seen, mean`,
          value: p.latency.mean,
          unit: 'ms',
          baseline: { name: 'computed: interval ÷ 2', value: p.intervalMs / 2 },
          detail: {
            p50: p.latency.p50,
            p95: p.latency.p95,
            p99: p.latency.p99,
            max: p.latency.max,
            'changes committed': p.committed,
            'changes shown (all clients)': p.observed,
          },
        }),
      ),
      ...PEERS.map(
        (peer): Figure => ({
          name: `${peer.name} (polls every ${peer.seconds} s): change → shown, mean, computed`,
          value: (peer.seconds * 1000) / 2,
          unit: 'ms',
          baseline: { name: 'our push, measured', value: push.latency.mean },
          detail: { 'poll interval ms': peer.seconds * 1000, worst: `${peer.seconds * 1000} ms + request time` },
        }),
      ),
      {
        name: `gateway CPU per update delivered by push, ${plan.clients} clients`,
        value: perUpdateUs(push),
        unit: 'µs',
        baseline: { name: `per change seen by polling every ${label(first.intervalMs)}`, value: perUpdateUs(first) },
        detail: Object.fromEntries([
          ['push CPU s', round(push.cpuSeconds, 2)],
          ...polls.flatMap((p) => [
            [`poll ${label(p.intervalMs)}: µs per seen change`, perUpdateUs(p)],
            [`poll ${label(p.intervalMs)}: CPU s`, round(p.cpuSeconds, 2)],
            [`poll ${label(p.intervalMs)}: requests/s`, round(plan.clients / (p.intervalMs / 1000), 1)],
          ]),
        ]),
      },
    ];
    return {
      id: 'polling',
      title: 'Push vs poll: commit → seen, and server cost per update',
      figures,
      notes: [
        `The same driver as the live suite commits ${TRANSITIONS_PER_SECOND} run changes a second through the real lifecycle and stamps each at commit. ` +
          `${plan.clients} socket clients (push), then ${plan.clients} HTTP clients polling \`GET /api/tenants/:tenant/runs?limit=50\` with a bearer session ` +
          '(first poll at a random phase), all in separate client processes, note when each change is first shown: the version itself or a newer one of the same run ' +
          '(a poller skips intermediate states, but what it shows then includes them).',
        'Peers (bull-board 5 s, Laravel Horizon 3 s, Trigger.dev run lists 3 s, Hangfire 2 s) are not run here: a polling page shows a change after half its interval on ' +
          'average (plus its request time), which is what their rows state; the ratio is their computed mean ÷ our measured push mean. Our own list API polled at 1 s and 5 s ' +
          'is measured, so the computed rule can be checked against it.',
        'Server cost: CPU seconds of the gateway process (from /proc) over the phase, divided by updates delivered (push) or changes seen (polling). Polling pays for every ' +
          'request whether or not anything changed.',
      ],
    };
  } finally {
    driver?.close();
    await Promise.all(swarms.map((s) => s.close().catch(() => undefined)));
    await gateway?.stop().catch(() => undefined);
    await env?.cleanup().catch(() => undefined);
  }
}

export const polling: Suite = { id: 'polling', title: 'Push vs poll: commit → seen, and server cost per update', run };
