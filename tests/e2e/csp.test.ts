import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser, BrowserContext, Frame, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Config } from '../../db/config.ts';
import { createApp } from '../../server/app.ts';
import { call, login, startSystem, type RunningApp, type System } from '../helpers/app.ts';
import { launchBrowser, newPage, signIn } from '../helpers/browser.ts';
import { TEST_PASSWORD } from '../helpers/stack.ts';

// The dashboard under its own Content-Security-Policy in Chromium (docs/api.md §13): every page works with
// no violation reported, and framing follows FRAME_ANCESTORS — a page of another origin cannot embed the wall
// by default, and can once its origin is configured.

/**
 * Collects what Chromium reports against the policy in this context: `securitypolicyviolation` events
 * (listened for from before any page script runs; the test's own listener is not subject to the page's
 * policy) and CSP errors on the console. Each entry says where.
 */
async function watchPolicy(context: BrowserContext): Promise<string[]> {
  const reports: string[] = [];
  await context.exposeBinding('__runboardPolicyViolation', ({ frame }: { frame: Frame }, text: string) => void reports.push(`${frame.url()}: ${text}`));
  // Runs in the page (as text: the tests are compiled without the DOM's types).
  await context.addInitScript({
    content: `document.addEventListener('securitypolicyviolation', (event) => {
      window.__runboardPolicyViolation(event.effectiveDirective + ' blocked ' + (event.blockedURI || '(inline)') + ' (' + event.sourceFile + ':' + event.lineNumber + ')');
    });`,
  });
  context.on('console', (message) => {
    if (/content security policy|refused to (load|execute|apply|connect|frame)/i.test(message.text())) {
      reports.push(`console ${message.type()} on ${message.page()?.url()}: ${message.text()}`);
    }
  });
  return reports;
}

