import { createHmac, timingSafeEqual } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { author } from '../../db/runs/model.ts';
import { startWebhookSender, type WebhookSender } from '../../worker/webhooks.ts';
import { call, login, ROOT, startSystem, type System } from '../helpers/app.ts';
import { audit, describeViolations } from '../helpers/axe.ts';
import { launchBrowser, newPage, signIn } from '../helpers/browser.ts';
import { TEST_PASSWORD } from '../helpers/stack.ts';
import { WebhookReceiver } from '../helpers/webhook-receiver.ts';

// The Webhooks page (docs/api.md §6, §13) as an owner uses it, against the real server and a receiver on a loopback
// port: the sender runs in this process and runs are moved by the lifecycle, so each test decides what happens.
// The tests build on each other (the first webhook stays). RUNBOARD_SCREENSHOTS=1 also writes
// docs/screenshots/webhooks.png.

const KEY = Buffer.alloc(32, 11).toString('base64');
const TEST_AUTHOR = author('system', 'test');

/** Reports of anything the page's Content-Security-Policy blocked (the listener itself is outside the policy). */
async function watchPolicy(context: BrowserContext): Promise<string[]> {
  const reports: string[] = [];
  await context.exposeBinding('__reportViolation', (_source, text: string) => void reports.push(text));
  await context.addInitScript({
    content: `document.addEventListener('securitypolicyviolation', (e) => window.__reportViolation(e.effectiveDirective + ' ' + (e.blockedURI || 'inline')));`,
  });
  return reports;
}

