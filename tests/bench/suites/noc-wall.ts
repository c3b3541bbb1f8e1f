// The multi-tenant NOC wall (docs/api.md §12) under a heavy live stream, in Chromium: 50 tenants with 20 running
// runs each, every run pushing progress 4 times a second (4,000 `run:update`s a second into one page). What
// each update costs the page's main thread, whether it keeps 60 frames a second, and how long an update takes
// to reach the screen — beside a bare page that takes the same socket events into a plain grid of the same
// tiles. The stream is published the way the changefeed publishes a committed change (the same message on the
// same Redis channel, through a real gateway process); the runs and tenants behind it are real rows.
import { author } from '../../../db/runs/model.ts';
import type { RunView } from '../../../db/runs/view.ts';
import type { TenantRow } from '../../../db/tenants/store.ts';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { ROOT } from '../../helpers/app.ts';
import { launchBrowser, newPage } from '../../helpers/browser.ts';
import { spawnGateway, stopAll, type GatewayProcess } from '../../helpers/processes.ts';
import { createTestEnv, type TestEnv } from '../../helpers/stack.ts';
import { inParallel, sleep } from '../lib/pace.ts';
import { describeWindow, PageProbe, type PageWindow } from '../lib/page-probe.ts';
import type { BenchOptions, Figure, Suite, SuiteResult } from '../lib/report.ts';
import { CpuMeter, descendantPids, round } from '../lib/stats.ts';
import { execFileSync } from 'node:child_process';

const TEST_AUTHOR = author('system', 'test');
/** The budget: main thread per update, and frames per second. */
const TARGET_MAIN_MS = 2;
const TARGET_FPS = 59;
/** The stream publishes what is due every this many milliseconds. */
const TICK_MS = 5;
const VIEWPORT = { width: 1920, height: 1080 };

/** `rates`: updates per running run per second, one pair of pages (floor, wall) each; the first is the issue's. */
type Load = { tenants: number; running: number; ended: number; rates: number[]; windowMs: number; warmupMs: number; profileMs: number };

const loadFor = (options: BenchOptions): Load =>
  options.quick
    ? { tenants: 4, running: 3, ended: 1, rates: [4], windowMs: 1_500, warmupMs: 300, profileMs: 0 }
    : options.long
      ? { tenants: 50, running: 20, ended: 5, rates: [4, 2, 1], windowMs: 30_000, warmupMs: 3_000, profileMs: 5_000 }
      : { tenants: 50, running: 20, ended: 5, rates: [4, 2], windowMs: 8_000, warmupMs: 2_000, profileMs: 3_000 };

/** One page under one rate. */
type Measured = { window: PageWindow; cores: Cores; published: number; dropped: number; profile: string | null };