/** A page of another origin that embeds `src` in an iframe (as a Grafana text panel would). */
async function startEmbedder(): Promise<{ origin: string; pageFor: (src: string) => string; close: () => Promise<void> }> {
  const server: Server = createServer((req, res) => {
    const src = new URL(req.url ?? '/', 'http://embedder').searchParams.get('src') ?? 'about:blank';
    const escaped = src.replace(/[&"<>]/g, (c) => `&#${c.charCodeAt(0)};`);
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(`<!doctype html><html lang="en"><head><title>Another dashboard</title></head>
<body><h1>Another dashboard</h1><iframe title="Runboard wall" src="${escaped}" width="1280" height="720"></iframe></body></html>`);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    origin,
    pageFor: (src) => `${origin}/?src=${encodeURIComponent(src)}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

describe('the dashboard under its Content-Security-Policy', () => {
  let system: System;
  let browser: Browser;
  let base: string;
  let embedder: Awaited<ReturnType<typeof startEmbedder>>;
  const configured: RunningApp[] = [];

  beforeAll(async () => {
    system = await startSystem({ tenants: ['acme'] });
    base = system.app.baseUrl;
    browser = await launchBrowser();
    embedder = await startEmbedder();
  });

  afterAll(async () => {
    await browser?.close();
    await embedder?.close();
    await Promise.all(configured.map((app) => app.close()));
    await system?.stop();
  });

  /** The same services behind an app with other settings (FRAME_ANCESTORS): another deployment's pages. */
  async function startConfigured(overrides: Partial<Config>): Promise<RunningApp> {
    const app = createApp({ ...system.env.services, config: { ...system.env.config, ...overrides } });
    await app.ready;
    await new Promise<void>((resolve) => app.httpServer.listen(0, '127.0.0.1', resolve));
    const running = { ...app, baseUrl: `http://127.0.0.1:${(app.httpServer.address() as AddressInfo).port}` };
    configured.push(running);
    return running;
  }

  const email = (role: string) => system.tenants.acme!.users[role as 'owner'].email;
  const live = (page: Page) => page.getByRole('status').filter({ hasText: /^\s*Live/i }).first().waitFor();

  async function run(token: string, type: string, scope: Record<string, unknown>): Promise<{ id: string; url: string }> {
    const started = await call(base, 'POST', '/api/tenants/acme/runs', { token, body: { type, scope } });
    expect(started.status, JSON.stringify(started.body)).toBe(202);
    await system.feed.completed(started.body.run.id, 30_000);
    return { id: started.body.run.id, url: started.body.url };
  }

  async function kioskToken(): Promise<string> {
    const manager = await login(base, email('manager'));
    const kiosk = await call(base, 'POST', '/api/tenants/acme/kiosk-tokens', { token: manager, body: { label: 'csp wall' } });
    expect(kiosk.status).toBe(201);
    return kiosk.body.token;
  }

  it('every main page works with no policy violation, and a violation would have been seen', async () => {
    // Data on every page: a run with failures, the policy pages' inventory, drift, a backup set and a restore preview.
    const operator = await login(base, email('operator'));
    const partial = await run(operator, 'demo.batch', { items: 6, itemMs: 1, failEvery: 2, failCode: 'quota_exceeded', key: 'csp-partial' });
    const acmeId = system.tenants.acme!.tenant.id;
    await system.env.services.sources.setSimulated(acmeId, { policies: 12 });
    await run(operator, 'inventory.sync', {});
    await system.env.services.sources.moveRevision(acmeId, 1);
    await run(operator, 'inventory.sync', {});
    await run(operator, 'drift.generate', {});
    const inventory = await call(base, 'GET', '/api/tenants/acme/inventory?limit=100', { token: operator });
    const set = await call(base, 'POST', '/api/tenants/acme/backup-sets', { token: operator, body: { name: 'csp set' } });
    const backupSetId: string = set.body.backupSet.id;
    await run(operator, 'backup_set.add_policies', { backupSetId, policyIds: inventory.body.policies.map((p: { externalId: string }) => p.externalId) });
    const manager = await login(base, email('manager'));
    const restore = await call(base, 'POST', '/api/tenants/acme/restores', { token: manager, body: { backupSetId } });
    const restoreId: string = restore.body.restore.id;
    expect((await call(base, 'POST', `/api/tenants/acme/restores/${restoreId}/preview`, { token: manager })).status).toBe(200);
    const kiosk = await kioskToken();

    const { context, page } = await newPage(browser);
    const reports = await watchPolicy(context);
    const visited: string[] = [];
    try {
      await page.goto(`${base}/login`);
      await page.getByRole('button', { name: /sign in/i }).waitFor();
      await signIn(page, base, email('manager'), TEST_PASSWORD, '/t/acme/operations');
      await page.getByRole('heading', { name: 'Operations' }).waitFor();
      await live(page);
      visited.push('login', 'board');

      await page.goto(`${base}${partial.url}`);
      await page.getByRole('region', { name: /Failures/ }).getByText('quota_exceeded').waitFor();
      visited.push('run detail');

      await page.goto(`${base}/t/acme/operation-types`);
      await page.getByRole('button', { name: 'Start Demo batch…' }).click();
      await page.getByRole('dialog', { name: 'Demo batch' }).waitFor();
      await page.keyboard.press('Escape');
      visited.push('operation types, start dialog');

      await page.goto(`${base}/notifications`);
      await page.getByRole('list', { name: /Notifications/ }).waitFor();
      visited.push('inbox');

      await page.goto(`${base}/t/acme/inventory`);
      await page.getByRole('region', { name: 'Policies' }).locator('tbody tr').first().waitFor();
      await page.goto(`${base}/t/acme/drift`);
      await page.getByRole('region', { name: /Modified policies/ }).getByRole('button', { expanded: false }).first().click();
      await page.getByRole('table', { name: /Field changes of/ }).first().waitFor();
      await page.goto(`${base}/t/acme/backups`);
      await page.getByRole('link', { name: 'csp set', exact: true }).waitFor();
      await page.goto(`${base}/t/acme/backups/${backupSetId}`);
      await page.getByRole('region', { name: 'Captured policies' }).locator('tbody tr').first().waitFor();
      await page.goto(`${base}/t/acme/restores/${restoreId}`);
      await page.getByRole('region', { name: 'Preview' }).waitFor();
      visited.push('inventory', 'drift', 'backups', 'backup set', 'restore');

      await page.goto(`${base}/t/acme/wall`);
      await page.getByRole('heading', { name: /Running now/ }).waitFor();
      await live(page);
      visited.push('wall');
      // A run that starts while the board is open arrives over the live channel (connect-src 'self').
      await page.goto(`${base}/t/acme/operations`);
      await live(page);
      const later = await run(operator, 'demo.batch', { items: 2, itemMs: 1, key: 'csp-live' });
      await page.locator(`[title="${later.id}"]`).waitFor();
      visited.push('board, live update');

      const wall = await context.newPage();
      await wall.goto(`${base}/t/acme/wall?kiosk=${kiosk}`);
      await wall.getByRole('heading', { name: /Running now/ }).waitFor();
      await live(wall);
      visited.push('wall with a kiosk link');

      expect(reports, `policy violations on ${visited.join(', ')}:\n${reports.join('\n')}`).toEqual([]);

      // The watcher works: an inline style attribute the policy does not allow is reported.
      await page.evaluate(`document.body.insertAdjacentHTML('beforeend', '<p style="color: red">not allowed</p>')`);
      await expect.poll(() => reports.join('\n'), { timeout: 5_000 }).toMatch(/style-src-attr blocked inline/);
    } finally {
      await context.close();
    }
  }, 150_000);

  /** Opens the embedder's page around `src`; resolves with its frame (which may not have committed yet). */
  async function embed(page: Page, src: string): Promise<Frame> {
    await page.goto(embedder.pageFor(src));
    const frame = page.frames().find((f) => f !== page.mainFrame());
    expect(frame, 'the embedder page has its iframe').toBeDefined();
    return frame!;
  }

  it('framing: refused by default and for origins not listed; the wall loads, live, inside a listed origin', async () => {
    const kiosk = await kioskToken();
    const wallPath = `/t/acme/wall?kiosk=${kiosk}`;

    for (const [what, app] of [
      ['default', { baseUrl: base }],
      ['another origin listed', await startConfigured({ frameAncestors: ['https://grafana.example.com'] })],
    ] as const) {
      const { context, page } = await newPage(browser);
      const reports = await watchPolicy(context);
      try {
        const frame = await embed(page, `${app.baseUrl}${wallPath}`);
        // Chromium replaces a refused frame with its error page; the wall's document never runs.
        await expect.poll(() => frame.url(), { message: what, timeout: 10_000 }).toBe('chrome-error://chromewebdata/');
        await expect.poll(() => reports.join('\n'), { timeout: 5_000 }).toMatch(/frame-ancestors/);
      } finally {
        await context.close();
      }
    }

    const framed = await startConfigured({ frameAncestors: [embedder.origin] });
    const { context, page } = await newPage(browser, { viewport: { width: 1400, height: 900 } });
    const reports = await watchPolicy(context);
    try {
      const frame = await embed(page, `${framed.baseUrl}${wallPath}`);
      await expect.poll(() => frame.url(), { timeout: 10_000 }).toBe(`${framed.baseUrl}${wallPath}`);
      await frame.getByRole('heading', { name: /Running now/ }).waitFor();
      await frame.getByRole('status').filter({ hasText: /^\s*Live/i }).first().waitFor();
      expect(reports, reports.join('\n')).toEqual([]);
    } finally {
      await context.close();
    }
  }, 60_000);
});
