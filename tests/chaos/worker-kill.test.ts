// Chaos: one of two worker processes is SIGKILLed while both run work. docs/api.md §1 (worker loss): a run whose
// worker died does not stay running — here it ends failed/worker_lost within RUN_STALL_TIMEOUT_MS plus one
// sweep — and the board shows it: the live push, the initiator's notification, the list API and the board
// row in a real browser. The surviving worker's runs complete as if nothing happened.
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SESSION_COOKIE } from '../../server/http/auth.ts';
import { call, login } from '../helpers/app.ts';
import { launchBrowser, newPage } from '../helpers/browser.ts';
import { BoardClient, Fleet, readRuns, settle, viewEquals } from '../helpers/chaos.ts';
import { RecordingClient } from '../helpers/live.ts';
import { spawnGateway, spawnWorkerProcess, type GatewayProcess, type ServiceProcess } from '../helpers/processes.ts';
import { createTestEnv, seedTenant, type Seeded, type TestEnv } from '../helpers/stack.ts';

const STALL_TIMEOUT_MS = 3_000;
/** The worker sweeps every stall timeout / 4 (worker/worker.ts). */
const SWEEP_MS = STALL_TIMEOUT_MS / 4;
/** Slack on top of the contract's bound for a loaded 2-core machine; the measured figure is printed. */
const SLACK_MS = 10_000;
const PER_WORKER = 4;

