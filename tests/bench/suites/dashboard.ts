// The dashboard under a live stream, in Chromium: how long a `run:update` takes from the socket to the screen,
// and what each one costs the page's main thread, with hundreds of rows and dozens of running runs pushing
// progress several times a second. Progress is published the way workers publish it (the real lifecycle
// transition: commit, then the changefeed) through a real gateway process; the floor is a bare page that
// takes the same socket events and writes them into a plain table of the same rows.
import { author } from '../../../db/runs/model.ts';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { ROOT } from '../../helpers/app.ts';
import { launchBrowser, newPage, signIn } from '../../helpers/browser.ts';
import { spawnGateway, stopAll, type GatewayProcess } from '../../helpers/processes.ts';
import { createTestEnv, seedTenant, TEST_PASSWORD, type Seeded, type TestEnv } from '../../helpers/stack.ts';
import { inParallel, sleep } from '../lib/pace.ts';
import { describeWindow as describe, PageProbe, type PageWindow } from '../lib/page-probe.ts';
import type { BenchOptions, Figure, Suite, SuiteResult } from '../lib/report.ts';
import { round } from '../lib/stats.ts';

/** Who makes the changes these tests apply directly (their history's `by`). */
const TEST_AUTHOR = author('system', 'test');

const TENANT = 'acme';
/** The budget for one update on the main thread. */
const TARGET_MAIN_MS = 2;
const UPDATES_PER_RUN_PER_SECOND = 4;

type Load = { rows: number; running: number; windowMs: number; warmupMs: number; profileMs: number };

const loadFor = (options: BenchOptions): Load =>
  options.quick
    ? { rows: 50, running: 5, windowMs: 1_500, warmupMs: 300, profileMs: 0 }
    : options.long
      ? { rows: 500, running: 50, windowMs: 30_000, warmupMs: 3_000, profileMs: 5_000 }
      : { rows: 500, running: 50, windowMs: 8_000, warmupMs: 2_000, profileMs: 3_000 };

export const dashboard: Suite = {
  id: 'dashboard',
  title: 'Dashboard: live updates in Chromium',
  async run(options) {
    const load = loadFor(options);
    let env: TestEnv | undefined;
    let gateway: GatewayProcess | undefined;
    let browser: Browser | undefined;
    let driver: ProgressDriver | undefined;
    try {
      env = await createTestEnv();
      const seeded = await seedTenant(env.services, TENANT);
      options.log(`seeding ${load.rows} runs, ${load.running} of them running`);
      const running = await seedRuns(env, seeded, load);
      const kiosk = await env.services.auth.createTenantToken('kiosk', seeded.tenant.id, 'bench wall', seeded.users.manager.id);
      gateway = await spawnGateway(env);
      browser = await launchBrowser();
      const email = seeded.users.operator.email;
      const base = gateway.baseUrl;

      // One page at a time; the stream starts once the page shows its rows (loading is not what is measured).
      const measure = async (name: string, open: (page: Page) => Promise<void>, viewport?: { width: number; height: number }) => {
        const { context, page } = await newPage(browser!, { ...(viewport ? { viewport } : {}), bypassCSP: name === 'floor' });
        try {
          const probe = await PageProbe.attach(page);
          await open(page);
          driver = new ProgressDriver(env!, running, UPDATES_PER_RUN_PER_SECOND);
          driver.start();
          await sleep(load.warmupMs);
          const window = await probe.measure(load.windowMs);
          options.log(`${name}: ${describe(window)}`);
          const profile = load.profileMs > 0 ? [await probe.trace(load.profileMs), await probe.profile(load.profileMs)].join('\n\n') : null;
          const drove = driver.stop();
          await drove.done;
          await probe.detach();
          return { window, profile, drove };
        } finally {
          await driver?.stop().done;
          await context.close();
        }
      };

      const floor = await measure('floor', async (page) => {
        await signIn(page, base, email, TEST_PASSWORD, '/');
        await openFloor(page, base, load.rows);
        await page.locator('body[data-live="true"]').waitFor({ state: 'attached', timeout: 15_000 });
        await waitForRows(page, 'tr[data-run-id]', load.rows);
      });
      const board = await measure('board', async (page) => {
        await signIn(page, base, email, TEST_PASSWORD, `/t/${TENANT}/operations`);
        await waitLive(page);
        await showRows(page, load.rows);
      });
      const wall = await measure(
        'wall',
        async (page) => {
          await page.goto(`${base}/t/${TENANT}/wall?kiosk=${kiosk.token}`);
          await page.locator('.freshness').filter({ hasText: /^\s*Live/ }).waitFor({ timeout: 15_000 });
          await page.locator('li[data-run-id]').first().waitFor({ timeout: 15_000 });
        },
        { width: 1920, height: 1080 },
      );
      return report(load, options, board.drove, { floor: floor.window, board: board.window, wall: wall.window }, board.profile, wall.profile);
    } finally {
      await driver?.stop().done;
      await browser?.close().catch(() => undefined);
      await stopAll([gateway]);
      await env?.cleanup();
    }
  },
};