export const nocWall: Suite = {
  id: 'noc-wall',
  title: 'NOC wall: 50 tenants live in Chromium',
  async run(options) {
    const load = loadFor(options);
    let env: TestEnv | undefined;
    let gateway: GatewayProcess | undefined;
    let browser: Browser | undefined;
    let stream: ProgressStream | undefined;
    try {
      env = await createTestEnv();
      options.log(`seeding ${load.tenants} tenants × ${load.running} running runs (+${load.ended} ended each)`);
      const { tenantIds, running } = await seed(env, load);
      const kiosk = await env.services.auth.createKioskToken(tenantIds, 'bench NOC wall', null);
      gateway = await spawnGateway(env);
      browser = await launchBrowser();
      const base = gateway.baseUrl;
      const slowDrops = async () => Number(/^runboard_live_slow_clients_disconnected_total (\S+)/m.exec(await (await fetch(`${base}/metrics`)).text())?.[1] ?? 0);

      // One page at a time; the stream starts once the page shows every tile live (loading is not what is measured).
      const measure = async (name: string, rate: number, profiled: boolean, open: (page: Page) => Promise<void>): Promise<Measured> => {
        const { context, page } = await newPage(browser!, { viewport: VIEWPORT, bypassCSP: name === 'floor' });
        try {
          const probe = await PageProbe.attach(page);
          await open(page);
          const droppedBefore = await slowDrops();
          stream = new ProgressStream(env!, running, rate);
          stream.start();
          await sleep(load.warmupMs);
          const cpu = machineMeters(gateway!.child.pid!);
          const window = await probe.measure(load.windowMs);
          const cores = Object.fromEntries(Object.entries(cpu).map(([what, meter]) => [what, meter.cores()]));
          const published = round(stream.rate(), 1);
          const profile = profiled && load.profileMs > 0 ? [await probe.trace(load.profileMs), await probe.profile(load.profileMs)].join('\n\n') : null;
          await stream.stop();
          const dropped = (await slowDrops()) - droppedBefore;
          options.log(`${name} at ${rate}/s per run: ${published} published/s, ${dropped} slow-client disconnects; ${describeWindow(window)}; cores: ${describeCores(cores)}`);
          await probe.detach();
          return { window, cores, published, dropped, profile };
        } finally {
          await stream?.stop();
          await context.close();
        }
      };

      const results: { rate: number; floor: Measured; wall: Measured }[] = [];
      for (const [index, rate] of load.rates.entries()) {
        const floor = await measure('floor', rate, false, async (page) => {
          await openFloor(page, base, kiosk.token);
          await page.locator('body[data-live="true"]').waitFor({ state: 'attached', timeout: 20_000 });
        });
        const wall = await measure('wall', rate, index === 0, async (page) => {
          await page.goto(`${base}/wall?kiosk=${kiosk.token}`);
          await page.locator('[data-testid="tenant-tile"]').nth(load.tenants - 1).waitFor({ timeout: 20_000 });
          await page.locator('[data-testid="tenant-tile"] li[data-run-id]').first().waitFor({ timeout: 20_000 });
          // Every tenant's room joined (each tile's dot says live), so no push is missed for want of one.
          await page.locator('[data-testid="tile-age"] .dot.live').nth(load.tenants - 1).waitFor({ state: 'attached', timeout: 20_000 });
        });
        results.push({ rate, floor, wall });
      }
      return report(load, options, results);
    } finally {
      await stream?.stop();
      await browser?.close().catch(() => undefined);
      await stopAll([gateway]);
      await env?.cleanup();
    }
  },
};

type Cores = Record<string, number>;

/** CPU of everything this measurement runs on the machine (Chromium by process type), as cores used. */
function machineMeters(gatewayPid: number): Record<string, CpuMeter> {
  const redis = execFileSync('pidof', ['redis-server'], { encoding: 'utf8' }).trim().split(/\s+/).map(Number).filter(Boolean);
  const byKind = new Map<string, number[]>();
  for (const pid of descendantPids(process.pid).filter((pid) => pid !== gatewayPid)) {
    const kind = `chromium ${chromiumKind(pid)}`;
    byKind.set(kind, [...(byKind.get(kind) ?? []), pid]);
  }
  return {
    ...Object.fromEntries([...byKind].map(([name, pids]) => [name, new CpuMeter(pids)])),
    gateway: new CpuMeter([gatewayPid]),
    'stream publisher (this process)': new CpuMeter([process.pid]),
    redis: new CpuMeter(redis),
  };
}

function chromiumKind(pid: number): string {
  try {
    return /--type=([\w-]+)/.exec(readFileSync(`/proc/${pid}/cmdline`, 'utf8'))?.[1] ?? 'browser';
  } catch {
    return 'gone';
  }
}

const describeCores = (cores: Cores) =>
  Object.entries(cores)
    .filter(([, used]) => used >= 0.005)
    .map(([what, used]) => `${what} ${used}`)
    .join(', ');

