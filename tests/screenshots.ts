// `npm run screenshots`: the README's pictures, made reproducibly — a private database and Redis prefix,
// the real server and a worker, some demo runs, and Debian's Chromium taking the shots into docs/screenshots.
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { call, login, ROOT, startSystem } from './helpers/app.ts';
import { launchBrowser, newPage, signIn } from './helpers/browser.ts';
import { TEST_PASSWORD } from './helpers/stack.ts';

const OUT = path.join(ROOT, 'docs', 'screenshots');

const system = await startSystem({ tenants: ['acme', 'globex'] });
const browser = await launchBrowser();
try {
  await mkdir(OUT, { recursive: true });
  const base = system.app.baseUrl;
  const operatorEmail = system.tenants.acme!.users.operator.email;
  const token = await login(base, operatorEmail);
  const start = (scope: Record<string, unknown>) =>
    call(base, 'POST', '/api/tenants/acme/runs', { token, body: { type: 'demo.batch', scope } });

  // A finished history with every outcome, then a few runs still going while the shots are taken.
  const finished = [
    { items: 24, itemMs: 2, key: 'inventory-sync' },
    { items: 40, itemMs: 2, failEvery: 9, failCode: 'quota_exceeded', failMessage: 'Tenant quota exceeded for this item.', key: 'export' },
    { items: 8, itemMs: 2, failEvery: 1, failCode: 'upstream_unavailable', failMessage: 'The inventory service did not answer (HTTP 503).', key: 'restore' },
    { items: 12, abort: true, key: 'aborted' },
    { items: 60, itemMs: 1, key: 'bulk-edit' },
  ];
  let detailUrl = '';
  for (const scope of finished) {
    const started = await start(scope);
    await system.feed.completed(started.body.run.id, 30_000);
    if (scope.key === 'export') detailUrl = started.body.url;
  }
  const running = await Promise.all([
    start({ items: 400, itemMs: 60, key: 'long-1' }),
    start({ items: 300, itemMs: 80, failEvery: 25, key: 'long-2' }),
  ]);
  await system.feed.until(() => running.every((r) => system.feed.forRun(r.body.run.id).some((c) => c.kind === 'progress')), 20_000);

  const { context, page } = await newPage(browser);
  await signIn(page, base, operatorEmail, TEST_PASSWORD, '/t/acme/operations');
  await page.getByRole('progressbar').first().waitFor();
  await page.waitForTimeout(1_500); // let rates and ETAs settle for the picture
  await page.screenshot({ path: path.join(OUT, 'board.png') });

  // Search (docs/api.md §11): a word of a scope, with a failure reason picked from the Top reasons panel.
  await page.getByTestId('run-search').fill('export');
  await page.getByTestId('run-search').press('Enter');
  await page.getByTestId('reason-quota_exceeded').click();
  await page.getByTestId('reason-chip').waitFor();
  await page.waitForURL(/failureCode=quota_exceeded/);
  await page.locator('tbody tr').first().waitFor();
  await page.screenshot({ path: path.join(OUT, 'search.png') });

  // A running run's timeline, grown live to a few progress points (one at most every 5 s).
  await page.goto(`${base}${running[0]!.body.url}`);
  await page.locator('[data-testid="timeline-entry"][data-kind="progress"]').nth(1).waitFor({ timeout: 20_000 });
  await page.screenshot({ path: path.join(OUT, 'timeline.png'), fullPage: true });

  await page.goto(`${base}${detailUrl}`);
  await page.getByRole('heading', { name: /Failures/ }).waitFor();
  await page.screenshot({ path: path.join(OUT, 'detail.png'), fullPage: true });

  await page.goto(`${base}/notifications`);
  await page.getByRole('heading', { name: 'Notifications' }).waitFor();
  await page.screenshot({ path: path.join(OUT, 'inbox.png') });

  await page.goto(`${base}/t/acme/operation-types`);
  await page.getByRole('button', { name: 'Start Demo batch…' }).click();
  const dialog = page.getByRole('dialog', { name: 'Demo batch' });
  await dialog.getByLabel('Items', { exact: true }).fill('250');
  await dialog.getByLabel('Key').fill('nightly-inventory');
  await dialog.getByRole('button', { name: 'Start run' }).click();
  await dialog.getByRole('status').filter({ hasText: 'Run queued' }).waitFor();
  await page.screenshot({ path: path.join(OUT, 'start-dialog.png') });
  await page.keyboard.press('Escape');
  await context.close();

  const manager = await login(base, system.tenants.acme!.users.manager.email);

  // The policy pages (docs/api.md §10): a simulated source synced twice with the revision moved between, a
  // drift generation, a backup set of every policy, the source moved on and synced again, a previewed restore.
  const acmeId = system.tenants.acme!.tenant.id;
  const run = async (as: string, type: string, scope: Record<string, unknown>) => {
    const started = await call(base, 'POST', '/api/tenants/acme/runs', { token: as, body: { type, scope } });
    if (started.status !== 202) throw new Error(`${type} was not started: ${JSON.stringify(started.body)}`);
    await system.feed.completed(started.body.run.id, 60_000);
  };
  await system.env.services.sources.setSimulated(acmeId, { policies: 120 });
  await run(token, 'inventory.sync', {});
  await system.env.services.sources.moveRevision(acmeId, 3);
  await run(token, 'inventory.sync', {});
  await run(token, 'drift.generate', {});
  const inventory = await call(base, 'GET', '/api/tenants/acme/inventory?q=compliance&limit=200', { token });
  const set = await call(base, 'POST', '/api/tenants/acme/backup-sets', { token, body: { name: 'Compliance before the March rollout' } });
  const backupSetId: string = set.body.backupSet.id;
  await run(token, 'backup_set.add_policies', { backupSetId, policyIds: inventory.body.policies.map((p: { externalId: string }) => p.externalId) });
  await system.env.services.sources.moveRevision(acmeId, 4);
  await run(token, 'inventory.sync', {});
  const restore = await call(base, 'POST', '/api/tenants/acme/restores', { token: manager, body: { backupSetId } });
  await call(base, 'POST', `/api/tenants/acme/restores/${restore.body.restore.id}/preview`, { token: manager });

  const policyPages = await newPage(browser, { viewport: { width: 1280, height: 900 } });
  {
    const { page } = policyPages;
    await signIn(page, base, system.tenants.acme!.users.manager.email, TEST_PASSWORD, '/t/acme/inventory');
    await page.getByRole('region', { name: 'Policies' }).locator('tbody tr').first().waitFor();
    await page.screenshot({ path: path.join(OUT, 'inventory.png') });

    await page.goto(`${base}/t/acme/drift`);
    await page.getByRole('region', { name: /Modified policies/ }).getByRole('button', { expanded: false }).first().click();
    await page.getByRole('table', { name: /Field changes of/ }).first().waitFor();
    await page.screenshot({ path: path.join(OUT, 'drift.png'), fullPage: true });

    await page.goto(`${base}/t/acme/backups/${backupSetId}`);
    await page.getByRole('region', { name: 'Captured policies' }).locator('tbody tr').first().waitFor();
    await page.screenshot({ path: path.join(OUT, 'backup-set.png') });

    await page.goto(`${base}/t/acme/restores/${restore.body.restore.id}`);
    const updates = page.getByRole('region', { name: 'Preview' }).getByRole('region', { name: /^Update/ });
    await updates.getByRole('button', { expanded: false }).first().click();
    await page.getByRole('table', { name: /Fields a restore of/ }).first().waitFor();
    await page.screenshot({ path: path.join(OUT, 'restore-preview.png') });
    await page.getByRole('button', { name: 'Execute…' }).click();
    await page.getByRole('dialog', { name: 'Execute this restore?' }).waitFor();
    await page.screenshot({ path: path.join(OUT, 'restore-confirm.png') });
  }
  await policyPages.context.close();

  // Runs going on while the wall is shot: the first far slower than its type's usual, so it says so.
  const onTheWall = await Promise.all([start({ items: 300, itemMs: 100, key: 'wall-long' }), start({ items: 120, itemMs: 150, failEvery: 40, key: 'wall-two' })]);
  await system.feed.until(() => onTheWall.every((r) => system.feed.forRun(r.body.run.id).some((c) => c.kind === 'progress')), 20_000);
  running.push(...onTheWall);
  const kiosk = await call(base, 'POST', '/api/tenants/acme/kiosk-tokens', { token: manager, body: { label: 'screenshots' } });
  const wall = await newPage(browser, { viewport: { width: 1920, height: 1080 } });
  await wall.page.goto(`${base}/t/acme/wall?kiosk=${kiosk.body.token}`);
  await wall.page.getByRole('heading', { name: /Running now/ }).waitFor();
  await wall.page.waitForTimeout(1_000);
  await wall.page.screenshot({ path: path.join(OUT, 'wall.png') });
  await wall.context.setOffline(true);
  await wall.page.getByRole('alert').filter({ hasText: /LIVE UPDATES LOST/ }).waitFor({ timeout: 15_000 });
  await wall.page.screenshot({ path: path.join(OUT, 'wall-stale.png') });
  await wall.context.close();

  for (const r of running) await system.feed.completed(r.body.run.id, 60_000).catch(() => undefined);
  console.log(`screenshots written to ${path.relative(ROOT, OUT)}/`);
} finally {
  await browser.close();
  await system.stop();
}