function report(
  load: Load,
  options: BenchOptions,
  drove: DriverTotals,
  windows: { floor: PageWindow; board: PageWindow; wall: PageWindow },
  boardProfile: string | null,
  wallProfile: string | null,
): SuiteResult {
  const { floor, board, wall } = windows;
  const main = (name: string, view: PageWindow): Figure => ({
    name: `${name}: main thread per update`,
    value: view.mainMsPerUpdate,
    unit: 'ms',
    baseline: { name: 'bare table page', value: floor.mainMsPerUpdate },
    target: { max: TARGET_MAIN_MS },
    detail: {
      script: view.scriptMsPerUpdate,
      style: view.styleMsPerUpdate,
      layout: view.layoutMsPerUpdate,
      'main thread busy': `${Math.round(view.mainBusy * 100)}%`,
      'renderer process': view.rendererMsPerUpdate,
      'updates/s': round(view.received / view.seconds, 1),
    },
  });
  const latency = (name: string, view: PageWindow): Figure => ({
    name: `${name}: arrival → on screen p95`,
    value: view.toFrame.p95,
    unit: 'ms',
    baseline: { name: 'bare table page', value: floor.toFrame.p95 },
    detail: {
      p50: view.toFrame.p50,
      p99: view.toFrame.p99,
      'DOM p50': view.toDom.p50,
      'DOM p95': view.toDom.p95,
      'DOM p99': view.toDom.p99,
      shown: view.shown,
      fps: view.fps,
      'dropped frames': view.droppedFrames,
      'long tasks': view.longTasks,
    },
  });
  const blocks = [
    ...(boardProfile ? [{ title: 'Operations board: main-thread self time (CDP Profiler, after the window)', text: boardProfile }] : []),
    ...(wallProfile ? [{ title: 'NOC wall: main-thread self time (CDP Profiler, after the window)', text: wallProfile }] : []),
  ];
  return {
    id: 'dashboard',
    title: 'Dashboard: live updates in Chromium',
    figures: [main('Operations board', board), latency('Operations board', board), main('NOC wall', wall), latency('NOC wall', wall)],
    notes: [
      `${load.rows} runs, ${load.running} running, each pushed ${UPDATES_PER_RUN_PER_SECOND}×/s (${load.running * UPDATES_PER_RUN_PER_SECOND} updates/s asked, ` +
        `${round(drove.transitions / drove.seconds, 1)}/s driven, ${drove.errors} failed) through the real lifecycle transition (commit, then the changefeed) and a real gateway process; ` +
        `Chromium ${options.quick ? '(quick: small load, short windows)' : ''} headless, one page at a time, ${load.windowMs / 1000} s window each after ${load.warmupMs / 1000} s warm-up.`,
      'Arrival: a WebSocket wrapper injected before the page stamps each `run:update` frame (run id + version). DOM: a MutationObserver on `data-version` of `[data-run-id]` ' +
        '(a version counts as shown when it or a newer one is; coalescing is allowed). On screen: the end of the first rendered frame after that DOM change ' +
        '(the dashboard applies pushes once per animation frame, just before paint, so its DOM time includes the wait for that frame and only the on-screen time compares with the floor). ' +
        'Main thread: DevTools `Performance.getMetrics` TaskDuration over the window ÷ updates received, so timers, CSS transitions and the per-second clock count too.',
      'Floor: a bare page on the same origin (served by the harness), signed in the same way, that takes the same socket events with socket.io-client and writes ' +
        `bucket, counts and a bar width into a plain ${load.rows}-row table. The wall shows its first 8 running runs; its latency counts only those.`,
      `Floor: ${describe(floor)}.`,
      'The board holds all 500 rows (reached with "Load more", then scrolled back to the top) but renders only the rows near the viewport (`dashboard/src/lib/row-window.svelte.ts`): updates to the others change its state, not the DOM, so "shown" counts the versions that reached rendered rows. Before windowing, the board painted and composited all 500 rows on every frame: 3.5 ms of main thread per update and 16 fps, no better than the bare table, which still does this.',
    ],
    ...(blocks.length > 0 ? { blocks } : {}),
  };
}