function report(load: Load, options: BenchOptions, results: { rate: number; floor: Measured; wall: Measured }[]): SuiteResult {
  const perFrame = (view: PageWindow) => (view.fps > 0 ? round((view.mainBusy * 1000) / view.fps, 2) : 0);
  const runs = load.tenants * load.running;
  const figures = results.flatMap(({ rate, floor, wall }): Figure[] => {
    const at = `${runs} runs × ${rate}/s`;
    const w = wall.window;
    const f = floor.window;
    return [
      {
        name: `NOC wall, ${at}: main thread per update`,
        value: w.mainMsPerUpdate,
        unit: 'ms',
        baseline: { name: 'bare grid page', value: f.mainMsPerUpdate },
        target: { max: TARGET_MAIN_MS },
        detail: {
          script: w.scriptMsPerUpdate,
          style: w.styleMsPerUpdate,
          layout: w.layoutMsPerUpdate,
          'main thread busy': `${Math.round(w.mainBusy * 100)}% (floor ${Math.round(f.mainBusy * 100)}%)`,
          'per frame': `${perFrame(w)} ms`,
          'renderer process': w.rendererMsPerUpdate,
          'received/s': `${round(w.received / w.seconds, 1)} of ${wall.published} published (floor ${round(f.received / f.seconds, 1)} of ${floor.published})`,
        },
      },
      {
        name: `NOC wall, ${at}: frames per second`,
        value: w.fps,
        unit: 'fps',
        baseline: { name: 'bare grid page', value: f.fps },
        target: { min: TARGET_FPS, text: '60 (≥ 59 measured)' },
        detail: {
          'dropped frames': `${w.droppedFrames} (floor ${f.droppedFrames})`,
          'long tasks': `${w.longTasks} (floor ${f.longTasks})`,
          'slow-client disconnects': `${wall.dropped} (floor ${floor.dropped})`,
          'Chromium cores': `${chromiumCores(wall.cores)} (floor ${chromiumCores(floor.cores)})`,
        },
      },
      {
        name: `NOC wall, ${at}: arrival → on screen p95`,
        value: w.toFrame.p95,
        unit: 'ms',
        baseline: { name: 'bare grid page', value: f.toFrame.p95 },
        detail: { p50: w.toFrame.p50, p99: w.toFrame.p99, 'DOM p50': w.toDom.p50, 'DOM p95': w.toDom.p95, shown: w.shown },
      },
    ];
  });
  const profile = results[0]?.wall.profile ?? null;
  return {
    id: 'noc-wall',
    title: 'NOC wall: 50 tenants live in Chromium',
    figures,
    notes: [
      `${load.tenants} tenants × ${load.running} running runs (${runs}), each pushed ${load.rates.join(' or ')} times a second (the first is the issue's load: ${runs * load.rates[0]!} updates/s into one page); ` +
        `one kiosk token bound to all ${load.tenants} tenants, one page at a time at ${VIEWPORT.width}×${VIEWPORT.height}, ` +
        `${load.windowMs / 1000} s window after ${load.warmupMs / 1000} s warm-up${options.quick ? ' (quick: small load, short windows)' : ''}.`,
      'The stream: each update is the message the changefeed publishes after a committed progress change (`Changefeed.runChanged`: the run one item further, its version one higher), ' +
        'on the product’s Redis channel, relayed by a real gateway process to the page’s socket. It skips the commit itself: thousands of commits a second would take this ' +
        '2-core machine from the browser being measured (the database side of progress is the live suite’s).',
      'Main thread per update: DevTools `Performance.getMetrics` TaskDuration over the window ÷ updates received (socket frames, merges, renders, the per-second clock). ' +
        'Per frame: the busy share of a second ÷ frames. The grid applies pushes at most 4 times a second (`pushEveryMs`, overview.svelte.ts), each batch in one render; ' +
        'its bars move by transform (no layout) and step rather than glide. On screen: a run counts as shown when its row’s `data-version` reaches the pushed version; ' +
        'each tile lists its first 8 running runs, so only their updates can be shown.',
      'Slow-client disconnects: the gateway disconnects a socket with more than 1,000 packets queued for it (the page then reconnects and re-reads). ' +
        'Cores: CPU used over the window, per process (Chromium by process type), on this 2-core machine where the gateway, Redis and the stream publisher run beside the browser.',
      'Floor: a bare page on the same origin (served by the harness), authenticated with the same kiosk token, that reads /api/overview, subscribes to each tenant with socket.io-client ' +
        `and writes percentage and bar width into a plain grid of the same ${load.tenants} tiles × 8 runs at once, per message.`,
      ...results.map(({ rate, floor, wall }) => `At ${rate}/s per run — floor: ${describeWindow(floor.window)}; wall: ${describeWindow(wall.window)}.`),
    ],
    ...(profile ? { blocks: [{ title: `NOC wall at ${load.rates[0]}/s per run: main-thread self time (trace, then CDP Profiler, after the window)`, text: profile }] } : {}),
  };
}

