import type { BrowserContext, Browser, Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { author } from '../../db/runs/model.ts';
import { call, login, startSystem, type System } from '../helpers/app.ts';
import { audit, describeViolations } from '../helpers/axe.ts';
import { launchBrowser, LiveGate, newPage, signIn } from '../helpers/browser.ts';
import { issueSession } from '../helpers/sessions.ts';
import { TEST_PASSWORD } from '../helpers/stack.ts';

// Many tenants on one screen (docs/api.md §12) as people use it: /overview for a member of two tenants, and
// /wall for a kiosk token bound to three — the grid, `?tenants=`, `?rotate=`, alerts and a lost connection —
// in Debian's Chromium against the real server, PostgreSQL and Redis. No worker: each test moves its runs
// through the lifecycle itself, so it decides when and how they end.
describe('the overview and the multi-tenant wall in a real browser', () => {
  let system: System;
  let browser: Browser;
  let base: string;
  let kiosk: string;
  const found: string[] = [];
  const BY = author('system', 'e2e');

  const email = (tenant: string, role: 'owner' | 'manager' | 'operator' | 'readonly') => system.tenants[tenant]!.users[role].email;

  beforeAll(async () => {
    system = await startSystem({ tenants: ['acme', 'globex', 'initech'], worker: false });
    base = system.app.baseUrl;
    browser = await launchBrowser();
    const { tenants } = system.env.services;
    // globex's operator also reads acme (two tenants on /overview); acme's owner manages all three (one kiosk token).
    await tenants.addMember('acme', email('globex', 'operator'), 'readonly');
    await tenants.addMember('globex', email('acme', 'owner'), 'manager');
    await tenants.addMember('initech', email('acme', 'owner'), 'manager');
    const owner = await login(base, email('acme', 'owner'));
    const created = await call(base, 'POST', '/api/kiosk-tokens', { token: owner, body: { label: 'e2e NOC', tenants: ['acme', 'globex', 'initech'] } });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    kiosk = created.body.token;
  });

  afterAll(async () => {
    await browser?.close();
    await system?.stop();
  });

  const check = async (where: string, page: Page) => void found.push(...describeViolations(where, await audit(page)));
  const tile = (page: Page, tenant: string) => page.locator(`[data-testid="tenant-tile"][data-tenant="${tenant}"]`);
  const count = async (of: Locator, bucket: string) => Number((await of.getByTestId(`count-${bucket}`).innerText()).replace(/\D/g, ''));
  /** The live state in the page's own header (the shell's, or a wall's). */
  const liveIn = (page: Page) => page.getByRole('banner').getByRole('status').filter({ hasText: /^\s*Live/ }).first().waitFor({ timeout: 15_000 });
  /** A queued demo run, started by the tenant's operator over HTTP; the test moves it on. */
  const queue = async (tenant: string, key: string): Promise<string> => {
    const token = await issueSession(system.env, { email: email(tenant, 'operator') });
    const answer = await call(base, 'POST', `/api/tenants/${tenant}/runs`, { token, body: { type: 'demo.batch', scope: { items: 4, key } } });
    expect(answer.status, JSON.stringify(answer.body)).toBe(202);
    return answer.body.run.id as string;
  };
  const failures = (n: number) => Array.from({ length: n }, (_, i) => ({ code: 'upstream_unavailable', message: `Item ${i} failed.` }));
  /** A run that starts and ends at once: `failed` (nothing succeeded) or `partially_succeeded`. */
  const endRun = async (tenant: string, key: string, outcome: 'failed' | 'partially_succeeded') => {
    const id = await queue(tenant, key);
    const { lifecycle } = system.env.services;
    await lifecycle.markStarted(id, BY);
    const succeeded = outcome === 'failed' ? 0 : 2;
    await lifecycle.complete(id, { total: 4, succeeded, failed: 4 - succeeded, failures: failures(4 - succeeded) }, BY);
    return id;
  };
  /** Counts the oscillators the page starts (the tone of `?sound=1`). */
  const countTones = (context: BrowserContext) =>
    context.addInitScript(() => {
      const win = globalThis as any;
      win.__tones = 0;
      const start = win.OscillatorNode.prototype.start;
      win.OscillatorNode.prototype.start = function (...args: unknown[]) {
        win.__tones += 1;
        return start.apply(this, args);
      };
    });
  const tones = (page: Page) => page.evaluate(() => (globalThis as any).__tones as number);

  it('the overview shows each of a member’s tenants, updates them live, and opens the wall of them', async () => {
    const { context, page } = await newPage(browser, { bypassCSP: true });
    try {
      await signIn(page, base, email('globex', 'operator'), TEST_PASSWORD, '/overview');
      await page.getByRole('heading', { name: 'Overview', level: 1 }).waitFor();
      const overview = page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Overview' });
      expect(await overview.getAttribute('aria-current')).toBe('page');
      const tiles = page.getByTestId('tenant-tile');
      await expect.poll(() => tiles.locator('h2').allInnerTexts()).toEqual(['acme Corp', 'globex Corp']);
      await liveIn(page);
      const globex = tile(page, 'globex');
      expect(await globex.getByRole('link', { name: /^Board/ }).getAttribute('href')).toBe('/t/globex/operations');
      await expect.poll(() => globex.getByTestId('tile-age').innerText()).toMatch(/^updated (just now|\d+ s ago)$/);

      // A run queued, started, moving and ending partly failed: the tile follows each step without a reload.
      const id = await queue('globex', 'overview');
      await expect.poll(() => count(globex, 'queued')).toBe(1);
      const { lifecycle } = system.env.services;
      await lifecycle.markStarted(id, BY);
      const row = globex.locator(`[data-run-id="${id}"]`);
      await row.getByRole('progressbar').waitFor();
      expect(await count(globex, 'running')).toBe(1);
      expect(await count(globex, 'queued')).toBe(0);
      await lifecycle.progress(id, { total: 4, succeeded: 2 }, BY);
      await expect.poll(() => row.innerText()).toMatch(/50%/);
      await lifecycle.complete(id, { failed: 2, failures: failures(2) }, BY);
      await expect.poll(() => count(globex, 'partially_succeeded')).toBe(1);
      expect(await count(globex, 'running')).toBe(0);
      expect(await globex.getByRole('link', { name: 'Demo batch' }).getAttribute('href')).toBe(`/t/globex/operations/${id}`);
      // Its failures change the tenant's top reasons (re-read about a second after the run ended).
      await globex.getByTestId('reason-upstream_unavailable').waitFor();
      expect(await count(tile(page, 'acme'), 'partially_succeeded')).toBe(0);
      expect(await page.evaluate('performance.getEntriesByType("navigation").length')).toBe(1);
      await check('overview', page);

      // The wall of the same tenants, signed in: a way back instead of a kiosk's nothing.
      await page.getByRole('link', { name: 'Open wall' }).click();
      await page.waitForURL(`${base}/wall`);
      await expect.poll(() => tiles.locator('h2').allInnerTexts()).toEqual(['acme Corp', 'globex Corp']);
      expect(await page.getByRole('link', { name: 'Leave wall' }).getAttribute('href')).toBe('/overview');
    } finally {
      await context.close();
    }
  });

  it('the wall grid opens with a kiosk token bound to several tenants; ?tenants= narrows and orders it', async () => {
    const { context, page } = await newPage(browser, { viewport: { width: 1920, height: 1080 }, bypassCSP: true });
    try {
      await page.goto(`${base}/wall?kiosk=${kiosk}`);
      const names = page.getByTestId('tenant-tile').locator('h2');
      await expect.poll(() => names.allInnerTexts()).toEqual(['acme Corp', 'globex Corp', 'initech Corp']);
      expect(await page.getByLabel(/password/i).count()).toBe(0);
      await liveIn(page);
      await check('wall grid', page);

      // Narrowed, and in the order named (a wall's arrangement is chosen by who sets it up).
      await page.goto(`${base}/wall?kiosk=${kiosk}&tenants=initech,globex`);
      await expect.poll(() => names.allInnerTexts()).toEqual(['initech Corp', 'globex Corp']);
      expect(new URL(page.url()).pathname).toBe('/wall');
      // Side by side: one row of two tiles on a landscape screen.
      const boxes = await Promise.all(['initech', 'globex'].map((t) => tile(page, t).boundingBox()));
      expect(boxes[0]!.y).toBe(boxes[1]!.y);
      expect(boxes[0]!.x).toBeLessThan(boxes[1]!.x);
    } finally {
      await context.close();
    }
  });

  it('?rotate=2 cycles full-screen tenant walls in the order ?tenants= names them, and turns to a tenant with a new failure', async () => {
    const { context, page } = await newPage(browser, { viewport: { width: 1920, height: 1080 }, bypassCSP: true });
    try {
      await page.goto(`${base}/wall?kiosk=${kiosk}&tenants=globex,acme&rotate=2`);
      const strip = page.getByRole('navigation', { name: 'Tenants' }).getByRole('listitem');
      await expect.poll(() => strip.allInnerTexts()).toEqual(['globex Corp', 'acme Corp']);
      const name = page.getByTestId('wall-tenant').filter({ visible: true });
      await name.waitFor();
      const first = await name.innerText();
      expect(['globex Corp', 'acme Corp']).toContain(first);
      const second = first === 'globex Corp' ? 'acme Corp' : 'globex Corp';
      await expect.poll(() => name.innerText(), { timeout: 10_000 }).toBe(second);
      await page.getByRole('heading', { name: /Running now/ }).filter({ visible: true }).waitFor();
      await check('wall, rotating', page);
      await expect.poll(() => name.innerText(), { timeout: 10_000 }).toBe(first);
      // Exactly one wall is on screen at a time (the next one waits hidden, already read).
      expect(await name.count()).toBe(1);

      // A failure turns the rotation to its tenant at once (long before its turn), with the alert above the
      // wall until acknowledged.
      await page.goto(`${base}/wall?kiosk=${kiosk}&tenants=globex,acme&rotate=600`);
      await expect.poll(() => name.innerText()).toBe('globex Corp');
      await liveIn(page);
      const failed = await endRun('acme', 'rotate-alert', 'failed');
      const bar = page.getByTestId('rotate-alert');
      await bar.and(page.locator(`[data-run-id="${failed}"]`)).waitFor();
      await expect.poll(() => name.innerText()).toBe('acme Corp');
      expect(await strip.filter({ hasText: 'acme Corp' }).getAttribute('class')).toMatch(/\balerting\b/);
      await check('wall, rotating, an alert', page);
      await bar.getByRole('button', { name: 'Acknowledge' }).click();
      await bar.waitFor({ state: 'detached' });
    } finally {
      await context.close();
    }
  });

  it('a run that newly ends failed highlights its tile until a click or Space acknowledges it; a reconnect raises nothing again', async () => {
    const { context, page } = await newPage(browser, { viewport: { width: 1920, height: 1080 }, bypassCSP: true });
    try {
      const gate = await LiveGate.on(context);
      gate.release();
      await countTones(context);
      await page.goto(`${base}/wall?kiosk=${kiosk}&sound=1`);
      await expect.poll(() => page.getByTestId('tenant-tile').count()).toBe(3);
      await liveIn(page);
      const globex = tile(page, 'globex');
      const initech = tile(page, 'initech');

      const failed = await endRun('globex', 'alert-1', 'failed');
      const alert = globex.getByTestId('tile-alert');
      await alert.waitFor();
      expect(await alert.getAttribute('data-run-id')).toBe(failed);
      expect(await alert.innerText()).toMatch(/Demo batch\s+failed/);
      expect(await tones(page)).toBe(1);
      await check('wall, an alert', page);

      // Partial success alerts only with ?alert=partial.
      const before = await count(initech, 'partially_succeeded');
      await endRun('initech', 'partial-1', 'partially_succeeded');
      await expect.poll(() => count(initech, 'partially_succeeded')).toBe(before + 1);
      expect(await initech.getByTestId('tile-alert').count()).toBe(0);

      await globex.click({ position: { x: 20, y: 20 } });
      await alert.waitFor({ state: 'detached' });

      // A second failure within the minute: highlighted, no second tone; Space acknowledges it.
      const again = await endRun('initech', 'alert-2', 'failed');
      await initech.getByTestId('tile-alert').and(page.locator(`[data-run-id="${again}"]`)).waitFor();
      expect(await tones(page)).toBe(1);
      await page.keyboard.press('Space');
      await initech.getByTestId('tile-alert').waitFor({ state: 'detached' });

      // The connection drops and comes back: the re-read shows both failures, and neither alerts again.
      await gate.cut();
      await page.getByRole('banner').getByRole('status').filter({ hasText: /Reconnecting|Offline/ }).waitFor();
      const reread = page.waitForResponse((r) => r.url().includes('/api/overview') && r.status() === 200);
      gate.release();
      await reread;
      await liveIn(page);
      await expect.poll(() => globex.locator(`[data-run-id="${failed}"]`).count()).toBe(1);
      await expect.poll(() => initech.locator(`[data-run-id="${again}"]`).count()).toBe(1);
      expect(await page.getByTestId('tile-alert').count()).toBe(0);

      // With ?alert=partial, a partially succeeded run alerts too.
      await page.goto(`${base}/wall?kiosk=${kiosk}&alert=partial&tenants=acme`);
      await liveIn(page);
      await page.getByTestId('tenant-tile').waitFor();
      const partial = await endRun('acme', 'partial-2', 'partially_succeeded');
      await tile(page, 'acme').getByTestId('tile-alert').and(page.locator(`[data-run-id="${partial}"]`)).waitFor();
    } finally {
      await context.close();
    }
  });

  it('a tile goes stale, dimmed and saying so, while the live channel is down, and recovers', async () => {
    const { context, page } = await newPage(browser, { viewport: { width: 1080, height: 1920 }, bypassCSP: true });
    try {
      const gate = await LiveGate.on(context);
      await page.goto(`${base}/wall?kiosk=${kiosk}&tenants=acme,globex`);
      await expect.poll(() => page.getByTestId('tenant-tile').count()).toBe(2);
      // The first connection, however long, is no loss: nothing is stale yet.
      gate.release();
      await liveIn(page);
      const age = tile(page, 'acme').getByTestId('tile-age');
      expect(await age.innerText()).toMatch(/^updated /);

      await gate.cut();
      await expect.poll(() => age.innerText(), { timeout: 15_000 }).toMatch(/^Live data lost — last update \d+ s ago$/);
      expect(await tile(page, 'acme').getAttribute('class')).toMatch(/\bstale\b/);
      expect(await tile(page, 'globex').getByTestId('tile-age').innerText()).toMatch(/^Live data lost/);
      await page.getByRole('alert').filter({ hasText: /LIVE UPDATES LOST/ }).waitFor();
      await check('wall, live data lost (portrait)', page);

      gate.release();
      await expect.poll(() => age.innerText(), { timeout: 20_000 }).toMatch(/^updated /);
      expect(await tile(page, 'acme').getAttribute('class')).not.toMatch(/\bstale\b/);
    } finally {
      await context.close();
    }
  });

  it('a tile whose tenant’s subscription is refused goes stale on its own, says so, and recovers on the retry', async () => {
    const { context, page } = await newPage(browser, { viewport: { width: 1920, height: 1080 } });
    try {
      const gate = await LiveGate.on(context);
      gate.refuse('globex', 'unavailable');
      gate.release();
      await page.goto(`${base}/wall?kiosk=${kiosk}&tenants=acme,globex`);
      await expect.poll(() => page.getByTestId('tenant-tile').count()).toBe(2);
      await liveIn(page);
      // Only globex is refused: its tile is stale and names the refusal to a screen reader; acme stays live.
      const globex = tile(page, 'globex');
      await expect.poll(() => globex.getAttribute('class')).toMatch(/\bstale\b/);
      expect(await globex.getByTestId('tile-age').innerText()).toMatch(/^Live data lost — last update /);
      expect(await globex.getByTestId('tile-age').textContent()).toMatch(/live updates refused: unavailable/);
      expect(await tile(page, 'acme').getAttribute('class')).not.toMatch(/\bstale\b/);
      expect(await tile(page, 'acme').getByTestId('tile-age').innerText()).toMatch(/^updated /);

      // The page retries a refusal that may pass (5 s later); once the gateway answers, the tile is live again
      // and a run ending in globex reaches it.
      gate.allow('globex');
      await expect.poll(() => globex.getAttribute('class'), { timeout: 15_000 }).not.toMatch(/\bstale\b/);
      const ended = await endRun('globex', 'after-refusal', 'failed');
      await globex.locator(`[data-run-id="${ended}"]`).first().waitFor();
    } finally {
      await context.close();
    }
  });

  it('the overview and both kinds of wall run under the dashboard’s CSP without a violation', async () => {
    const { context, page } = await newPage(browser, { viewport: { width: 1920, height: 1080 } });
    const reports: string[] = [];
    await context.exposeBinding('__policyViolation', (_source, text: string) => void reports.push(text));
    // Runs in the page (as text: the tests are compiled without the DOM's types).
    await context.addInitScript({
      content: `document.addEventListener('securitypolicyviolation', (e) => window.__policyViolation(location.pathname + ': ' + e.effectiveDirective + ' blocked ' + (e.blockedURI || '(inline)')));`,
    });
    context.on('console', (message) => {
      if (/content security policy|refused to (load|execute|apply|connect)/i.test(message.text())) reports.push(message.text());
    });
    try {
      // The grid sets its columns, rows and burn-in offset through `style:` directives, never a style attribute.
      await page.goto(`${base}/wall?kiosk=${kiosk}`);
      await expect.poll(() => page.getByTestId('tenant-tile').count()).toBe(3);
      await liveIn(page);
      expect(await page.getByTestId('wall-drift').getAttribute('style')).toMatch(/transform: translate/);
      await page.goto(`${base}/wall?kiosk=${kiosk}&rotate=2`);
      await page.getByRole('heading', { name: /Running now/ }).filter({ visible: true }).waitFor();
      await signIn(page, base, email('globex', 'operator'), TEST_PASSWORD, '/overview');
      await expect.poll(() => page.getByTestId('tenant-tile').count()).toBe(2);
      await liveIn(page);
      expect(reports).toEqual([]);
    } finally {
      await context.close();
    }
  });

  it('every screen above passes axe-core’s WCAG 2 A and AA rules', () => {
    expect(found, `axe-core found ${found.length} violation(s):\n${found.join('\n')}`).toEqual([]);
  });
});