/**
 * `rows` runs of the demo type; every (rows / running)th is left running with a large total, the rest are
 * completed with a mix of outcomes, so the running rows are spread down the whole board.
 */
async function seedRuns(env: TestEnv, seeded: Seeded, load: Load): Promise<string[]> {
  const { lifecycle, catalog } = env.services;
  const declaration = catalog.get('demo.batch');
  if (!declaration) throw new Error('demo.batch is not registered (RUNBOARD_DEMO_OPERATIONS)');
  const every = Math.max(1, Math.floor(load.rows / load.running));
  const running: string[] = [];
  await inParallel(load.rows, 8, async (index) => {
    const { run } = await lifecycle.start({
      tenant: seeded.tenant,
      declaration,
      scope: { items: 1_000_000, itemMs: 0, key: `bench-${index}` },
      initiatorId: seeded.users.operator.id,
      by: TEST_AUTHOR,
    });
    if (index % every === 0 && running.length < load.running) {
      running.push(run.id);
      await lifecycle.markStarted(run.id, TEST_AUTHOR);
      await lifecycle.progress(run.id, { total: 1_000_000 }, TEST_AUTHOR);
    } else if (index % 7 === 3) {
      await lifecycle.complete(run.id, { total: 40, succeeded: 37, failed: 3, failures: [{ code: 'item_failed', message: 'Item failed.', item: `item-${index}` }] }, TEST_AUTHOR);
    } else {
      await lifecycle.complete(run.id, { total: 40, succeeded: 40 }, TEST_AUTHOR);
    }
  });
  // A board with history: creation spread over the last ~16 hours (two minutes apart, in creation order), so
  // relative times and durations tick the way they do on a real board rather than all at once every second.
  await env.services.orm.em.fork().execute(
    `update operation_runs r
        set created_at = clock_timestamp() - x.n * interval '2 minutes',
            started_at = case when r.started_at is null then null else clock_timestamp() - x.n * interval '2 minutes' + interval '1 second' end,
            completed_at = case when r.completed_at is null then null else clock_timestamp() - x.n * interval '2 minutes' + interval '40 seconds' end
       from (select id, count(*) over () - row_number() over (order by created_at, id) + 1 as n from operation_runs where tenant_id = ?) x
      where x.id = r.id`,
    [seeded.tenant.id],
  );
  return running;
}

type DriverTotals = { transitions: number; errors: number; seconds: number; done: Promise<void> };

/** Each running run reports one item every 1/rate s, as a worker's coalesced progress would: one transition each. */
class ProgressDriver {
  #stopped = false;
  #transitions = 0;
  #errors = 0;
  #startedAt = 0;
  #stoppedAt = 0;
  #loops: Promise<void>[] = [];

  constructor(
    private readonly env: TestEnv,
    private readonly runs: string[],
    private readonly perSecond: number,
  ) {}