const chromiumCores = (cores: Cores) =>
  round(
    Object.entries(cores)
      .filter(([what]) => what.startsWith('chromium'))
      .reduce((sum, [, used]) => sum + used, 0),
    2,
  );

/** Tenants `wall-01…`, each with `running` running runs and `ended` completed ones (some failed, some not). */
async function seed(env: TestEnv, load: Load): Promise<{ tenantIds: string[]; running: RunView[] }> {
  const { lifecycle, catalog, tenants } = env.services;
  const declaration = catalog.get('demo.batch');
  if (!declaration) throw new Error('demo.batch is not registered (RUNBOARD_DEMO_OPERATIONS)');
  const rows: TenantRow[] = [];
  for (let t = 1; t <= load.tenants; t++) {
    const slug = `wall-${String(t).padStart(2, '0')}`;
    rows.push(await tenants.createTenant(slug, `Customer ${String(t).padStart(2, '0')}`));
  }
  const running: RunView[] = [];
  const perTenant = load.running + load.ended;
  await inParallel(rows.length * perTenant, 8, async (index) => {
    const tenant = rows[Math.floor(index / perTenant)]!;
    const nth = index % perTenant;
    const { run } = await lifecycle.start({
      tenant,
      declaration,
      scope: { items: 1_000_000, itemMs: 0, key: `wall-${index}` },
      initiatorId: null,
      by: TEST_AUTHOR,
    });
    await lifecycle.markStarted(run.id, TEST_AUTHOR);
    if (nth < load.running) {
      const view = await lifecycle.progress(run.id, { total: 1_000_000 }, TEST_AUTHOR);
      if (view) running.push(view);
    } else {
      const failed = nth % 2;
      await lifecycle.complete(
        run.id,
        { total: 40, succeeded: 40 - failed * 3, failed: failed * 3, ...(failed ? { failures: [{ code: 'item_failed', message: 'Item failed.', item: `item-${index}` }] } : {}) },
        TEST_AUTHOR,
      );
    }
  });
  return { tenantIds: rows.map((row) => row.id), running };
}

type StreamTotals = { published: number; seconds: number };

/**
 * Every run one item further each 1/rate s, published as the changefeed publishes a committed change, in small
 * steady steps (every TICK_MS) rather than in bursts.
 */
class ProgressStream {
  #stopped = false;
  #published = 0;
  #startedAt = 0;
  #stoppedAt = 0;
  #loop: Promise<void> = Promise.resolve();

  constructor(
    private readonly env: TestEnv,
    private readonly runs: RunView[],
    private readonly perSecond: number,
  ) {}

  start(): void {
    this.#startedAt = performance.now();
    const perMs = (this.runs.length * this.perSecond) / 1000;
    this.#loop = (async () => {
      const inFlight = new Set<Promise<void>>();
      let next = 0;
      while (!this.#stopped) {
        // As many as are due by now, round-robin over the runs: the asked rate on average, whatever the timer does.
        const due = Math.floor((performance.now() - this.#startedAt) * perMs);
        for (; this.#published < due; next = (next + 1) % this.runs.length) {
          const sent = this.#advance(next);
          inFlight.add(sent);
          void sent.finally(() => inFlight.delete(sent));
        }
        await sleep(TICK_MS);
      }
      await Promise.all(inFlight);
    })();
  }

