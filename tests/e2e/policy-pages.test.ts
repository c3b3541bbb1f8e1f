import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, login, startSystem, type System } from '../helpers/app.ts';
import { audit, describeViolations } from '../helpers/axe.ts';
import { launchBrowser, LiveGate, newPage, signIn } from '../helpers/browser.ts';
import { TEST_PASSWORD } from '../helpers/stack.ts';

// The policy pages (docs/api.md §10) as people use them: Inventory, Drift, Backups and a restore, against the
// real server and worker, with acme's simulated source. The tests run in order and build on each other: the
// first sync, the second (after the revision moved), a backup set, a restore of another one.
describe('policy pages in a real browser', () => {
  let system: System;
  let browser: Browser;
  let base: string;
  let tenantId: string;
  const found: string[] = [];

  beforeAll(async () => {
    system = await startSystem({ tenants: ['acme'] });
    base = system.app.baseUrl;
    tenantId = system.tenants.acme!.tenant.id;
    browser = await launchBrowser();
  });

  afterAll(async () => {
    await browser?.close();
    await system?.stop();
  });

  const email = (role: 'owner' | 'manager' | 'operator' | 'readonly') => system.tenants.acme!.users[role].email;
  const live = (page: Page) => page.getByRole('banner').getByRole('status').filter({ hasText: /^\s*Live/ }).waitFor({ timeout: 15_000 });
  const check = async (where: string, page: Page) => void found.push(...describeViolations(where, await audit(page)));
  /** A sync started through the API, awaited to completion (the worker runs it). */
  const syncViaApi = async () => {
    const token = await login(base, email('operator'));
    const started = await call(base, 'POST', '/api/tenants/acme/runs', { token, body: { type: 'inventory.sync', scope: {} } });
    expect(started.status).toBe(202);
    await system.feed.completed(started.body.run.id, 30_000);
  };
  /** The disabled button and the words its aria-describedby points at. */
  const reasonOf = async (page: Page, name: string | RegExp) => {
    const button = page.getByRole('button', { name });
    await button.waitFor();
    expect(await button.isDisabled()).toBe(true);
    const id = await button.getAttribute('aria-describedby');
    expect(id).toBeTruthy();
    return page.locator(`[id="${id}"]`).innerText();
  };

  it('an owner configures the source, "Sync now" completes live and lists 40 policies; search and type narrow it in the URL', async () => {
    const { context, page } = await newPage(browser, { bypassCSP: true });
    try {
      await signIn(page, base, email('owner'), TEST_PASSWORD, '/t/acme/inventory');
      await page.getByRole('heading', { name: 'Inventory' }).waitFor();
      await live(page);
      await page.getByText('No policy source is configured yet.').waitFor();
      expect(await reasonOf(page, 'Sync now')).toMatch(/Configure a policy source first/);

      await page.getByRole('button', { name: 'Configure source' }).click();
      const form = page.locator('#source-form');
      await form.getByLabel('Policies').fill('40');
      await form.getByLabel('Revision').fill('0');
      await check('inventory, configure source form open', page);
      await form.getByRole('button', { name: 'Save source' }).click();
      await form.waitFor({ state: 'detached' });
      const sourceCard = page.getByRole('region', { name: 'Policy source' });
      await expect.poll(() => sourceCard.innerText()).toMatch(/Simulated[\s\S]*40 · revision 0/);

      const sync = page.getByRole('button', { name: 'Sync now' });
      await expect.poll(() => sync.isDisabled()).toBe(false);
      await sync.click();
      const lastSync = page.getByRole('region', { name: 'Last sync' });
      await lastSync.getByRole('status').filter({ hasText: 'Run queued' }).waitFor();
      const href = await lastSync.getByRole('status').getByRole('link', { name: 'View run' }).getAttribute('href');
      expect(href).toMatch(/^\/t\/acme\/operations\/[0-9a-f-]{36}$/);
      const runId = href!.split('/').at(-1)!;
      // The run shows inline, then the list fills in when it completes — without a reload.
      await lastSync.locator(`[data-run-id="${runId}"]`).waitFor();
      await system.feed.completed(runId, 30_000);
      await lastSync.locator(`[data-run-id="${runId}"]`).getByText('Succeeded').waitFor();
      const policies = page.getByRole('region', { name: 'Policies' });
      await policies.getByText('40 policies shown').waitFor();
      expect(await policies.locator('tbody tr').count()).toBe(40);
      await lastSync.getByText(/40 policies/).waitFor();
      expect(await lastSync.getByRole('link', { name: 'View sync run' }).getAttribute('href')).toBe(href);
      expect(await page.evaluate('performance.getEntriesByType("navigation").length')).toBe(1);
      await check('inventory with policies', page);

      // `/` focuses the search; what is typed goes to the URL and the server narrows the list.
      await page.evaluate(() => (globalThis as any).document.activeElement?.blur());
      await page.keyboard.press('/');
      expect(await page.evaluate(() => (globalThis as any).document.activeElement?.id)).toBe('policy-search');
      await page.keyboard.type('compliance');
      await page.waitForURL(/[?&]q=compliance/);
      await expect.poll(async () => {
        const rows = await policies.locator('tbody tr').count();
        return rows > 0 && rows < 40;
      }).toBe(true);
      const names = await policies.locator('tbody td.name').allInnerTexts();
      expect(names.length).toBeGreaterThan(0);
      for (const name of names) expect(name.toLowerCase()).toContain('compliance');

      // A policy type from the filter: in the URL, and only that type listed.
      const select = page.getByLabel('Policy type');
      const option = (await select.locator('option').allInnerTexts()).find((text) => /^Windows 10 compliance policy/.test(text));
      expect(option).toBeTruthy();
      await select.selectOption({ label: option! });
      await page.waitForURL(/[?&]type=%23microsoft\.graph\.windows10CompliancePolicy/);
      await expect.poll(async () => [...new Set(await policies.locator('tbody td.type').allInnerTexts())]).toEqual(['Windows 10 compliance policy']);

      // The URL alone gives the same view (bookmarks, shared links).
      await page.reload();
      await policies.locator('tbody tr').first().waitFor();
      expect(await page.getByLabel('Search policies').inputValue()).toBe('compliance');
      expect(await select.inputValue()).toBe('#microsoft.graph.windows10CompliancePolicy');
    } finally {
      await context.close();
    }
  }, 90_000);

  it('drift is disabled with the reason after one sync; after a second sync with the revision moved it finds 1 added, 1 removed, 2 modified', async () => {
    const { context, page } = await newPage(browser, { bypassCSP: true });
    try {
      await signIn(page, base, email('operator'), TEST_PASSWORD, '/t/acme/drift');
      await page.getByRole('heading', { name: 'Drift', exact: true }).waitFor();
      await live(page);
      expect(await reasonOf(page, 'Generate drift')).toMatch(/two successful inventory syncs.*one so far/i);
      await page.getByText('No drift generated yet').waitFor();
      await check('drift, not possible yet', page);

      // The second sync, elsewhere: the page hears it complete and the button is enabled without a reload.
      expect(await system.env.services.sources.moveRevision(tenantId, 1)).toBe(1);
      await syncViaApi();
      const generate = page.getByRole('button', { name: 'Generate drift' });
      await expect.poll(() => generate.isDisabled(), { timeout: 10_000 }).toBe(false);

      await generate.click();
      const side = page.getByRole('region', { name: 'Generate' });
      await side.getByRole('status').filter({ hasText: 'Run queued' }).waitFor();
      const runId = (await side.getByRole('status').getByRole('link', { name: 'View run' }).getAttribute('href'))!.split('/').at(-1)!;
      await system.feed.completed(runId, 30_000);

      const findings = page.getByRole('region', { name: 'Latest findings' });
      const filters = findings.getByRole('group', { name: 'Show changes' });
      await expect.poll(() => filters.innerText(), { timeout: 10_000 }).toMatch(/All\s*4\s*Added\s*1\s*Removed\s*1\s*Modified\s*2/);
      expect(await findings.getByRole('region', { name: /Added policies/ }).locator('li').count()).toBe(1);
      expect(await findings.getByRole('region', { name: /Removed policies/ }).locator('li').count()).toBe(1);
      const modified = findings.getByRole('region', { name: /Modified policies/ });
      expect(await modified.locator('li').count()).toBe(2);

      // A modified finding opens to its field diffs: path, before → after.
      const expand = modified.getByRole('button', { expanded: false }).first();
      await expand.click();
      const diff = modified.getByRole('table', { name: /Field changes of/ }).first();
      await diff.waitFor();
      const row = diff.locator('tbody tr').first();
      const [path, before, after] = await Promise.all([row.locator('th').innerText(), row.locator('td').nth(0).innerText(), row.locator('td').nth(1).innerText()]);
      expect(path.length).toBeGreaterThan(0);
      expect(after.replace('→', '').trim()).not.toBe(before.trim());
      await check('drift with findings, a diff open', page);

      // The change filter lives in the URL; the generation can be named by ?run=.
      await filters.getByRole('button', { name: /Modified/ }).click();
      await page.waitForURL(/[?&]change=modified/);
      await expect.poll(() => findings.getByRole('region').count()).toBe(1);
      await page.goto(`${base}/t/acme/drift?run=${runId}`);
      await page.getByRole('region', { name: 'Latest findings' }).getByRole('group', { name: 'Show changes' }).waitFor();
      const generations = page.getByRole('region', { name: 'Generations' });
      await generations.getByText('Shown').waitFor();
      expect(await generations.getByRole('link', { name: `Run ${runId.slice(0, 8)}` }).getAttribute('href')).toBe(`/t/acme/operations/${runId}`);
    } finally {
      await context.close();
    }
  }, 90_000);

  it('an operator creates a backup set and adds 3 policies through the picker; they are listed with capture time and hash', async () => {
    const { context, page } = await newPage(browser, { bypassCSP: true });
    try {
      await signIn(page, base, email('operator'), TEST_PASSWORD, '/t/acme/backups');
      await live(page);
      await page.getByRole('button', { name: 'New backup set' }).click();
      const create = page.getByRole('dialog', { name: 'New backup set' });
      await create.getByLabel('Name').fill('Compliance baseline');
      await create.getByRole('button', { name: 'Create' }).click();
      await page.waitForURL(/\/t\/acme\/backups\/[0-9a-f-]{36}$/);
      await page.getByRole('heading', { name: 'Compliance baseline' }).waitFor();
      await page.getByText('No policies captured yet').waitFor();

      await page.getByRole('button', { name: 'Add policies' }).click();
      const picker = page.getByRole('dialog', { name: /Add policies to Compliance baseline/ });
      await picker.getByRole('table').locator('tbody tr').first().waitFor();
      await picker.getByLabel('Search the inventory').fill('Windows 10 compliance');
      await expect.poll(async () => {
        const names = await picker.locator('tbody label').allInnerTexts();
        return names.length >= 3 && names.every((n) => n.startsWith('Windows 10 compliance'));
      }).toBe(true);
      const boxes = picker.locator('tbody input[type="checkbox"]');
      for (let i = 0; i < 3; i++) await boxes.nth(i).check();
      await picker.getByRole('status').getByText(/^3 chosen · 1–500 per run$/).waitFor();
      const chosen = await Promise.all([0, 1, 2].map((i) => picker.locator('tbody tr').nth(i).locator('label').innerText()));
      await check('backup set, policy picker with 3 chosen', page);
      await picker.getByRole('button', { name: 'Add 3 policies' }).click();
      await picker.waitFor({ state: 'detached' });

      await page.getByRole('status').filter({ hasText: 'Run queued' }).waitFor();
      const href = await page.getByRole('status').getByRole('link', { name: 'View run' }).getAttribute('href');
      await system.feed.completed(href!.split('/').at(-1)!, 30_000);
      const items = page.getByRole('region', { name: 'Captured policies' });
      await expect.poll(() => items.locator('tbody tr').count(), { timeout: 10_000 }).toBe(3);
      expect((await items.locator('tbody .name').allInnerTexts()).toSorted()).toEqual(chosen.toSorted());
      for (const hash of await items.locator('tbody code.hash').allInnerTexts()) expect(hash).toMatch(/^[0-9a-f]{12}$/);
      await page.getByText(/^3 policies/).waitFor();
    } finally {
      await context.close();
    }
  }, 90_000);

  it('a manager restores a set: the preview lists actions with field diffs, execute names the count, progress completes with results', async () => {
    const { context, page } = await newPage(browser, { bypassCSP: true });
    try {
      // A set of every policy at revision 1, then the source moves on and is synced: one policy is gone
      // (create), two changed (update), the rest unchanged.
      await signIn(page, base, email('manager'), TEST_PASSWORD, '/t/acme/backups');
      await live(page);
      await page.getByRole('button', { name: 'New backup set' }).click();
      await page.getByRole('dialog', { name: 'New backup set' }).getByLabel('Name').fill('Everything');
      await page.getByRole('dialog', { name: 'New backup set' }).getByRole('button', { name: 'Create' }).click();
      await page.getByRole('heading', { name: 'Everything' }).waitFor();
      await page.getByRole('button', { name: 'Add policies' }).click();
      const picker = page.getByRole('dialog', { name: /Add policies to Everything/ });
      await picker.locator('tbody tr').nth(39).waitFor();
      await picker.getByRole('checkbox', { name: 'Select all 40 shown' }).check();
      await picker.getByRole('button', { name: 'Add 40 policies' }).click();
      const href = await page.getByRole('status').getByRole('link', { name: 'View run' }).getAttribute('href');
      await system.feed.completed(href!.split('/').at(-1)!, 30_000);
      const items = page.getByRole('region', { name: 'Captured policies' });
      await expect.poll(() => items.locator('tbody tr').count(), { timeout: 10_000 }).toBe(40);
      await check('backup set with 40 policies', page);

      expect(await system.env.services.sources.moveRevision(tenantId, 1)).toBe(2);
      await syncViaApi();

      await page.getByRole('button', { name: 'Restore…' }).click();
      const choose = page.getByRole('dialog', { name: 'Restore from Everything' });
      await choose.getByLabel(/All 40 policies/).check();
      await choose.getByRole('button', { name: 'Create restore' }).click();
      await page.waitForURL(/\/t\/acme\/restores\/[0-9a-f-]{36}$/);
      const stepper = page.getByRole('list', { name: /Restore status/ });
      await stepper.locator('[aria-current="step"]').getByText('Draft').waitFor();

      await page.getByRole('button', { name: 'Preview', exact: true }).click();
      await stepper.locator('[aria-current="step"]').getByText('Previewed').waitFor();
      const preview = page.getByRole('region', { name: 'Preview' });
      await expect.poll(() => preview.innerText()).toMatch(/1 create · 2 update · 37 unchanged/);
      expect(await preview.getByRole('region', { name: /^Create/ }).locator('li').count()).toBe(1);
      const updates = preview.getByRole('region', { name: /^Update/ });
      expect(await updates.locator(':scope > ul > li').count()).toBe(2);
      const unchanged = preview.getByRole('region', { name: /^Unchanged/ });
      expect(await unchanged.getByRole('listitem').count()).toBe(0);
      await unchanged.getByRole('button', { name: 'Show 37 unchanged' }).click();
      expect(await unchanged.getByRole('listitem').count()).toBe(37);
      await updates.getByRole('button', { expanded: false }).first().click();
      await updates.getByRole('table', { name: /Fields a restore of/ }).first().waitFor();
      await check('restore preview, a diff open', page);

      await page.getByRole('button', { name: 'Execute…' }).click();
      const confirm = page.getByRole('dialog', { name: 'Execute this restore?' });
      await confirm.getByText('Restore 3 policies: 1 created, 2 updated. 37 unchanged are skipped.').waitFor();
      await check('restore, execute confirmation', page);
      await confirm.getByRole('button', { name: 'Restore 3 policies' }).click();
      await confirm.waitFor({ state: 'detached' });

      const actions = page.getByRole('region', { name: 'Actions' });
      await actions.locator('[data-run-id]').waitFor();
      await stepper.locator('[aria-current="step"]').getByText('Completed').waitFor({ timeout: 30_000 });
      const results = page.getByRole('region', { name: 'Results' });
      await expect.poll(() => results.innerText(), { timeout: 10_000 }).toMatch(/3 applied\s*0 failed\s*37 skipped/);
      expect(await results.getByRole('region', { name: /^Update/ }).getByText('Applied').count()).toBe(2);
      await actions.locator('[data-run-id]').getByText('Succeeded').waitFor();
      await check('restore completed', page);
    } finally {
      await context.close();
    }
  }, 120_000);

  it('a readonly member sees every control disabled with the reason', async () => {
    const manager = await login(base, email('manager'));
    const sets = await call(base, 'GET', '/api/tenants/acme/backup-sets', { token: manager });
    const set = sets.body.backupSets.find((s: { name: string }) => s.name === 'Compliance baseline');
    const restore = await call(base, 'POST', '/api/tenants/acme/restores', { token: manager, body: { backupSetId: set.id } });
    expect(restore.status).toBe(201);

    const { context, page } = await newPage(browser, { bypassCSP: true });
    try {
      await signIn(page, base, email('readonly'), TEST_PASSWORD, '/t/acme/inventory');
      await page.getByRole('region', { name: 'Policies' }).locator('tbody tr').first().waitFor();
      expect(await reasonOf(page, 'Sync now')).toMatch(/needs the operator role/i);
      expect(await page.getByRole('button', { name: 'Configure source' }).count()).toBe(0);
      await check('inventory, readonly', page);

      await page.goto(`${base}/t/acme/drift`);
      expect(await reasonOf(page, 'Generate drift')).toMatch(/needs the operator role/i);

      await page.goto(`${base}/t/acme/backups`);
      expect(await reasonOf(page, 'New backup set')).toMatch(/needs the operator role/i);
      await page.getByRole('link', { name: 'Compliance baseline', exact: true }).click();
      await page.getByRole('heading', { name: 'Compliance baseline' }).waitFor();
      expect(await reasonOf(page, 'Add policies')).toMatch(/needs the operator role/i);
      expect(await reasonOf(page, 'Restore…')).toMatch(/needs the manager role/i);
      // Nothing to choose for a restore the member may not make.
      expect(await page.getByRole('region', { name: 'Captured policies' }).getByRole('checkbox').count()).toBe(0);

      await page.goto(`${base}/t/acme/restores/${restore.body.restore.id}`);
      for (const name of ['Preview', 'Discard…']) expect(await reasonOf(page, name)).toMatch(/needs the manager role/i);
      await check('restore draft, readonly', page);

      // The operation types point at the feature pages that start their types.
      await page.goto(`${base}/t/acme/operation-types`);
      const reason = await reasonOf(page, 'Start Inventory sync…');
      expect(reason).toMatch(/needs the operator role.*started from Inventory/i);
      expect(await page.locator(`[id="reason-inventory-sync"]`).getByRole('link', { name: 'Inventory' }).getAttribute('href')).toBe('/t/acme/inventory');
    } finally {
      await context.close();
    }
  }, 60_000);

  it('a sync that completes while the page is cut off shows once the live channel is back (re-read on reconnect)', async () => {
    const { context, page } = await newPage(browser);
    try {
      const gate = await LiveGate.on(context);
      gate.release();
      await signIn(page, base, email('operator'), TEST_PASSWORD, '/t/acme/inventory');
      await live(page);
      const link = page.getByRole('region', { name: 'Last sync' }).getByRole('link', { name: 'View sync run' });
      const before = await link.getAttribute('href');
      await gate.cut();
      await page.getByRole('banner').getByRole('status').getByText('Reconnecting', { exact: true }).waitFor();
      const token = await login(base, email('operator'));
      const started = await call(base, 'POST', '/api/tenants/acme/runs', { token, body: { type: 'inventory.sync', scope: {} } });
      await system.feed.completed(started.body.run.id, 30_000);
      expect(await link.getAttribute('href')).toBe(before);
      gate.release();
      await live(page);
      await expect.poll(() => link.getAttribute('href'), { timeout: 10_000 }).toBe(`/t/acme/operations/${started.body.run.id}`);
    } finally {
      await context.close();
    }
  }, 60_000);

  it('operation types link to their start surfaces; a restore run’s related links open its pages', async () => {
    const { context, page } = await newPage(browser);
    try {
      await signIn(page, base, email('manager'), TEST_PASSWORD, '/t/acme/operation-types');
      expect(await page.getByRole('link', { name: 'Start from Inventory' }).getAttribute('href')).toBe('/t/acme/inventory');
      expect(await page.getByRole('link', { name: 'Start from Drift' }).getAttribute('href')).toBe('/t/acme/drift');
      expect(await page.getByRole('link', { name: 'Start from Backups' }).getAttribute('href')).toBe('/t/acme/backups');
      expect(await reasonOf(page, 'Start Restore…')).toMatch(/Started from Backups, not from here/);

      const manager = await login(base, email('manager'));
      const restores = await call(base, 'GET', '/api/tenants/acme/restores', { token: manager });
      const done = restores.body.restores.find((r: { status: string }) => r.status === 'completed');
      await page.goto(`${base}/t/acme/operations/${done.runId}`);
      const related = page.getByRole('region', { name: 'Related' });
      await related.getByRole('link', { name: /Restore/ }).click();
      await page.waitForURL(`${base}/t/acme/restores/${done.id}`);
      await page.getByRole('heading', { name: 'Restore from Everything' }).waitFor();
      await page.getByRole('link', { name: 'Backup set Everything' }).first().click();
      await page.getByRole('heading', { name: 'Everything' }).waitFor();
      // The header marks the section the page belongs to.
      expect(await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Backups' }).getAttribute('aria-current')).toBe('page');
    } finally {
      await context.close();
    }
    expect(found, `axe-core found ${found.length} violation(s):\n${found.join('\n')}`).toEqual([]);
  }, 60_000);
});