  start(): void {
    this.#startedAt = performance.now();
    const interval = 1000 / this.perSecond;
    this.#loops = this.runs.map(async (runId, index) => {
      // Spread the runs over the interval so the stream is steady rather than in bursts.
      let due = this.#startedAt + (interval * index) / this.runs.length;
      while (!this.#stopped) {
        await sleep(due - performance.now());
        if (this.#stopped) break;
        due += interval;
        try {
          if (await this.env.services.lifecycle.progress(runId, { succeeded: 1 }, TEST_AUTHOR)) this.#transitions++;
        } catch {
          this.#errors++;
        }
        // Behind schedule (a slow commit): skip ahead rather than bursting to catch up.
        if (due < performance.now()) due = performance.now();
      }
    });
  }

  stop(): DriverTotals {
    if (!this.#stopped) {
      this.#stopped = true;
      this.#stoppedAt = performance.now();
    }
    return {
      transitions: this.#transitions,
      errors: this.#errors,
      seconds: (this.#stoppedAt - this.#startedAt) / 1000,
      done: Promise.all(this.#loops).then(() => undefined),
    };
  }
}

async function waitLive(page: Page): Promise<void> {
  await page.getByRole('status').filter({ hasText: /^\s*Live/i }).first().waitFor({ timeout: 15_000 });
}

async function waitForRows(page: Page, selector: string, count: number): Promise<void> {
  await page.locator(selector).nth(count - 1).waitFor({ state: 'attached', timeout: 20_000 });
}

/**
 * "Load more" until the board holds `count` rows, the way a person would reach them, then back to the top of
 * the page. The footer's "N runs shown" counts them: the board renders only the rows near the viewport.
 */
async function showRows(page: Page, count: number): Promise<void> {
  await page.locator('tbody tr[data-run-id]').first().waitFor({ timeout: 15_000 });
  const footer = page.getByText(/^[\d,]+ runs? shown$/);
  const shown = async () => Number((await footer.innerText()).replace(/\D/g, ''));
  for (let held = await shown(); held < count; ) {
    await page.getByRole('button', { name: 'Load more' }).click();
    const before = held;
    await expectChange(async () => (held = await shown()) > before, 15_000);
  }
  await page.evaluate('window.scrollTo(0, 0)');
}

async function expectChange(check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('the board did not load more rows in time');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/**
 * The floor page, served by the harness into a document of the gateway's origin (so the same cookie, socket
 * and local-network permissions apply as for the dashboard), with socket.io-client inlined. Its page ignores the
 * product's Content-Security-Policy (`bypassCSP`), which rightly allows no inline script.
 */
async function openFloor(page: Page, base: string, rows: number): Promise<void> {
  const client = readFileSync(join(ROOT, 'node_modules/socket.io-client/dist/socket.io.min.js'), 'utf8');
  await page.goto(`${base}/healthz?tenant=${TENANT}&rows=${rows}`);
  await page.setContent(FLOOR_PAGE.replace('/*socket.io-client*/', () => client.replaceAll('</script', '<\\/script')));
}

const FLOOR_PAGE = String.raw`<!doctype html>
<html><head><meta charset="utf-8"><title>floor</title>
<style>table{width:100%;table-layout:fixed;border-collapse:collapse}td{padding:0 8px;height:40px;white-space:nowrap;overflow:hidden}
.bar{height:6px;background:#e6e9ef}.bar span{display:block;height:100%;background:#3b82f6}</style>
<script>/*socket.io-client*/</script></head>
<body><table><tbody id="rows"></tbody></table>
<script>
(async () => {
  const params = new URLSearchParams(location.search);
  const tenant = params.get('tenant');
  const answer = await fetch('/api/tenants/' + tenant + '/runs?limit=' + params.get('rows'));
  const { runs } = await answer.json();
  const rows = new Map();
  const body = document.getElementById('rows');
  const cell = (tr, text) => { const td = document.createElement('td'); td.textContent = text; tr.appendChild(td); return td; };
  const write = (row, run) => {
    row.version = run.version;
    row.bucket.textContent = run.bucket;
    row.counts.textContent = run.counts.processed + ' / ' + run.counts.total;
    row.fill.style.width = (run.counts.total > 0 ? (100 * run.counts.processed) / run.counts.total : 0) + '%';
    row.tr.setAttribute('data-version', String(run.version));
  };
  for (const run of runs) {
    const tr = document.createElement('tr');
    tr.setAttribute('data-run-id', run.id);
    const bucket = cell(tr, '');
    cell(tr, run.label);
    const counts = cell(tr, '');
    const bar = document.createElement('div');
    bar.className = 'bar';
    const fill = document.createElement('span');
    bar.appendChild(fill);
    cell(tr, '').appendChild(bar);
    cell(tr, run.createdAt);
    const row = { tr, bucket, counts, fill, version: 0 };
    write(row, run);
    rows.set(run.id, row);
    body.appendChild(tr);
  }
  const socket = io({ path: '/socket.io', transports: ['websocket'] });
  socket.on('connect', () => socket.emit('subscribe', { tenant }, () => document.body.setAttribute('data-live', 'true')));
  socket.on('run:update', ({ run }) => {
    const row = rows.get(run.id);
    if (row && run.version > row.version) write(row, run);
  });
})();
</script></body></html>`;
