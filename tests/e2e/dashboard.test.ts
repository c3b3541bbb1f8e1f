import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, login, startSystem, type System } from '../helpers/app.ts';
import { audit, describeViolations } from '../helpers/axe.ts';
import { launchBrowser, LiveGate, newPage, signIn } from '../helpers/browser.ts';
import { TEST_PASSWORD } from '../helpers/stack.ts';

// The dashboard as people use it: Debian's Chromium against the real server, worker, PostgreSQL and Redis.
describe('dashboard in a real browser', () => {
  let system: System;
  let browser: Browser;
  let base: string;

  beforeAll(async () => {
    system = await startSystem({ tenants: ['acme', 'globex', 'initech'] });
    base = system.app.baseUrl;
    browser = await launchBrowser();
  });

  afterAll(async () => {
    await browser?.close();
    await system?.stop();
  });

  const email = (tenant: string, role: string) => system.tenants[tenant]!.users[role as 'owner'].email;
  const start = (token: string, scope: Record<string, unknown>) =>
    call(system.app.baseUrl, 'POST', '/api/tenants/acme/runs', { token, body: { type: 'demo.batch', scope } });
  /**
   * Data for the policy pages (docs/api.md §10): acme's simulated source synced twice with the revision moved
   * between (so drift has findings), a generation, a backup set of every policy, a third sync after the source
   * moved again, and a previewed restore of the set (so its preview creates and updates).
   */
  const seedPolicyPages = async (operator: string) => {
    const acmeId = system.tenants.acme!.tenant.id;
    const run = async (token: string, type: string, scope: Record<string, unknown>) => {
      const started = await call(base, 'POST', '/api/tenants/acme/runs', { token, body: { type, scope } });
      expect(started.status, JSON.stringify(started.body)).toBe(202);
      await system.feed.completed(started.body.run.id, 30_000);
    };
    await system.env.services.sources.setSimulated(acmeId, { policies: 40 });
    await run(operator, 'inventory.sync', {});
    await system.env.services.sources.moveRevision(acmeId, 1);
    await run(operator, 'inventory.sync', {});
    await run(operator, 'drift.generate', {});
    const inventory = await call(base, 'GET', '/api/tenants/acme/inventory?limit=100', { token: operator });
    const set = await call(base, 'POST', '/api/tenants/acme/backup-sets', { token: operator, body: { name: 'a11y set' } });
    const backupSetId: string = set.body.backupSet.id;
    const policyIds = inventory.body.policies.map((p: { externalId: string }) => p.externalId);
    await run(operator, 'backup_set.add_policies', { backupSetId, policyIds });
    await system.env.services.sources.moveRevision(acmeId, 1);
    await run(operator, 'inventory.sync', {});
    const manager = await login(base, email('acme', 'manager'));
    const restore = await call(base, 'POST', '/api/tenants/acme/restores', { token: manager, body: { backupSetId } });
    const restoreId: string = restore.body.restore.id;
    expect((await call(base, 'POST', `/api/tenants/acme/restores/${restoreId}/preview`, { token: manager })).status).toBe(200);
    return { backupSetId, restoreId };
  };
  /** The board row of a run (its short id carries the full id as a title). */
  const row = (page: Page, runId: string) => page.locator('tr', { has: page.locator(`[title="${runId}"]`) });
  const live = (page: Page) => page.getByRole('status').filter({ hasText: /^\s*Live/i }).first().waitFor();

  it('sends a signed-out visitor to the login and back; a wrong password is said plainly', async () => {
    const { context, page } = await newPage(browser);
    try {
      await page.goto(`${base}/t/acme/operations`);
      await page.waitForURL(/\/login\?next=/);
      await page.getByLabel(/email/i).fill(email('acme', 'operator'));
      await page.getByLabel(/password/i).fill('not the password');
      await page.getByRole('button', { name: /sign in/i }).click();
      await page.getByRole('alert').filter({ hasText: /email or password is incorrect/i }).waitFor();
      expect(new URL(page.url()).pathname).toBe('/login');
      await page.getByLabel(/password/i).fill(TEST_PASSWORD);
      await page.getByRole('button', { name: /sign in/i }).click();
      await page.waitForURL(`${base}/t/acme/operations`);
      await page.getByRole('heading', { name: 'Operations' }).waitFor();
    } finally {
      await context.close();
    }
  });

  it('a run started through the API appears on the open board within 2 s, updates in place and ends showing its outcome', async () => {
    const { context, page } = await newPage(browser);
    try {
      await signIn(page, base, email('acme', 'operator'), TEST_PASSWORD, '/t/acme/operations');
      await live(page);
      const token = await login(base, email('acme', 'operator'));
      const started = await start(token, { items: 12, itemMs: 120, failEvery: 4, key: 'board' });
      const runId: string = started.body.run.id;
      const t0 = Date.now();
      await row(page, runId).waitFor({ timeout: 2_000 });
      const appearedAfter = Date.now() - t0;
      expect(appearedAfter).toBeLessThan(2_000);
      // While it runs, the row shows a progress bar; no reload happens at any point.
      await row(page, runId).getByRole('progressbar').waitFor({ timeout: 10_000 });
      await row(page, runId).getByText('Partially succeeded').waitFor({ timeout: 20_000 });
      await expect.poll(() => row(page, runId).innerText()).toMatch(/12 items\s*·\s*9 ok\s*·\s*3 failed/);
      expect(await page.evaluate('performance.getEntriesByType("navigation").length')).toBe(1);
    } finally {
      await context.close();
    }
  });

  it('run detail shows counts, timings and failures grouped by reason with their item ids', async () => {
    const token = await login(base, email('acme', 'operator'));
    const started = await start(token, { items: 6, itemMs: 1, failEvery: 2, failCode: 'quota_exceeded', failMessage: 'Quota exceeded for this item.', key: 'detail' });
    await system.feed.completed(started.body.run.id);
    const { context, page } = await newPage(browser);
    try {
      await signIn(page, base, email('acme', 'operator'), TEST_PASSWORD, started.body.url);
      await page.getByRole('heading', { name: 'Demo batch' }).waitFor();
      const items = page.getByRole('region', { name: 'Items' });
      await expect.poll(() => items.innerText()).toMatch(/Total\s*6\s*Processed\s*6\s*Succeeded\s*3\s*Failed\s*3\s*Skipped\s*0/);
      const failures = page.getByRole('region', { name: /Failures/ });
      const text = await failures.innerText();
      expect(text).toContain('quota_exceeded');
      expect(text).toContain('Quota exceeded for this item.');
      for (const item of ['item-2', 'item-4', 'item-6']) expect(text).toContain(item);
      expect(await page.getByRole('region', { name: 'Details' }).innerText()).toMatch(/Outcome\s*Partially succeeded/);
    } finally {
      await context.close();
    }
  });

  it('the unread badge rises live, and "Mark all read" in a second tab clears it in the first', async () => {
    const { context, page: tab1 } = await newPage(browser);
    try {
      await signIn(tab1, base, email('acme', 'manager'), TEST_PASSWORD, '/t/acme/operations');
      await live(tab1);
      const bell = tab1.getByRole('link', { name: /^Notifications/ });
      const unread = async () => Number(/(\d+) unread/.exec((await bell.getAttribute('aria-label')) ?? '')?.[1] ?? 0);
      const before = await unread();
      const token = await login(base, email('acme', 'manager'));
      const started = await start(token, { items: 1, itemMs: 1, key: 'badge' });
      await system.feed.completed(started.body.run.id);
      await expect.poll(unread, { timeout: 5_000 }).toBe(before + 2);

      const tab2 = await context.newPage();
      await tab2.goto(`${base}/notifications`);
      await tab2.getByRole('button', { name: /mark all read/i }).click();
      await expect.poll(unread, { timeout: 5_000 }).toBe(0);
    } finally {
      await context.close();
    }
  });

  it('the NOC wall opens with a kiosk token, shows a loud stale banner when the network is cut, and recovers', async () => {
    const manager = await login(base, email('acme', 'manager'));
    const kiosk = await call(base, 'POST', '/api/tenants/acme/kiosk-tokens', { token: manager, body: { label: 'e2e wall' } });
    const { context, page } = await newPage(browser, { viewport: { width: 1920, height: 1080 } });
    try {
      await page.goto(`${base}/t/acme/wall?kiosk=${kiosk.body.token}`);
      await page.getByRole('heading', { name: /Running now/ }).waitFor();
      expect(new URL(page.url()).pathname).toBe('/t/acme/wall');
      expect(await page.getByLabel(/password/i).count()).toBe(0);
      const banner = page.getByRole('alert').filter({ hasText: /LIVE UPDATES LOST/ });
      expect(await banner.count()).toBe(0);

      await context.setOffline(true);
      await banner.waitFor({ timeout: 15_000 });
      await context.setOffline(false);
      await banner.waitFor({ state: 'detached', timeout: 20_000 });
      // Live again: a new run shows up on the wall without a touch.
      const operator = await login(base, email('acme', 'operator'));
      const started = await start(operator, { items: 40, itemMs: 100, key: 'wall' });
      await page.getByText(/Running now/).waitFor();
      await expect.poll(() => page.getByRole('region', { name: /Running now/ }).innerText(), { timeout: 10_000 }).toMatch(/Demo/);
      await system.feed.completed(started.body.run.id, 30_000);
    } finally {
      await context.close();
    }
  });

  it('a page’s first connection says "Connecting", with no alarm; only a connection that was up and then lost raises one', async () => {
    // The shell's header while the first handshake is held back: neutral, and the data's age is no warning.
    {
      const { context, page } = await newPage(browser);
      try {
        const gate = await LiveGate.on(context);
        await signIn(page, base, email('acme', 'operator'), TEST_PASSWORD, '/t/acme/operations');
        const status = page.getByRole('banner').getByRole('status');
        await status.getByText('Connecting', { exact: true }).waitFor();
        await page.getByText(/Connecting to live updates · data as of/).waitFor();
        expect(await status.innerText()).not.toMatch(/Reconnecting|Offline|Retry/);
        expect(await page.getByText(/Not live|Connection lost/).count()).toBe(0);
        gate.release();
        await status.filter({ hasText: /^\s*Live/ }).waitFor();
        await gate.cut();
        await status.getByText('Reconnecting', { exact: true }).waitFor();
        await page.getByText(/Not live — data as of/).waitFor();
        gate.release();
        await status.filter({ hasText: /^\s*Live/ }).waitFor({ timeout: 15_000 });
      } finally {
        await context.close();
      }
    }

    // The wall: no banner however long the first handshake takes; the loud one once a live connection is lost.
    const manager = await login(base, email('acme', 'manager'));
    const kiosk = await call(base, 'POST', '/api/tenants/acme/kiosk-tokens', { token: manager, body: { label: 'e2e first connect' } });
    const { context, page } = await newPage(browser, { viewport: { width: 1920, height: 1080 } });
    try {
      const gate = await LiveGate.on(context);
      await page.clock.install();
      await page.goto(`${base}/t/acme/wall?kiosk=${kiosk.body.token}`);
      await page.getByRole('heading', { name: /Running now/ }).waitFor();
      const state = page.getByRole('banner').getByRole('status');
      await expect.poll(() => state.innerText()).toBe('Connecting');
      const alarm = page.getByRole('alert');
      /** Moves the page's clock on and waits until the wall has drawn that moment. */
      const later = async (ms: number) => {
        const shown = page.getByRole('banner').locator('time');
        const before = Date.parse((await shown.getAttribute('datetime'))!);
        await page.clock.fastForward(ms);
        await expect.poll(async () => Date.parse((await shown.getAttribute('datetime'))!) - before).toBeGreaterThanOrEqual(ms);
      };
      // Past the 5 s after which a lost connection raises the banner: the first one is still just connecting.
      await later(7_000);
      expect(await state.innerText()).toBe('Connecting');
      expect(await alarm.count()).toBe(0);

      gate.release();
      await expect.poll(() => state.innerText()).toBe('Live');
      await gate.cut();
      await expect.poll(() => state.innerText()).toBe('Reconnecting');
      await later(7_000);
      await alarm.filter({ hasText: /LIVE UPDATES LOST/ }).waitFor();
      gate.release();
      await alarm.waitFor({ state: 'detached', timeout: 20_000 });
      expect(await state.innerText()).toBe('Live');
    } finally {
      await context.close();
    }
  });

  it('a member of another tenant sees none of this tenant’s runs', async () => {
    const token = await login(base, email('acme', 'operator'));
    const started = await start(token, { items: 1, itemMs: 1, key: 'private' });
    await system.feed.completed(started.body.run.id);
    const { context, page } = await newPage(browser);
    try {
      await signIn(page, base, email('globex', 'owner'), TEST_PASSWORD, '/t/acme/operations');
      await page.getByText(/no access/i).first().waitFor();
      expect(await page.content()).not.toContain(started.body.run.id);
      await page.goto(`${base}${started.body.url}`);
      await page.waitForLoadState('networkidle');
      expect(await page.content()).not.toContain('Demo batch');
      await page.goto(`${base}/t/globex/operations`);
      await page.getByRole('heading', { name: 'Operations' }).waitFor();
      expect(await page.content()).not.toContain(started.body.run.id);
    } finally {
      await context.close();
    }
  });

  it('a long board renders only the rows near the viewport, and scrolling brings every row', async () => {
    // 300 finished runs, one a minute (seeded in SQL: the worker stays free for the other tests).
    const tenantId = system.tenants.initech!.tenant.id;
    const ids = await system.env.services.orm.em.getConnection().execute<{ id: string }[]>(
      `insert into operation_runs (tenant_id, type, status, outcome, identity_hash, scope, total, processed, succeeded,
                                   created_at, started_at, completed_at, updated_at, version)
       select ?, 'demo.batch', 'completed', 'succeeded', md5(i::text), '{}'::jsonb, 1, 1, 1,
              now() - make_interval(mins => i), now() - make_interval(mins => i), now() - make_interval(mins => i),
              now() - make_interval(mins => i), 3
       from generate_series(1, 300) as i order by i returning id`,
      [tenantId],
    );
    const { context, page } = await newPage(browser, { viewport: { width: 1280, height: 800 } });
    try {
      await signIn(page, base, email('initech', 'readonly'), TEST_PASSWORD, '/t/initech/operations');
      // Load every run (the worker's daily purge run may be among them), the way a person would.
      const loadMore = page.getByRole('button', { name: 'Load more' });
      const allLoaded = page.getByText("That's all in this range");
      await loadMore.or(allLoaded).first().waitFor();
      while (await loadMore.isVisible()) {
        const before = await page.getByText(/^\d+ runs shown$/).innerText();
        await loadMore.click();
        await expect.poll(() => page.getByText(/^\d+ runs shown$/).innerText()).not.toBe(before);
      }
      await allLoaded.waitFor();
      expect(Number((await page.getByText(/^\d+ runs shown$/).innerText()).split(' ')[0])).toBeGreaterThanOrEqual(300);
      const rendered = () => page.locator('tbody tr[data-run-id]').count();
      expect(await rendered()).toBeLessThan(120);
      // "Load more" left the page scrolled down to it; the newest row renders once back at the top.
      await page.evaluate('window.scrollTo(0, 0)');
      await row(page, ids[0]!.id).waitFor();
      expect(await row(page, ids[299]!.id).count()).toBe(0);
      // The page keeps the height of all 300 rows, so the scrollbar is honest; the oldest row renders at the bottom.
      await page.evaluate('window.scrollTo(0, document.body.scrollHeight)');
      await row(page, ids[299]!.id).waitFor();
      expect(await rendered()).toBeLessThan(120);
      expect(await row(page, ids[0]!.id).count()).toBe(0);
    } finally {
      await context.close();
    }
  });

  it('an operator starts work from its start dialog, joins the active run on a second start, and sees field errors', async () => {
    const { context, page } = await newPage(browser);
    try {
      await signIn(page, base, email('acme', 'operator'), TEST_PASSWORD, '/t/acme/operation-types');
      const open = async () => {
        await page.getByRole('button', { name: 'Start Demo batch…' }).click();
        const dialog = page.getByRole('dialog', { name: 'Demo batch' });
        await dialog.waitFor();
        return dialog;
      };
      let dialog = await open();
      await dialog.getByLabel('Items', { exact: true }).fill('40');
      await dialog.getByLabel('Time per item (ms)').fill('100');
      await dialog.getByLabel('Key').fill('from-the-dialog');
      await dialog.getByRole('button', { name: 'Start run' }).click();
      await dialog.getByRole('status').filter({ hasText: 'Run queued' }).waitFor();
      const href = await dialog.getByRole('link', { name: 'View run' }).getAttribute('href');
      expect(href).toMatch(/^\/t\/acme\/operations\/[0-9a-f-]{36}$/);
      await page.keyboard.press('Escape');

      // The same work again while it is active: joined, same run.
      dialog = await open();
      await dialog.getByLabel('Items', { exact: true }).fill('40');
      await dialog.getByLabel('Time per item (ms)').fill('100');
      await dialog.getByLabel('Key').fill('from-the-dialog');
      await dialog.getByRole('button', { name: 'Start run' }).click();
      await dialog.getByRole('status').filter({ hasText: 'Joined the active run' }).waitFor();
      expect(await dialog.getByRole('link', { name: 'View run' }).getAttribute('href')).toBe(href);
      await page.keyboard.press('Escape');

      // A value the server refuses is shown at its field, and nothing is started.
      dialog = await open();
      await dialog.getByLabel('Items', { exact: true }).fill('-1');
      await dialog.getByRole('button', { name: 'Start run' }).click();
      await expect.poll(() => dialog.getByLabel('Items', { exact: true }).getAttribute('aria-invalid')).toBe('true');
      expect(await dialog.getByRole('status').filter({ hasText: /Run queued|Joined/ }).count()).toBe(0);
      await page.keyboard.press('Escape');

      await page.goto(`${base}${href}`);
      await page.getByRole('heading', { name: 'Demo batch' }).waitFor();
      await system.feed.completed(href!.split('/').at(-1)!, 30_000);
    } finally {
      await context.close();
    }
  });

  it('readonly members see the start buttons disabled, with the reason', async () => {
    const { context, page } = await newPage(browser);
    try {
      await signIn(page, base, email('acme', 'readonly'), TEST_PASSWORD, '/t/acme/operation-types');
      const button = page.getByRole('button', { name: 'Start Demo batch…' });
      await button.waitFor();
      expect(await button.isDisabled()).toBe(true);
      const reasonId = await button.getAttribute('aria-describedby');
      expect(reasonId).toBeTruthy();
      expect(await page.locator(`[id="${reasonId!.split(' ')[0]}"]`).innerText()).toMatch(/needs the operator role/i);
    } finally {
      await context.close();
    }
  });

  it('every page passes axe-core’s WCAG 2 A and AA rules, with runs of every outcome, one running, open dialogs and panels, and a lost connection', async () => {
    const token = await login(base, email('acme', 'operator'));
    const finished = await Promise.all([
      start(token, { items: 4, abort: true, key: 'a11y-failed' }),
      start(token, { items: 6, itemMs: 1, failEvery: 2, failCode: 'quota_exceeded', failMessage: 'Quota exceeded.', key: 'a11y-partial' }),
      start(token, { items: 3, itemMs: 1, key: 'a11y-succeeded' }),
    ]);
    await Promise.all(finished.map((r) => system.feed.completed(r.body.run.id)));
    const policies = await seedPolicyPages(token);
    // Still running when the audit reaches the wall, after every other page (≈ 50 s of work).
    const running = await start(token, { items: 1000, itemMs: 50, failEvery: 7, key: 'a11y-running' });
    const runningId: string = running.body.run.id;
    await system.feed.until(() => system.feed.forRun(runningId).some((c) => c.kind === 'progress'), 20_000, 'progress of the running run');

    const found: string[] = [];
    const check = async (where: string, page: Page) => void found.push(...describeViolations(where, await audit(page)));
    const { context, page } = await newPage(browser, { bypassCSP: true });
    try {
      await page.goto(`${base}/login`);
      await page.getByRole('button', { name: /sign in/i }).waitFor();
      await check('login', page);

      await signIn(page, base, email('acme', 'operator'), TEST_PASSWORD, '/t/acme/operations');
      await row(page, runningId).getByRole('progressbar').waitFor();
      await row(page, finished[0]!.body.run.id).getByText('Failed').waitFor();
      await check('board', page);
      await page.getByRole('button', { name: /^Type/ }).click();
      await page.getByRole('button', { name: 'Custom' }).click();
      await page.getByRole('form', { name: 'Custom time range' }).waitFor();
      await check('board, type filter and custom range open', page);

      await page.goto(`${base}${finished[1]!.body.url}`);
      await page.getByRole('region', { name: /Failures/ }).getByText('quota_exceeded').waitFor();
      await check('run detail (partially succeeded)', page);
      await page.goto(`${base}${running.body.url}`);
      await page.getByRole('progressbar').waitFor();
      await check('run detail (running)', page);

      await page.goto(`${base}/t/acme/operation-types`);
      await page.getByRole('button', { name: 'Start Demo batch…' }).click();
      const dialog = page.getByRole('dialog', { name: 'Demo batch' });
      await dialog.waitFor();
      await check('operation types, start dialog open', page);
      await dialog.getByLabel('Items', { exact: true }).fill('-1');
      await dialog.getByRole('button', { name: 'Start run' }).click();
      await expect.poll(() => dialog.getByLabel('Items', { exact: true }).getAttribute('aria-invalid')).toBe('true');
      await check('start dialog with a field error', page);
      await page.keyboard.press('Escape');
      await dialog.waitFor({ state: 'detached' });
      await check('operation types', page);

      await page.goto(`${base}/notifications`);
      await page.getByRole('list', { name: /Notifications/ }).waitFor();
      await check('inbox', page);

      // The policy pages (docs/api.md §10), each with data and a field diff open where it has one.
      await page.goto(`${base}/t/acme/inventory`);
      await page.getByRole('region', { name: 'Policies' }).locator('tbody tr').first().waitFor();
      await check('inventory', page);
      await page.goto(`${base}/t/acme/drift`);
      await page.getByRole('region', { name: /Modified policies/ }).getByRole('button', { expanded: false }).first().click();
      await page.getByRole('table', { name: /Field changes of/ }).first().waitFor();
      await check('drift, a field diff open', page);
      await page.goto(`${base}/t/acme/backups`);
      await page.getByRole('link', { name: 'a11y set', exact: true }).waitFor();
      await check('backups', page);
      await page.goto(`${base}/t/acme/backups/${policies.backupSetId}`);
      await page.getByRole('region', { name: 'Captured policies' }).locator('tbody tr').first().waitFor();
      await check('backup set', page);
      await page.goto(`${base}/t/acme/restores/${policies.restoreId}`);
      await page.getByRole('region', { name: 'Preview' }).getByRole('region', { name: /^Update/ }).getByRole('button', { expanded: false }).first().click();
      await page.getByRole('table', { name: /Fields a restore of/ }).first().waitFor();
      await check('restore preview, a field diff open', page);

      await page.goto(`${base}/t/acme/wall`);
      await page.getByRole('region', { name: /Running now/ }).locator(`[data-run-id="${runningId}"]`).waitFor();
      await page.getByRole('region', { name: /Latest failures/ }).getByRole('listitem').first().waitFor();
      await check('wall', page);
      await context.setOffline(true);
      await page.getByRole('alert').filter({ hasText: /LIVE UPDATES LOST/ }).waitFor({ timeout: 15_000 });
      await check('wall, live updates lost', page);
      await context.setOffline(false);
    } finally {
      await context.close();
    }
    await system.feed.completed(runningId, 90_000);
    expect(found, `axe-core found ${found.length} violation(s):\n${found.join('\n')}`).toEqual([]);
  }, 180_000);
});