describe('the Webhooks page in a real browser', () => {
  let system: System;
  let browser: Browser;
  let base: string;
  let sender: WebhookSender;
  let receiver: WebhookReceiver;
  let failing: WebhookReceiver;
  let ownerToken: string;
  const found: string[] = [];

  beforeAll(async () => {
    system = await startSystem({ tenants: ['acme'], worker: false, env: { SOURCE_CREDENTIALS_KEY: KEY, ALLOW_PRIVATE_TARGETS: 'true' } });
    base = system.app.baseUrl;
    sender = await startWebhookSender(system.env.services);
    receiver = await WebhookReceiver.start();
    failing = await WebhookReceiver.start();
    failing.answer = () => ({ status: 503 });
    ownerToken = await login(base, email('owner'));
    browser = await launchBrowser();
  });

  afterAll(async () => {
    await browser?.close();
    await sender?.close();
    await receiver?.close();
    await failing?.close();
    await system?.stop();
  });

  const email = (role: 'owner' | 'operator') => system.tenants.acme!.users[role].email;
  const check = async (where: string, page: Page) => void found.push(...describeViolations(where, await audit(page)));
  const nav = (page: Page) => page.getByRole('navigation', { name: 'Main' });
  /** A demo run started over HTTP and completed by the lifecycle with these counts. */
  const completeRun = async (counts: { succeeded: number; failed: number }, key: string) => {
    const started = await call(base, 'POST', '/api/tenants/acme/runs', { token: ownerToken, body: { type: 'demo.batch', scope: { items: 2, key } } });
    expect(started.status).toBe(202);
    const runId = started.body.run.id as string;
    const { lifecycle } = system.env.services;
    await lifecycle.markStarted(runId, TEST_AUTHOR);
    const failures = Array.from({ length: counts.failed }, (_, i) => ({ code: 'item_failed', message: `Item ${i} failed.` }));
    await lifecycle.complete(runId, { total: 2, ...counts, failures }, TEST_AUTHOR);
    return runId;
  };

  it('an owner creates a webhook, sees its secret once, and watches a completed run delivered with 200', async () => {
    const { context, page } = await newPage(browser);
    const violations = await watchPolicy(context);
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: base });
    try {
      await signIn(page, base, email('owner'), TEST_PASSWORD, '/t/acme/operations');
      await nav(page).getByRole('link', { name: 'Webhooks' }).click();
      await page.waitForURL(/\/t\/acme\/webhooks$/);
      await page.getByRole('heading', { name: 'Webhooks', level: 1 }).waitFor();
      expect(await nav(page).getByRole('link', { name: 'Webhooks' }).getAttribute('aria-current')).toBe('page');
      await page.getByText('No webhooks yet').waitFor();

      // The form: focus starts at the URL; one type, one outcome.
      await page.getByRole('button', { name: 'New webhook' }).click();
      const dialog = page.getByRole('dialog', { name: 'New webhook' });
      const url = dialog.getByRole('textbox', { name: 'URL' });
      await expect.poll(() => url.evaluate((el) => el === (el.ownerDocument as any).activeElement)).toBe(true);
      await url.fill(`${receiver.url}/hooks/runboard`);
      const events = dialog.getByRole('group', { name: 'Events' });
      expect(await events.getByRole('checkbox', { name: /run\.completed/ }).isChecked()).toBe(true);
      const outcomes = dialog.getByRole('group', { name: 'Outcomes of run.completed' });
      // Outcomes narrow run.completed only: unchecked, they cannot be chosen.
      await events.getByRole('checkbox', { name: /run\.completed/ }).uncheck();
      expect(await outcomes.getByRole('checkbox', { name: 'Succeeded', exact: true }).isDisabled()).toBe(true);
      await events.getByRole('checkbox', { name: /run\.completed/ }).check();
      await outcomes.getByRole('checkbox', { name: 'Succeeded', exact: true }).check();
      await dialog.getByRole('group', { name: 'Operation types' }).getByRole('checkbox', { name: /Demo batch/ }).check();
      await dialog.getByRole('radio', { name: /JSON, signed/ }).check();
      await dialog.getByRole('button', { name: 'Create webhook' }).click();
      await dialog.waitFor({ state: 'detached' });

      // The secret, once, in a panel that has the focus; Copy puts exactly it on the clipboard.
      const panel = page.getByRole('region', { name: 'Store the signing secret now' });
      await panel.waitFor();
      await expect.poll(() => page.evaluate(() => (globalThis as any).document.activeElement?.textContent?.trim())).toBe('Store the signing secret now');
      const secret = await panel.getByLabel('Signing secret').inputValue();
      expect(secret).toMatch(/^whsec_[A-Za-z0-9_-]{43}$/);
      await panel.getByText('Runboard-Signature: t=…,v1=…').waitFor();
      expect(await panel.getByRole('link', { name: /API reference/ }).getAttribute('href')).toBe('/api/docs');
      await panel.getByRole('button', { name: 'Copy' }).click();
      await panel.getByRole('status').filter({ hasText: 'Copied to the clipboard.' }).waitFor();
      expect(await page.evaluate(() => (globalThis as any).navigator.clipboard.readText())).toBe(secret);

      const hook = page.getByRole('listitem', { name: `${receiver.url}/hooks/runboard` });
      await hook.getByText('No deliveries yet').waitFor();
      const facts = await hook.locator('dl').innerText();
      expect(facts).toMatch(/Events\s+run\.completed/);
      expect(facts).toMatch(/Types\s+Demo batch/);
      expect(facts).toMatch(/Outcomes\s+Succeeded/);
      expect(facts).toMatch(/Format\s+JSON, signed/);
      expect(facts).toMatch(/by owner of acme/);

      await panel.getByRole('button', { name: 'I have stored it' }).click();
      await panel.waitFor({ state: 'detached' });
      await expect.poll(() => page.evaluate(() => (globalThis as any).document.activeElement?.textContent?.trim())).toBe('New webhook');

      // The log is open before the run completes: the delivery shows up by itself (the 5 s re-read).
      const toggle = hook.getByRole('button', { name: 'Deliveries' });
      await toggle.click();
      expect(await toggle.getAttribute('aria-expanded')).toBe('true');
      const log = page.locator(`[id="${await toggle.getAttribute('aria-controls')}"]`);
      await log.getByText('No deliveries yet').waitFor();
      const runId = await completeRun({ succeeded: 2, failed: 0 }, 'webhooks-page');

      // The receiver verifies it with the secret the page showed.
      const [got] = await receiver.next(1);
      const { t, v1 } = Object.fromEntries(String(got!.headers['runboard-signature']).split(',').map((part) => part.split('='))) as { t: string; v1: string };
      expect(timingSafeEqual(Buffer.from(v1, 'hex'), createHmac('sha256', secret).update(`${t}.${got!.raw}`).digest())).toBe(true);

      const row = log.locator('tbody tr').first();
      await row.getByText('Succeeded').waitFor({ timeout: 15_000 });
      const cells = await row.locator('td').allInnerTexts();
      expect(cells[1]).toBe('run.completed');
      expect(cells[2]).toBe(runId.slice(0, 8));
      expect(cells[4]).toBe('200');
      expect(cells[5]).toBe('1');
      expect(await row.getByRole('link', { name: `Run ${runId.slice(0, 8)}` }).getAttribute('href')).toBe(`/t/acme/operations/${runId}`);
      // The webhook's health is read with its log.
      await hook.getByText('Healthy').waitFor();

      await toggle.click();
      await log.waitFor({ state: 'detached' });

      // Never again: not after a reload, not in the URL or the browser's storage.
      await page.reload();
      await hook.waitFor();
      expect(await page.getByRole('region', { name: 'Store the signing secret now' }).count()).toBe(0);
      expect(await page.content()).not.toContain(secret);
      expect(page.url()).not.toContain(secret);
      const stored = await page.evaluate(() => {
        const win = globalThis as any;
        return JSON.stringify([{ ...win.localStorage }, { ...win.sessionStorage }]);
      });
      expect(stored).not.toContain(secret);
      expect(violations).toEqual([]);
    } finally {
      await context.close();
    }
  }, 60_000);

  it('shows a refused URL at the URL field, and keeps the dialog open', async () => {
    const { context, page } = await newPage(browser, { bypassCSP: true });
    try {
      await signIn(page, base, email('owner'), TEST_PASSWORD, '/t/acme/webhooks');
      await page.getByRole('listitem', { name: `${receiver.url}/hooks/runboard` }).waitFor();
      await page.getByRole('button', { name: 'New webhook' }).click();
      const dialog = page.getByRole('dialog', { name: 'New webhook' });
      const url = dialog.getByRole('textbox', { name: 'URL' });
      await url.fill('ftp://files.example.com/hook');
      await dialog.getByRole('button', { name: 'Create webhook' }).click();
      await expect.poll(() => url.getAttribute('aria-invalid')).toBe('true');
      const described = await url.getAttribute('aria-describedby');
      expect(await page.locator(`[id="${described}"]`).innerText()).toMatch(/Must be an http:\/\/ or https:\/\/ URL\./);
      expect(await url.evaluate((el) => el === (el.ownerDocument as any).activeElement)).toBe(true);
      await check('webhooks, the form with a refused URL', page);

      // Typing clears the error; nothing was created.
      await url.fill('https://hooks.example.com/x');
      expect(await url.getAttribute('aria-invalid')).toBeNull();
      await dialog.getByRole('button', { name: 'Cancel' }).click();
      await dialog.waitFor({ state: 'detached' });
      const list = await call(base, 'GET', '/api/tenants/acme/webhooks', { token: ownerToken });
      expect(list.body.webhooks).toHaveLength(1);
    } finally {
      await context.close();
    }
  });

  it('an operator has no Webhooks link and gets the owners-only state, without asking the API', async () => {
    const { context, page } = await newPage(browser, { bypassCSP: true });
    try {
      await signIn(page, base, email('operator'), TEST_PASSWORD, '/t/acme/operations');
      await nav(page).getByRole('link', { name: 'Backups' }).waitFor();
      expect(await nav(page).getByRole('link', { name: 'Webhooks' }).count()).toBe(0);

      const asked: string[] = [];
      page.on('request', (request) => {
        if (request.url().includes('/webhooks')) asked.push(request.url());
      });
      await page.goto(`${base}/t/acme/webhooks`);
      await page.getByRole('heading', { name: 'Only owners manage webhooks' }).waitFor();
      await page.getByText(/Your role here is Operator/).waitFor();
      expect(asked.filter((url) => url.includes('/api/'))).toEqual([]);
      await check('webhooks, owners only', page);
    } finally {
      await context.close();
    }
  });

  it('adds a Slack webhook whose receiver fails, opens both logs and deletes it after confirming (axe on each state)', async () => {
    const slackUrl = `${failing.url}/services/T024BE7LD/B08K5N2QV2/${'x'.repeat(40)}`;
    const { context, page } = await newPage(browser, { bypassCSP: true });
    try {
      await signIn(page, base, email('owner'), TEST_PASSWORD, '/t/acme/webhooks');
      const good = page.getByRole('listitem', { name: `${receiver.url}/hooks/runboard` });
      await good.waitFor();
      await check('webhooks, one webhook', page);

      await page.getByRole('button', { name: 'New webhook' }).click();
      const dialog = page.getByRole('dialog', { name: 'New webhook' });
      await dialog.getByRole('textbox', { name: 'URL' }).fill(slackUrl);
      await dialog.getByRole('checkbox', { name: /run\.queued/ }).check();
      await dialog.getByRole('radio', { name: /Slack message/ }).check();
      await dialog.getByRole('group', { name: 'Operation types' }).getByRole('checkbox').first().waitFor();
      await check('webhooks, the New webhook form', page);
      await dialog.getByRole('button', { name: 'Create webhook' }).click();
      const panel = page.getByRole('region', { name: 'Store the signing secret now' });
      await panel.waitFor();
      await check('webhooks, the secret panel', page);
      await panel.getByRole('button', { name: 'I have stored it' }).click();

      const bad = page.getByRole('listitem', { name: slackUrl });
      await bad.waitFor();
      // A long URL is shortened in the middle, the whole of it in the title.
      const heading = bad.getByRole('heading');
      expect(await heading.getAttribute('title')).toBe(slackUrl);
      expect(await heading.locator('[aria-hidden="true"]').innerText()).toContain('…');
      const facts = await bad.locator('dl').innerText();
      expect(facts).toMatch(/Events\s+run\.completed\s*run\.queued/);
      expect(facts).toMatch(/Types\s+All types/);
      expect(facts).toMatch(/Outcomes\s+All outcomes/);
      expect(facts).toMatch(/Format\s+Slack message/);

      // A partly failed run: the healthy webhook (succeeded runs only) is not sent it; the failing one retries.
      await completeRun({ succeeded: 1, failed: 1 }, 'webhooks-failing');
      await failing.next(1);
      for (const item of [good, bad]) await item.getByRole('button', { name: 'Deliveries' }).click();
      await bad.getByText('Failing').waitFor({ timeout: 15_000 });
      await bad.getByText(/failures? in a row · (paused until|trying again)/).waitFor();
      const failedRow = bad.locator('tbody tr').filter({ hasText: 'HTTP 503' }).first();
      await failedRow.waitFor({ timeout: 15_000 });
      expect(await failedRow.locator('td').nth(4).innerText()).toBe('503');
      await good.locator('tbody tr').first().getByText('Succeeded').waitFor();
      expect(await good.locator('tbody tr').count()).toBe(1);
      await check('webhooks, two logs open', page);

      if (process.env.RUNBOARD_SCREENSHOTS) {
        await mkdir(path.join(ROOT, 'docs', 'screenshots'), { recursive: true });
        await page.setViewportSize({ width: 1280, height: 900 });
        await page.screenshot({ path: path.join(ROOT, 'docs', 'screenshots', 'webhooks.png'), fullPage: true });
      }

      await bad.getByRole('button', { name: 'Delete…' }).click();
      const confirm = page.getByRole('dialog', { name: 'Delete this webhook?' });
      await confirm.getByText(/pending deliveries are dropped/).waitFor();
      await check('webhooks, delete confirmation', page);
      await confirm.getByRole('button', { name: 'Delete webhook' }).click();
      await bad.waitFor({ state: 'detached' });
      const list = await call(base, 'GET', '/api/tenants/acme/webhooks', { token: ownerToken });
      expect(list.body.webhooks.map((w: { url: string }) => w.url)).toEqual([`${receiver.url}/hooks/runboard`]);
      await good.waitFor();
    } finally {
      await context.close();
    }
  }, 60_000);

  it('axe-core found no WCAG 2 A or AA violation in any state checked above', () => {
    expect(found, `axe-core found ${found.length} violation(s):\n${found.join('\n')}`).toEqual([]);
  });
});
