import { hostname } from 'node:os';
import type { Browser, Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, login, startSystem, type System } from '../helpers/app.ts';
import { audit, describeViolations } from '../helpers/axe.ts';
import { launchBrowser, newPage, signIn } from '../helpers/browser.ts';
import { TEST_PASSWORD } from '../helpers/stack.ts';

// Finding runs and understanding failures (docs/api.md §6, §11) as people use them: search and the top failure
// reasons on the board, "Slower than usual" and the ETA, a run's live timeline, "Run again", the wall's reasons —
// in Debian's Chromium against the real server, worker, PostgreSQL and Redis. One system for the file; each test
// makes the runs it needs (acme for the board and the detail, initech for baselines, globex as the outsider).
describe('run insight in a real browser', () => {
  type Role = 'owner' | 'manager' | 'operator' | 'readonly';
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

  const email = (tenant: string, role: Role) => system.tenants[tenant]!.users[role].email;
  const tokens = new Map<string, Promise<string>>();
  const token = (tenant: string, role: Role) => {
    const key = `${tenant}/${role}`;
    if (!tokens.has(key)) tokens.set(key, login(base, email(tenant, role)));
    return tokens.get(key)!;
  };
  /** Starts a run through the API (202 expected); the run's id and its dashboard url. */
  const start = async (tenant: string, scope: Record<string, unknown>, type = 'demo.batch', role: Role = 'operator') => {
    const started = await call(base, 'POST', `/api/tenants/${tenant}/runs`, { token: await token(tenant, role), body: { type, scope } });
    expect(started.status, JSON.stringify(started.body)).toBe(202);
    return { id: started.body.run.id as string, url: started.body.url as string };
  };
  /** A run started and awaited to completion. */
  const finished = async (tenant: string, scope: Record<string, unknown>, type = 'demo.batch') => {
    const run = await start(tenant, scope, type);
    await system.feed.completed(run.id, 30_000);
    return run;
  };
  const startedOnFeed = (id: string) => system.feed.forRun(id).some((m) => m.kind === 'started');
  const live = (page: Page) => page.getByRole('banner').getByRole('status').filter({ hasText: /^\s*Live/ }).waitFor({ timeout: 15_000 });
  /** The board row of a run. */
  const row = (page: Page, runId: string) => page.locator(`tbody tr[data-run-id="${runId}"]`);
  /** The ids of the board's rows, in order. */
  const shownIds = (page: Page) => page.locator('tbody tr[data-run-id]').evaluateAll((rows: any[]) => rows.map((r) => r.getAttribute('data-run-id') as string));
  const query = (page: Page, name: string) => new URL(page.url()).searchParams.getAll(name);
  const focusedTestId = (page: Page) => page.evaluate(() => (globalThis as any).document.activeElement?.getAttribute('data-testid') ?? null);
  const focusedId = (page: Page) => page.evaluate(() => (globalThis as any).document.activeElement?.id ?? null);
  /** `[kind, version]` of each timeline entry shown, in order. */
  const timelineOf = (scope: Locator) =>
    scope
      .getByTestId('timeline-entry')
      .evaluateAll((els: any[]) => els.map((e) => [e.getAttribute('data-kind') as string, Number(e.getAttribute('data-version'))] as const));
  const workerName = () => `${hostname()} (pid ${system.worker!.child.pid})`;
  /** Stops the page's timers (page.clock must be installed): only the test moves them on. */
  const pauseClock = async (page: Page) => page.clock.pauseAt((await page.evaluate(() => Date.now())) + 500);
  const pageSearch = (page: Page) => page.evaluate(() => (globalThis as any).location.search as string);

  it('a run’s timeline grows live on its open detail: queued by the operator, then started, progress and completed by the worker', async () => {
    const { context, page } = await newPage(browser);
    try {
      await signIn(page, base, email('acme', 'operator'), TEST_PASSWORD, '/t/acme/operations');
      await live(page);
      // Every worker slot busy (WORKER_CONCURRENCY 4), so the run below waits, queued, while its page opens.
      const blockers = await Promise.all([1, 2, 3, 4].map((i) => start('acme', { items: 3, itemMs: 1500, key: `timeline-blocker-${i}` })));
      await system.feed.until(() => blockers.every((b) => startedOnFeed(b.id)), 20_000, 'every worker slot busy');
      const run = await start('acme', { items: 7, itemMs: 1000, key: 'timeline-live' });

      // Opened from the board (no page load), while the run is still queued.
      await row(page, run.id).getByRole('link').click();
      await page.waitForURL(`${base}${run.url}`);
      await page.evaluate(() => void ((globalThis as any).__sameDocument = true));
      const timeline = page.getByTestId('run-timeline');
      const entry = (kind: string) => timeline.locator(`[data-testid="timeline-entry"][data-kind="${kind}"]`);
      await entry('queued').waitFor();
      expect(startedOnFeed(run.id), 'the run started before its page showed it queued: blockers too short').toBe(false);
      expect(await timelineOf(page.locator('body'))).toEqual([['queued', 1]]);
      expect(await entry('queued').innerText()).toContain('by operator of acme');
      const announcer = page.getByTestId('timeline-announcer');

      // Each change arrives with its entry on the live channel, announced politely.
      await entry('started').waitFor({ timeout: 15_000 });
      expect(await entry('started').innerText()).toContain(`by ${workerName()}`);
      await expect.poll(() => announcer.innerText()).toBe(`Timeline: Started by worker ${workerName()}.`);
      // Progress is recorded once 5 s have passed since the last recorded change.
      await entry('progress').first().waitFor({ timeout: 15_000 });
      await entry('completed').waitFor({ timeout: 15_000 });
      expect(await entry('completed').innerText()).toMatch(new RegExp(`Completed: succeeded\\s*by ${workerName().replace(/[()]/g, '\\$&')}[\\s\\S]*7 succeeded, 0 failed of 7 items`));
      await expect.poll(() => announcer.innerText()).toBe(`Timeline: Completed: succeeded, by worker ${workerName()}.`);

      const shown = await timelineOf(timeline);
      expect(shown.map(([kind]) => kind).join(' ')).toMatch(/^queued started( progress)+ completed$/);
      const versions = shown.map(([, version]) => version);
      expect(versions).toEqual([...versions].sort((a, b) => a - b));
      expect(new Set(versions).size).toBe(versions.length);
      // What the page grew to is the run's recorded history.
      const history = await call(base, 'GET', `/api/tenants/acme/runs/${run.id}/history`, { token: await token('acme', 'operator') });
      expect(history.body.history.map((h: { kind: string; version: number }) => [h.kind, h.version])).toEqual(shown);
      expect(await page.evaluate(() => (globalThis as any).__sameDocument)).toBe(true);
      await Promise.all(blockers.map((b) => system.feed.completed(b.id)));
    } finally {
      await context.close();
    }
  });

  it('search: "/" focuses it, typing applies after a pause, Enter at once, Escape clears; it lives in the URL with the other filters', async () => {
    const needle = await finished('acme', { items: 2, itemMs: 1, key: 'needle-alpha' });
    const hay = await finished('acme', { items: 2, itemMs: 1, key: 'haystack-beta' });
    // A mirrored run (never started here) of another type about the same thing: the type filter tells them apart.
    const external = await start('acme', { key: 'needle-alpha' }, 'demo.external');
    const { context, page } = await newPage(browser);
    try {
      // The page's timers are the test's to move, so "after a pause" and "at once" are exact.
      await page.clock.install();
      await signIn(page, base, email('acme', 'operator'), TEST_PASSWORD, '/t/acme/operations');
      await live(page);
      await row(page, hay.id).waitFor();
      const search = page.getByRole('searchbox', { name: 'Search runs' });
      expect(await search.getAttribute('data-testid')).toBe('run-search');

      // "/" while typing in another field is that field's; elsewhere it moves to the search.
      await page.getByRole('button', { name: 'Custom' }).click();
      await page.locator('#range-from').focus();
      await page.keyboard.press('/');
      expect(await focusedId(page)).toBe('range-from');
      await page.getByRole('button', { name: 'Custom' }).click();
      await page.getByRole('heading', { name: 'Operations' }).click();
      await page.keyboard.press('/');
      expect(await focusedTestId(page)).toBe('run-search');
      expect(await search.inputValue()).toBe('');

      // Typing: nothing is asked until the typing has paused for 300 ms.
      await pauseClock(page);
      await page.keyboard.type('needle');
      await page.clock.runFor(250);
      expect(await pageSearch(page)).toBe('');
      expect(await search.inputValue()).toBe('needle');
      await page.clock.runFor(100);
      await page.waitForURL((url) => url.searchParams.get('q') === 'needle');
      await page.clock.resume();
      await expect.poll(() => shownIds(page)).toEqual([external.id, needle.id]);
      await page.getByRole('status').filter({ hasText: '2 runs found' }).waitFor();

      // Enter: at once, though no timer runs.
      await pauseClock(page);
      await search.fill('haystack');
      await search.press('Enter');
      await page.waitForURL((url) => url.searchParams.get('q') === 'haystack');
      await page.clock.resume();
      await expect.poll(() => shownIds(page)).toEqual([hay.id]);

      // Escape: cleared at once, every run back.
      await search.press('Escape');
      await page.waitForURL((url) => !url.searchParams.has('q'));
      expect(await search.inputValue()).toBe('');
      await row(page, needle.id).waitFor();
      await row(page, hay.id).waitFor();

      // With a type and a range: all of them hold, all are in the URL, and a reload keeps them.
      await search.fill('needle');
      await search.press('Enter');
      await page.getByRole('button', { name: /^Type/ }).click();
      await page.getByRole('checkbox', { name: /^Demo batch/ }).check();
      await page.getByRole('button', { name: 'Done' }).click();
      await page.getByRole('button', { name: '24h', exact: true }).click();
      await page.waitForURL((url) => url.searchParams.get('range') === '24h');
      expect(query(page, 'q')).toEqual(['needle']);
      expect(query(page, 'type')).toEqual(['demo.batch']);
      await expect.poll(() => shownIds(page)).toEqual([needle.id]);
      await page.reload();
      await live(page);
      expect(await search.inputValue()).toBe('needle');
      expect(await page.getByRole('button', { name: '24h', exact: true }).getAttribute('aria-pressed')).toBe('true');
      expect(query(page, 'type')).toEqual(['demo.batch']);
      await expect.poll(() => shownIds(page)).toEqual([needle.id]);

      // A search that finds nothing says what was searched, and clears from there.
      await search.fill('zzz-nothing');
      await search.press('Enter');
      const empty = page.getByTestId('search-empty');
      await empty.waitFor();
      expect(await empty.innerText()).toContain('No runs match “zzz-nothing” in the last 24 hours');
      expect(await page.locator('tbody tr[data-run-id]').count()).toBe(0);
      await empty.getByRole('button', { name: 'Clear search' }).click();
      await page.waitForURL((url) => !url.searchParams.has('q'));
      expect(await search.inputValue()).toBe('');
      await row(page, hay.id).waitFor();
      expect(query(page, 'type')).toEqual(['demo.batch']);
      expect(query(page, 'range')).toEqual(['24h']);
    } finally {
      await context.close();
    }
  });

  it('under a search a new matching run comes in by a re-read, one that does not match stays off the board, and the shown run updates live', async () => {
    const { context, page } = await newPage(browser);
    try {
      await signIn(page, base, email('acme', 'operator'), TEST_PASSWORD, '/t/acme/operations?q=needle-live');
      await live(page);
      const search = page.getByTestId('run-search');
      expect(await search.inputValue()).toBe('needle-live');
      await page.getByTestId('search-empty').waitFor();
      const shown = await start('acme', { items: 12, itemMs: 400, key: 'needle-live' });
      // Only the server can match a search: a new run's push makes the board re-read (once per 2 s at most),
      // which brings the matching run in without a reload.
      await row(page, shown.id).waitFor({ timeout: 10_000 });
      await row(page, shown.id).getByRole('progressbar').waitFor({ timeout: 10_000 });
      const versionShown = Number(await row(page, shown.id).getAttribute('data-version'));

      const other = await finished('acme', { items: 1, itemMs: 1, key: 'unrelated-live' });
      // The shown run's later pushes come after the other run's: once they are on screen, so would the other be.
      await expect.poll(() => row(page, shown.id).getAttribute('data-version').then(Number), { timeout: 10_000 }).toBeGreaterThan(versionShown);
      await row(page, shown.id).getByText('Succeeded').waitFor({ timeout: 15_000 });
      expect(await shownIds(page)).toEqual([shown.id]);
      expect(await page.evaluate('performance.getEntriesByType("navigation").length')).toBe(1);

      // Without the search the other run is there.
      await search.press('Escape');
      await row(page, other.id).waitFor();
    } finally {
      await context.close();
    }
  });

  it('top reasons: most runs first; a reason filters the board by failureCode and shows a chip; the chip or the reason removes it; it refreshes live', async () => {
    const quota1 = await finished('acme', { items: 4, itemMs: 1, failEvery: 2, failCode: 'reason_quota', failMessage: 'Quota exceeded.', key: 'reasons-q1' });
    const quota2 = await finished('acme', { items: 3, itemMs: 1, failEvery: 3, failCode: 'reason_quota', failMessage: 'Quota exceeded.', key: 'reasons-q2' });
    const disk = await finished('acme', { items: 2, itemMs: 1, failEvery: 1, failCode: 'reason_disk', failMessage: 'Disk full.', key: 'reasons-d' });
    const clean = await finished('acme', { items: 2, itemMs: 1, key: 'reasons-ok' });
    const { context, page } = await newPage(browser);
    try {
      await signIn(page, base, email('acme', 'operator'), TEST_PASSWORD, '/t/acme/operations');
      await live(page);
      const panel = page.getByTestId('top-reasons');
      const quota = panel.getByTestId('reason-reason_quota');
      await quota.waitFor();
      expect(await quota.innerText()).toMatch(/reason_quota\s*2 runs\s*· 3 failures\s*Quota exceeded\.\s*Demo batch/);
      expect(await panel.getByTestId('reason-reason_disk').innerText()).toMatch(/1 run\s*· 2 failures/);
      const order = await panel.locator('[data-testid^="reason-"]').evaluateAll((els: any[]) => els.map((e) => e.getAttribute('data-testid')));
      expect(order.indexOf('reason-reason_quota')).toBeLessThan(order.indexOf('reason-reason_disk'));

      // The reason filters the board to exactly its runs.
      await quota.click();
      await page.waitForURL((url) => url.searchParams.get('failureCode') === 'reason_quota');
      expect(await quota.getAttribute('aria-pressed')).toBe('true');
      const chip = page.getByTestId('reason-chip');
      await chip.waitFor();
      expect(await chip.getAttribute('data-code')).toBe('reason_quota');
      await expect.poll(() => shownIds(page)).toEqual([quota2.id, quota1.id]);

      // The chip removes it…
      await chip.click();
      await page.waitForURL((url) => !url.searchParams.has('failureCode'));
      await chip.waitFor({ state: 'detached' });
      expect(await quota.getAttribute('aria-pressed')).toBe('false');
      await row(page, clean.id).waitFor();
      await row(page, disk.id).waitFor();
      // …and so does the reason, pressed again.
      await quota.click();
      await page.waitForURL((url) => url.searchParams.get('failureCode') === 'reason_quota');
      await expect.poll(() => shownIds(page)).toEqual([quota2.id, quota1.id]);
      await quota.click();
      await page.waitForURL((url) => !url.searchParams.has('failureCode'));
      expect(await page.getByTestId('reason-chip').count()).toBe(0);
      await row(page, clean.id).waitFor();

      // A run completing with failures while the board is open: its reason appears, no reload.
      await finished('acme', { items: 2, itemMs: 1, failEvery: 1, failCode: 'reason_fresh', failMessage: 'Fresh trouble.', key: 'reasons-fresh' });
      await panel.getByTestId('reason-reason_fresh').waitFor({ timeout: 5_000 });
      expect(await panel.getByTestId('reason-reason_fresh').innerText()).toMatch(/1 run\s*· 2 failures\s*Fresh trouble\./);
      expect(await page.evaluate('performance.getEntriesByType("navigation").length')).toBe(1);
    } finally {
      await context.close();
    }
  });

  it('Run again: the start dialog prefilled with the run’s scope, "Run queued" with a link to the new run, then "Joined the active run"; none for readonly or while running', async () => {
    const original = await finished('acme', { items: 2, itemMs: 1, key: 'again' });
    const { context, page } = await newPage(browser);
    try {
      await signIn(page, base, email('acme', 'operator'), TEST_PASSWORD, original.url);
      await page.getByRole('heading', { name: 'Demo batch' }).waitFor();
      const again = page.getByTestId('run-again');
      await again.waitFor();
      expect(await again.innerText()).toContain('Run again');
      const open = async () => {
        await again.click();
        const dialog = page.getByRole('dialog', { name: 'Demo batch' });
        await dialog.waitFor();
        expect(await dialog.getByTestId('start-prefilled').innerText()).toContain(`Prefilled with the scope of run ${original.id.slice(0, 8)}`);
        expect(await dialog.getByLabel('Items', { exact: true }).inputValue()).toBe('2');
        expect(await dialog.getByLabel('Time per item (ms)').inputValue()).toBe('1');
        expect(await dialog.getByLabel('Key').inputValue()).toBe('again');
        // Slow enough to still be running at the second start.
        await dialog.getByLabel('Time per item (ms)').fill('2500');
        await dialog.getByRole('button', { name: 'Start run' }).click();
        return dialog;
      };

      let dialog = await open();
      await dialog.getByRole('status').filter({ hasText: 'Run queued' }).waitFor();
      await page.keyboard.press('Escape');
      await dialog.waitFor({ state: 'detached' });
      const notice = page.getByTestId('run-again-notice');
      expect(await notice.innerText()).toContain('Run queued');
      const href = await notice.getByRole('link', { name: 'View run' }).getAttribute('href');
      expect(href).toMatch(/^\/t\/acme\/operations\/[0-9a-f-]{36}$/);
      expect(href).not.toBe(original.url);
      const againId = href!.split('/').at(-1)!;

      dialog = await open();
      await dialog.getByRole('status').filter({ hasText: 'Joined the active run' }).waitFor();
      expect(await dialog.getByRole('link', { name: 'View run' }).getAttribute('href')).toBe(href);
      await page.keyboard.press('Escape');
      await dialog.waitFor({ state: 'detached' });
      expect(await notice.innerText()).toContain('Joined the active run');
      expect(await notice.getByRole('link', { name: 'View run' }).getAttribute('href')).toBe(href);

      // The link leads to the new run, which offers nothing while it runs and "Run again" once it is done.
      await notice.getByRole('link', { name: 'View run' }).click();
      await page.waitForURL(`${base}${href}`);
      await page.getByTitle('Run id').filter({ hasText: againId }).waitFor();
      expect((await call(base, 'GET', `/api/tenants/acme/runs/${againId}`, { token: await token('acme', 'operator') })).body.run.scope).toMatchObject({
        items: 2,
        itemMs: 2500,
        key: 'again',
      });
      await page.getByRole('progressbar', { name: 'Progress' }).waitFor({ timeout: 10_000 });
      expect(await page.getByTestId('run-again').count()).toBe(0);
      await system.feed.completed(againId, 20_000);
      await page.getByTestId('run-again').waitFor();
    } finally {
      await context.close();
    }

    // A readonly member reads the same run and is offered nothing.
    const readonly = await newPage(browser);
    try {
      await signIn(readonly.page, base, email('acme', 'readonly'), TEST_PASSWORD, original.url);
      await readonly.page.getByTestId('run-timeline').waitFor();
      await readonly.page.waitForLoadState('networkidle');
      expect(await readonly.page.getByTestId('run-again').count()).toBe(0);
    } finally {
      await readonly.context.close();
    }
  });

  it('Run again of a type started from its feature page links there (inventory.sync → Inventory)', async () => {
    await system.env.services.sources.setSimulated(system.tenants.acme!.tenant.id, { policies: 5 });
    const sync = await finished('acme', {}, 'inventory.sync');
    const { context, page } = await newPage(browser);
    try {
      await signIn(page, base, email('acme', 'operator'), TEST_PASSWORD, sync.url);
      const again = page.getByTestId('run-again');
      await again.waitFor();
      expect(await again.innerText()).toContain('Run again from Inventory');
      expect(await again.getAttribute('href')).toBe('/t/acme/inventory');
    } finally {
      await context.close();
    }
  });

  it('a member of another tenant, searching, finds nothing of this tenant’s runs nor its failure reasons', async () => {
    const secret = await finished('acme', { items: 1, itemMs: 1, failEvery: 1, failCode: 'acme_private_reason', key: 'acme-secret-key' });
    const outsider = await token('globex', 'operator');
    const api = await call(base, 'GET', '/api/tenants/globex/runs?q=acme-secret-key', { token: outsider });
    expect(api.status).toBe(200);
    expect(api.body.runs).toEqual([]);
    const { context, page } = await newPage(browser);
    try {
      await signIn(page, base, email('globex', 'operator'), TEST_PASSWORD, '/t/globex/operations?q=acme-secret-key');
      await page.getByTestId('search-empty').waitFor();
      await page.getByTestId('top-reasons').getByText('No failures in the last 30 days.').waitFor();
      for (const q of [secret.id.slice(0, 13), 'acme_private_reason']) {
        await page.getByTestId('run-search').fill(q);
        await page.getByTestId('run-search').press('Enter');
        await page.waitForURL((url) => url.searchParams.get('q') === q);
        await page.getByTestId('search-empty').waitFor();
      }
      expect(await page.content()).not.toContain(secret.id);
      await page.goto(`${base}/t/acme/operations?q=acme-secret-key`);
      await page.getByText(/no access/i).first().waitFor();
      expect(await page.content()).not.toContain(secret.id);
      expect(await page.content()).not.toContain('acme_private_reason');
    } finally {
      await context.close();
    }
  });

  it('"Slower than usual" on the board, the detail and the wall once a run passes its type’s p95 (not before); the wall lists the top reasons; its progress collapses in the timeline; axe-core passes', async () => {
    // initech's baseline is made here, before any of its pages read one: three demo batches of ≈ 6 s (p95 ≈ 6 s),
    // while a 60 s one runs — long enough to still be running through every page below on a busy machine.
    const slow = await start('initech', { items: 120, itemMs: 500, key: 'slow' });
    await system.feed.until(() => startedOnFeed(slow.id), 10_000, 'the slow run to start');
    const usual = await Promise.all([
      start('initech', { items: 3, itemMs: 2000, failEvery: 3, failCode: 'slow_lane_timeout', failMessage: 'The lane timed out.', key: 'usual-1' }),
      start('initech', { items: 3, itemMs: 2000, key: 'usual-2' }),
      start('initech', { items: 3, itemMs: 2000, key: 'usual-3' }),
    ]);
    await Promise.all(usual.map((r) => system.feed.completed(r.id, 30_000)));
    const baselines = await call(base, 'GET', '/api/tenants/initech/baselines', { token: await token('initech', 'operator') });
    const batch = baselines.body.types.find((t: { type: string }) => t.type === 'demo.batch');
    expect(batch).toMatchObject({ runs30d: 3 });
    expect(batch.p95DurationMs).toBeGreaterThan(5_000);
    expect(batch.p95DurationMs).toBeLessThan(9_000);

    const { context, page } = await newPage(browser);
    try {
      await signIn(page, base, email('initech', 'operator'), TEST_PASSWORD, '/t/initech/operations');
      await live(page);
      await row(page, slow.id).getByTestId('slow-badge').waitFor({ timeout: 10_000 });
      expect(await row(page, slow.id).getByTestId('slow-badge').innerText()).toContain('Slower than usual');
      expect(await row(page, slow.id).getByTestId('slow-badge').getAttribute('title')).toMatch(/^Running .+; usually done within .+ \(p95 of 3 runs in 30 days\)$/);
      expect(await row(page, slow.id).getByTestId('run-eta').innerText()).toMatch(/^≈ .+ left$/);
      // A run of the same type just started: an ETA, no badge — until it, too, runs past the p95.
      const fresh = await start('initech', { items: 12, itemMs: 1000, key: 'fresh' });
      await row(page, fresh.id).getByTestId('run-eta').waitFor({ timeout: 10_000 });
      expect(await row(page, fresh.id).getByTestId('slow-badge').count()).toBe(0);
      expect(await row(page, fresh.id).getByRole('progressbar').count()).toBe(1);
      await row(page, fresh.id).getByTestId('slow-badge').waitFor({ timeout: 12_000 });
      expect(await row(page, fresh.id).getByRole('progressbar').count()).toBe(1);

      // The detail says so too, with an ETA.
      await page.goto(`${base}${slow.url}`);
      await page.getByRole('heading', { name: 'Demo batch' }).waitFor();
      await page.getByTestId('slow-badge').waitFor();
      expect(await page.getByTestId('slow-badge').count()).toBe(1);
      expect(await page.getByTestId('run-eta').innerText()).toMatch(/^≈ .+ left$/);
    } finally {
      await context.close();
    }

    // The wall: the slow run with its badge, and the top reasons of the last 24 hours, to read (not to press).
    const manager = await token('initech', 'manager');
    const kiosk = await call(base, 'POST', '/api/tenants/initech/kiosk-tokens', { token: manager, body: { label: 'insight wall' } });
    expect(kiosk.status).toBe(201);
    const wall = await newPage(browser, { viewport: { width: 1920, height: 1080 } });
    try {
      await wall.page.goto(`${base}/t/initech/wall?kiosk=${kiosk.body.token}`);
      const running = wall.page.getByRole('region', { name: /Running now/ });
      await running.locator(`[data-run-id="${slow.id}"]`).getByTestId('slow-badge').waitFor();
      expect(await running.locator(`[data-run-id="${slow.id}"]`).getByTestId('run-eta').innerText()).toMatch(/^≈ .+ left$/);
      const reasons = wall.page.getByTestId('top-reasons');
      const reason = reasons.getByTestId('reason-slow_lane_timeout');
      await reason.waitFor();
      expect(await reason.innerText()).toMatch(/slow_lane_timeout\s*1 run\s*The lane timed out\.\s*1 failure/);
      expect(await reasons.getByRole('button').count()).toBe(0);
    } finally {
      await wall.context.close();
    }

    // While its timeline fills up: axe-core on the pages that show the badge (a context of its own, for the script).
    const found: string[] = [];
    const check = async (where: string, page: Page) => void found.push(...describeViolations(where, await audit(page)));
    const detail = await newPage(browser, { bypassCSP: true });
    try {
      await signIn(detail.page, base, email('initech', 'operator'), TEST_PASSWORD, '/t/initech/operations');
      await row(detail.page, slow.id).getByTestId('slow-badge').waitFor();
      await check('board with a slow run', detail.page);
      await detail.page.goto(`${base}/t/initech/wall`);
      await detail.page.getByRole('region', { name: /Running now/ }).locator(`[data-run-id="${slow.id}"]`).getByTestId('slow-badge').waitFor();
      await detail.page.getByTestId('top-reasons').getByTestId('reason-slow_lane_timeout').waitFor();
      await check('wall with a slow run and top reasons', detail.page);
      await detail.page.goto(`${base}${slow.url}`);
      await detail.page.getByTestId('slow-badge').waitFor();
      await detail.page.getByTestId('run-eta').waitFor();
      await check('run detail, slower than usual', detail.page);

      // Its timeline: past five progress points in a row (one per 5 s), the middle ones collapse into one line.
      const timeline = detail.page.getByTestId('run-timeline');
      const group = timeline.getByTestId('timeline-group');
      await group.waitFor({ timeout: 40_000 });
      const toggle = group.getByRole('button');
      expect(await toggle.getAttribute('aria-expanded')).toBe('false');
      expect(await toggle.innerText()).toMatch(/\d+ more progress updates? · [\d,]+ → [\d,]+ processed over /);
      const collapsed = (await timelineOf(timeline)).filter(([kind]) => kind === 'progress').length;
      expect(collapsed).toBe(2);
      await toggle.click();
      expect(await toggle.getAttribute('aria-expanded')).toBe('true');
      expect(await toggle.innerText()).toMatch(/Hide \d+ progress updates?/);
      const expanded = (await timelineOf(timeline)).filter(([kind]) => kind === 'progress').length;
      expect(expanded).toBeGreaterThan(collapsed + 3);
      const history = await call(base, 'GET', `/api/tenants/initech/runs/${slow.id}/history`, { token: await token('initech', 'operator') });
      expect(expanded).toBeGreaterThanOrEqual(history.body.history.filter((h: { kind: string }) => h.kind === 'progress').length - 1);
      await check('run detail, a progress stretch expanded', detail.page);

      // Done: no badge any more, and it may be run again.
      await system.feed.completed(slow.id, 60_000);
      await timeline.locator('[data-kind="completed"]').waitFor();
      await detail.page.getByTestId('run-again').waitFor();
      expect(await detail.page.getByTestId('slow-badge').count()).toBe(0);
      expect(await detail.page.getByTestId('run-eta').count()).toBe(0);
    } finally {
      await detail.context.close();
    }
    expect(found, `axe-core found ${found.length} violation(s):\n${found.join('\n')}`).toEqual([]);
  }, 180_000);

  it('passes axe-core’s WCAG 2 A and AA rules: board searched, filtered by a reason and empty; detail with its timeline and the Run again dialog; the wall with reasons', async () => {
    const failing = await finished('acme', { items: 4, itemMs: 1, failEvery: 2, failCode: 'a11y_reason', failMessage: 'Audit failure.', key: 'a11y-search' });
    const found: string[] = [];
    const check = async (where: string, page: Page) => void found.push(...describeViolations(where, await audit(page)));
    const { context, page } = await newPage(browser, { bypassCSP: true });
    try {
      await signIn(page, base, email('acme', 'operator'), TEST_PASSWORD, '/t/acme/operations?q=a11y-search');
      await expect.poll(() => shownIds(page)).toEqual([failing.id]);
      await page.getByTestId('top-reasons').getByTestId('reason-a11y_reason').waitFor();
      await check('board, search active', page);

      await page.getByTestId('run-search').press('Escape');
      await page.waitForURL((url) => !url.searchParams.has('q'));
      await page.getByTestId('reason-a11y_reason').click();
      await page.getByTestId('reason-chip').waitFor();
      await expect.poll(() => shownIds(page)).toEqual([failing.id]);
      await check('board, reason filter', page);

      await page.goto(`${base}/t/acme/operations?q=zzz-nothing-here`);
      await page.getByTestId('search-empty').waitFor();
      await check('board, search found nothing', page);

      await page.goto(`${base}${failing.url}`);
      await page.getByTestId('run-timeline').locator('[data-kind="completed"]').waitFor();
      await page.getByTestId('run-again').waitFor();
      await check('run detail with its timeline', page);
      await page.getByTestId('run-again').click();
      const dialog = page.getByRole('dialog', { name: 'Demo batch' });
      await dialog.getByTestId('start-prefilled').waitFor();
      await check('run detail, Run again dialog open', page);
      await dialog.getByLabel('Key').fill('a11y-again');
      await dialog.getByRole('button', { name: 'Start run' }).click();
      await dialog.getByRole('status').filter({ hasText: 'Run queued' }).waitFor();
      await check('Run again dialog, run queued', page);
      await page.keyboard.press('Escape');
      await page.getByTestId('run-again-notice').waitFor();
      await check('run detail, Run again notice', page);
      const againHref = await page.getByTestId('run-again-notice').getByRole('link', { name: 'View run' }).getAttribute('href');

      await page.goto(`${base}/t/acme/wall`);
      await page.getByTestId('top-reasons').getByTestId('reason-a11y_reason').waitFor();
      await check('wall with top reasons', page);
      await system.feed.completed(againHref!.split('/').at(-1)!, 20_000);
    } finally {
      await context.close();
    }
    expect(found, `axe-core found ${found.length} violation(s):\n${found.join('\n')}`).toEqual([]);
  });
});