  #advance(index: number): Promise<void> {
    const run = this.runs[index]!;
    const counts = { ...run.counts, succeeded: run.counts.succeeded + 1, processed: run.counts.processed + 1 };
    const next: RunView = { ...run, counts, version: run.version + 1, updatedAt: new Date().toISOString() };
    this.runs[index] = next;
    this.#published++;
    return this.env.services.changefeed.runChanged('progress', next);
  }

  /** Published per second so far. */
  rate(): number {
    return this.#published / ((performance.now() - this.#startedAt) / 1000);
  }

  async stop(): Promise<StreamTotals> {
    if (!this.#stopped) {
      this.#stopped = true;
      this.#stoppedAt = performance.now();
    }
    await this.#loop;
    return { published: this.#published, seconds: (this.#stoppedAt - this.#startedAt) / 1000 };
  }
}

/**
 * The floor page, written into a document of the gateway's origin, with socket.io-client inlined; it ignores
 * the product's Content-Security-Policy (`bypassCSP`), which rightly allows no inline script.
 */
async function openFloor(page: Page, base: string, token: string): Promise<void> {
  const client = readFileSync(join(ROOT, 'node_modules/socket.io-client/dist/socket.io.min.js'), 'utf8');
  await page.goto(`${base}/healthz?token=${encodeURIComponent(token)}`);
  await page.setContent(FLOOR_PAGE.replace('/*socket.io-client*/', () => client.replaceAll('</script', '<\\/script')));
}

const FLOOR_PAGE = String.raw`<!doctype html>
<html><head><meta charset="utf-8"><title>floor</title>
<style>body{margin:0;background:#0b1220;color:#e5e7eb;font:14px system-ui}#grid{display:grid;grid-template-columns:repeat(10,1fr);gap:4px;padding:4px}
.tile{background:#111827;padding:4px;height:204px;overflow:hidden}.run{display:flex;gap:4px;align-items:center;height:22px}
.bar{flex:1;height:6px;background:#374151}.bar span{display:block;height:100%;background:#3b82f6}</style>
<script>/*socket.io-client*/</script></head>
<body><div id="grid"></div>
<script>
(async () => {
  const token = new URLSearchParams(location.search).get('token');
  const answer = await fetch('/api/overview', { headers: { authorization: 'Bearer ' + token } });
  const { tenants } = await answer.json();
  const rows = new Map();
  const grid = document.getElementById('grid');
  const write = (row, run) => {
    row.version = run.version;
    const pct = run.counts.total > 0 ? (100 * run.counts.processed) / run.counts.total : 0;
    row.pct.textContent = pct.toFixed(0) + '%';
    row.fill.style.width = pct + '%';
    row.el.setAttribute('data-version', String(run.version));
  };
  for (const entry of tenants) {
    const tile = document.createElement('div');
    tile.className = 'tile';
    const name = document.createElement('div');
    name.textContent = entry.tenant.name;
    tile.appendChild(name);
    for (const run of entry.running.slice(0, 8)) {
      const el = document.createElement('div');
      el.className = 'run';
      el.setAttribute('data-run-id', run.id);
      const label = document.createElement('span');
      label.textContent = run.label;
      const bar = document.createElement('div');
      bar.className = 'bar';
      const fill = document.createElement('span');
      bar.appendChild(fill);
      const pct = document.createElement('span');
      el.append(label, bar, pct);
      const row = { el, pct, fill, version: 0 };
      write(row, run);
      rows.set(run.id, row);
      tile.appendChild(el);
    }
    grid.appendChild(tile);
  }
  const socket = io({ path: '/socket.io', transports: ['websocket'], auth: { token } });
  socket.on('connect', async () => {
    await Promise.all(tenants.map((entry) => new Promise((resolve) => socket.emit('subscribe', { tenant: entry.tenant.slug }, resolve))));
    document.body.setAttribute('data-live', 'true');
  });
  socket.on('run:update', ({ run }) => {
    const row = rows.get(run.id);
    if (row && run.version > row.version) write(row, run);
  });
})();
</script></body></html>`;