describe('chaos: a worker SIGKILLed mid-run while another keeps working', () => {
  let env: TestEnv;
  let acme: Seeded;
  let gateway: GatewayProcess;
  let doomed: ServiceProcess;
  let survivor: ServiceProcess;
  let browser: Browser | undefined;
  const fleet = new Fleet();
  const closers: (() => unknown)[] = [];

  beforeAll(async () => {
    env = await createTestEnv({ RUN_STALL_TIMEOUT_MS: String(STALL_TIMEOUT_MS), WORKER_CONCURRENCY: String(PER_WORKER) });
    acme = await seedTenant(env.services, 'acme');
    [browser, [gateway, doomed, survivor]] = await Promise.all([
      launchBrowser(),
      fleet.start(['gateway', 'doomed worker', 'surviving worker'], [spawnGateway(env), spawnWorkerProcess(env), spawnWorkerProcess(env)]),
    ]);
  }, 90_000);

  afterAll(async () => {
    await Promise.allSettled(closers.map(async (close) => close()));
    await browser?.close();
    await fleet.stop();
    await env?.cleanup();
  }, 60_000);

  it('the killed worker\'s runs end failed/worker_lost within the bound and the board shows it; the other worker\'s runs succeed', async () => {
    const [operator, readonly] = await Promise.all([login(gateway.baseUrl, acme.users.operator.email), login(gateway.baseUrl, acme.users.readonly.email)]);
    const truth = () => readRuns(gateway.baseUrl, operator);
    const start = (key: string) =>
      call(gateway.baseUrl, 'POST', '/api/tenants/acme/runs', { token: operator, body: { type: 'demo.batch', scope: { items: 150, itemMs: 50, key } } });

    // Who watches: a board client (readonly member), the initiator's own socket, and the board in Chromium
    // (signed in with the readonly member's session cookie; the login form has its own tests).
    const { context, page } = await newPage(browser!);
    closers.push(() => context.close());
    await context.addCookies([{ name: SESSION_COOKIE, value: readonly, url: gateway.baseUrl }]);
    const [board, initiator] = await Promise.all([
      BoardClient.open(gateway.baseUrl, readonly),
      RecordingClient.connect(gateway.baseUrl, { token: operator }),
      page.goto(`${gateway.baseUrl}/t/acme/operations`),
    ]);
    closers.push(() => board.close(), () => initiator.close());
    await page.getByRole('status').filter({ hasText: /^\s*Live/i }).first().waitFor({ timeout: 15_000 });

    // 8 runs of ~7.5 s for 2 workers of concurrency 4: once all 8 run, each worker holds exactly 4.
    const started = await Promise.all(Array.from({ length: 2 * PER_WORKER }, (_, i) => start(`run-${i}`)));
    expect(started.map((s) => s.status)).toEqual(Array(2 * PER_WORKER).fill(202));
    const allIds: string[] = started.map((s) => s.body.run.id);
    await board.until(() => allIds.every((id) => (board.store.latest(id)?.counts.processed ?? 0) > 0), 30_000, 'all 8 runs to be running');

    await fleet.kill(doomed);
    const killedAt = Date.now();
    // When the open board in the browser shows 4 failed rows (which ones is checked below).
    const browserShown = page
      .locator('tr[data-run-id]', { hasText: /Failed/ })
      .nth(PER_WORKER - 1)
      .waitFor({ timeout: STALL_TIMEOUT_MS + SWEEP_MS + SLACK_MS })
      .then(() => Date.now() - killedAt);

    await board.until(() => allIds.every((id) => board.store.latest(id)?.status === 'completed'), STALL_TIMEOUT_MS + SWEEP_MS + SLACK_MS, 'every run to end');
    // The killed worker's 4 end worker_lost (its jobs, re-queued by bee-queue, are no-ops: those runs are not
    // queued any more); the survivor's 4 finish. Nothing else can make a run fail here.
    const lostIds = allIds.filter((id) => board.store.latest(id)!.outcome === 'failed');
    const keptIds = allIds.filter((id) => !lostIds.includes(id));
    expect(lostIds.length, 'runs lost with the killed worker').toBe(PER_WORKER);
    const endedAfter = (id: string) => board.updates.find((u) => u.run.id === id && u.kind === 'completed')!.at - killedAt;
    const detected = lostIds.map(endedAfter);

    // The live push: each lost run's terminal update, exactly once, failed with what had succeeded.
    const terminals = board.terminalUpdates();
    for (const id of allIds) expect(terminals.get(id), `terminal updates of ${id}`).toBe(1);
    for (const id of lostIds) {
      const run = board.store.latest(id)!;
      expect(run).toMatchObject({ status: 'completed', outcome: 'failed', bucket: 'failed' });
      expect(run.failureCount).toBeGreaterThanOrEqual(1);
      expect(run.counts.succeeded).toBeGreaterThan(0);
      expect(run.counts.processed).toBeLessThan(150);
      const detail = await call(gateway.baseUrl, 'GET', `/api/tenants/acme/runs/${id}`, { token: readonly });
      expect(detail.body.run.failures.at(-1)).toMatchObject({ code: 'worker_lost' });
    }
    for (const id of keptIds) expect(board.store.latest(id), `survivor run ${id}`).toMatchObject({ outcome: 'succeeded', counts: { processed: 150, succeeded: 150 } });
    expect(Math.max(...detected), 'kill → worker_lost on the board (ms)').toBeLessThanOrEqual(STALL_TIMEOUT_MS + SWEEP_MS + SLACK_MS);

    // The initiator is told: a danger notification naming the reason, for each lost run.
    await initiator.until(
      () => allIds.every((id) => initiator.of('notification:new').some((n) => n.notification.runId === id && n.notification.level !== 'info')),
      10_000,
      'terminal notifications',
    );
    for (const id of lostIds) {
      const notification = initiator.of('notification:new').find((n) => n.notification.runId === id && n.notification.level !== 'info')!.notification;
      expect(notification).toMatchObject({ level: 'danger', title: 'Demo batch failed' });
      expect(notification.body).toMatch(/worker_lost/);
    }
    for (const id of keptIds) expect(initiator.of('notification:new').some((n) => n.notification.runId === id && n.notification.level === 'success')).toBe(true);

    // The list API (what the board reads) agrees, nothing is left queued or running, and the view is the truth.
    const final = await settle(truth, (t) => viewEquals(board.runs(), t), 5_000);
    for (const id of lostIds) expect(final.get(id)?.bucket).toBe('failed');
    expect([...final.values()].filter((r) => r.status !== 'completed').map((r) => r.id), 'runs not completed').toEqual([]);
    expect(viewEquals(board.runs(), final), 'the board client equals the HTTP truth').toBe(true);

    // The board in the browser shows each lost run's final version as Failed, without a reload.
    const browserShownAfter = await browserShown;
    for (const id of lostIds) {
      const row = page.locator(`tr[data-run-id="${id}"][data-version="${final.get(id)!.version}"]`);
      await row.waitFor({ timeout: 10_000 });
      expect(await row.innerText()).toMatch(/Failed/);
    }
    expect(await page.evaluate('performance.getEntriesByType("navigation").length')).toBe(1);

    expect(survivor.alive(), 'the surviving worker').toBe(true);
    expect(fleet.problems()).toEqual([]);
    console.log(
      `[chaos] worker SIGKILL: ${PER_WORKER} runs of the killed worker ended failed/worker_lost ${Math.min(...detected)}–${Math.max(...detected)} ms ` +
        `after the kill (stall timeout ${STALL_TIMEOUT_MS} ms + sweep ${SWEEP_MS} ms), each pushed once and notified; ` +
        `${PER_WORKER} runs of the surviving worker succeeded; the board in Chromium showed them Failed ${browserShownAfter} ms after the kill`,
    );
  }, 120_000);
});
