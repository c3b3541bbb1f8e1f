import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROUTES } from '../../server/http/openapi/routes.ts';
import { REFERENCE_CSP } from '../../server/http/openapi/reference.ts';
import { ROOT, startApp, type RunningApp } from '../helpers/app.ts';
import { launchBrowser, newPage } from '../helpers/browser.ts';
import { createTestEnv, type TestEnv } from '../helpers/stack.ts';

// The readable API reference (docs/api.md §13) as a person opens it: Swagger UI served by Runboard itself, under
// the page's own Content-Security-Policy, drawing every operation of /api/openapi.json. No dashboard build needed.
// RUNBOARD_SCREENSHOTS=1 also writes docs/screenshots/api-docs.png.
describe('the API reference in a real browser', () => {
  let env: TestEnv;
  let app: RunningApp;
  let browser: Browser;

  beforeAll(async () => {
    env = await createTestEnv();
    app = await startApp(env);
    browser = await launchBrowser();
  });

  afterAll(async () => {
    await browser?.close();
    await app?.close();
    await env?.cleanup();
  });

  it("serves the reference's static files cacheable, the documents and API answers never", async () => {
    const asset = await fetch(`${app.baseUrl}/api/docs/assets/reference.js`);
    expect(asset.status).toBe(200);
    expect(asset.headers.get('cache-control')).toBe('public, max-age=86400');
    expect(asset.headers.get('etag')).toBeTruthy();
    expect(asset.headers.get('content-security-policy')).toBe(REFERENCE_CSP);
    for (const path of ['/api/openapi.json', '/api/docs']) expect((await fetch(`${app.baseUrl}${path}`)).headers.get('cache-control'), path).toBe('no-store');
  });

  it('renders every operation and the webhooks, with no CSP violation or script error', async () => {
    const { context, page } = await newPage(browser);
    const problems: string[] = [];
    page.on('console', (message) => {
      if (message.type() === 'error' || /Content Security Policy/i.test(message.text())) problems.push(message.text());
    });
    page.on('pageerror', (error) => problems.push(error.message));
    // Outside the page's CSP (Playwright injects it), so it sees every violation, reported or not.
    await page.addInitScript({
      content: "document.addEventListener('securitypolicyviolation', (event) => console.error(`CSP violation: ${event.violatedDirective} ${event.blockedURI}`));",
    });
    const requests: string[] = [];
    page.on('request', (request) => requests.push(request.url()));
    try {
      const response = await page.goto(`${app.baseUrl}/api/docs`);
      expect(response?.status()).toBe(200);
      expect(response?.headers()['content-security-policy']).toBe(REFERENCE_CSP);

      // Every route of the table, and the two webhook deliveries.
      const operations = page.locator('#reference .opblock');
      await operations.nth(ROUTES.length + 1).waitFor();
      expect(await operations.count()).toBe(ROUTES.length + 2);
      await page.getByRole('heading', { name: /Runboard API/ }).waitFor();
      await page.getByText('run.completed', { exact: true }).first().waitFor();

      if (process.env.RUNBOARD_SCREENSHOTS) {
        await mkdir(path.join(ROOT, 'docs', 'screenshots'), { recursive: true });
        await page.setViewportSize({ width: 1280, height: 1100 });
        await page.screenshot({ path: path.join(ROOT, 'docs', 'screenshots', 'api-docs.png') });
      }

      // One operation opened: its parameters and answers come from the document.
      await page.locator('#operations-Runs-listRuns .opblock-summary').click();
      await page.locator('#operations-Runs-listRuns').getByText('failureCode', { exact: true }).first().waitFor();
      await page.locator('#operations-Runs-listRuns .response[data-code="400"]').waitFor();

      expect(problems).toEqual([]);
      // Everything came from Runboard itself: no CDN, no validator badge.
      expect(requests.filter((url) => !url.startsWith(app.baseUrl))).toEqual([]);
    } finally {
      await context.close();
    }
  });
});
