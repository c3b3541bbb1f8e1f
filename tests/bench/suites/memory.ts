// Heap per idle live socket on one gateway, beside a bare socket.io server holding as many sockets.
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { call } from '../../helpers/app.ts';
import { metricValue, spawnGateway, type GatewayProcess } from '../../helpers/processes.ts';
import { createTestEnv, seedTenant, type TestEnv } from '../../helpers/stack.ts';
import { mintSessions, startSwarm, type Swarm } from '../lib/client-swarm.ts';
import { startFloor, type Floor } from '../lib/floor.ts';
import type { BenchOptions, Figure, Suite, SuiteResult } from '../lib/report.ts';
import { CpuMeter, processRssBytes, round } from '../lib/stats.ts';

const TENANT = 'acme';
const GC_PRELOAD = fileURLToPath(new URL('../lib/gc-on-signal.mjs', import.meta.url));
/** Sockets connected before the first reading, so code loaded by the first connections is not counted. */
const WARM_UP = 20;

const sizesFor = ({ quick, long }: BenchOptions) => (quick ? [200] : long ? [1_000, 10_000] : [1_000, 2_000]);
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

type Server = { pid: number; heapUsed: () => Promise<number> };
type Reading = { heap: number; rss: number };

/** Heap after forced full collections: the median of three readings, a few hundred ms apart. */
async function settled(server: Server): Promise<Reading> {
  const heaps: number[] = [];
  for (let i = 0; i < 3; i++) {
    await sleep(100);
    heaps.push(await server.heapUsed());
  }
  return { heap: median(heaps), rss: processRssBytes(server.pid) ?? 0 };
}

/** Connects WARM_UP sockets, reads, then grows to each size and reads again: bytes per added socket. */
async function perSocket(server: Server, swarm: Swarm, url: string, tokens: string[], sizes: number[], idleMs: number, log: (line: string) => void) {
  if ((await swarm.connect(url, tokens, WARM_UP, TENANT)) > 0) throw new Error('warm-up sockets were refused');
  const base = await settled(server);
  const out: { size: number; heapPerSocket: number; rssPerSocket: number; heapMiB: number; idleCores: number }[] = [];
  for (const size of sizes) {
    const refused = await swarm.connect(url, tokens, size - swarm.size, TENANT);
    if (refused > 0) throw new Error(`${refused} of ${size} sockets were refused`);
    // Idle sockets still cost CPU: heartbeats, and whatever the server walks its sockets for.
    const idle = new CpuMeter([server.pid]);
    await sleep(idleMs);
    const idleCores = idle.cores();
    const reading = await settled(server);
    const added = size - WARM_UP;
    out.push({
      size,
      heapPerSocket: (reading.heap - base.heap) / added,
      rssPerSocket: (reading.rss - base.rss) / added,
      heapMiB: round(reading.heap / 2 ** 20, 1),
      idleCores,
    });
    log(`${url}: ${size} sockets (${round(performance.now() / 1000, 1)} s), ${round((reading.heap - base.heap) / added / 1024)} KB heap per socket, idle CPU ${idleCores} cores`);
  }
  return out;
}

async function run(options: BenchOptions): Promise<SuiteResult> {
  const sizes = sizesFor(options);
  const biggest = Math.max(...sizes);
  const processes = biggest > 2_000 ? 4 : 2;
  let env: TestEnv | undefined;
  let gateway: GatewayProcess | undefined;
  let floor: Floor | undefined;
  let starting: [Promise<Swarm>, Promise<Swarm>] | undefined;
  try {
    env = await createTestEnv();
    const seeded = await seedTenant(env.services, TENANT);
    // Processes start together (each takes seconds on a busy machine); the floor idles until its turn.
    starting = [startSwarm(processes), startSwarm(processes)];
    [gateway, floor] = await Promise.all([spawnGateway(env, { NODE_OPTIONS: `--expose-gc --import=${GC_PRELOAD}` }), startFloor()]);
    const [productSwarm, floorSwarm] = await Promise.all(starting);
    const gatewayPid = gateway.child.pid!;
    const baseUrl = gateway.baseUrl;
    const product: Server = {
      pid: gatewayPid,
      heapUsed: async () => {
        process.kill(gatewayPid, 'SIGUSR2');
        await sleep(200);
        return metricValue((await call<string>(baseUrl, 'GET', '/metrics')).body, 'runboard_nodejs_heap_size_used_bytes');
      },
    };
    // 25 sockets per session (the gateway admits 50 per token).
    const tokens = await mintSessions(env.services, Object.values(seeded.users).map((u) => u.id), Math.ceil(biggest / 25));

    const idleMs = options.quick ? 1_000 : 5_000;
    const productSizes = await perSocket(product, productSwarm, baseUrl, tokens, sizes, idleMs, options.log);
    // The gateway and its clients go before the floor is measured, so they cost it no CPU.
    await productSwarm.close();
    await gateway.stop();
    gateway = undefined;
    const floorSizes = await perSocket({ pid: floor.pid, heapUsed: floor.heapUsed }, floorSwarm, floor.url, [], sizes, idleMs, options.log);

    const idleFigures: Figure[] = productSizes.map((p, i) => ({
      name: `idle CPU — ${p.size} sockets`,
      value: round(p.idleCores * 100, 2),
      unit: '% of a core',
      baseline: { name: 'bare socket.io server', value: round(floorSizes[i]!.idleCores * 100, 2) },
    }));
    const figures: Figure[] = productSizes.map((p, i) => {
      const f = floorSizes[i]!;
      return {
        name: `heap per idle socket — ${p.size} sockets`,
        value: round(p.heapPerSocket / 1024),
        unit: 'KB',
        baseline: { name: 'bare socket.io server', value: round(f.heapPerSocket / 1024) },
        target: { max: 20 },
        detail: {
          'RSS per socket KB': round(p.rssPerSocket / 1024),
          'bare RSS per socket KB': round(f.rssPerSocket / 1024),
          'gateway heap MiB': p.heapMiB,
          'bare heap MiB': f.heapMiB,
        },
      };
    });
    return {
      id: 'memory',
      title: 'Memory: heap per idle live socket',
      figures: [...figures, ...idleFigures],
      notes: [
        `Sockets are real socket.io-client connections from ${processes} client processes (ulimit -n allows 20k descriptors per process), each authenticated with a user ` +
          'session (25 sockets per session) and subscribed to one tenant, then left idle. Per socket = (heap with N sockets − heap with the ' +
          `${WARM_UP} warm-up sockets) ÷ (N − ${WARM_UP}).`,
        'Heap is read after forced full collections (median of three readings): the gateway is started with `NODE_OPTIONS=--expose-gc --import=tests/bench/lib/gc-on-signal.mjs`, ' +
          'a harness-only preload that collects on SIGUSR2, and its heap is then read from `/metrics` (`runboard_nodejs_heap_size_used_bytes`); the product has no such hook. ' +
          'The baseline is a bare socket.io server with the gateway\'s engine options (tests/bench/lib/floor.ts), its sockets joined to one room, measured the same way in the same run.',
      ],
    };
  } finally {
    await Promise.all((await Promise.allSettled(starting ?? [])).map((s) => (s.status === 'fulfilled' ? s.value.close().catch(() => undefined) : undefined)));
    await Promise.all([gateway?.stop().catch(() => undefined), floor?.stop().catch(() => undefined)]);
    await env?.cleanup().catch(() => undefined);
  }
}

export const memory: Suite = { id: 'memory', title: 'Memory: heap per idle live socket', run };
