import { author } from '../../db/runs/model.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { InventoryPage, RunView } from '../../server/http/contract.ts';
import type { SimulatedSettings } from '../../db/sources/entity.ts';
import { SourceError, type ListedItem, type PolicySourceClient } from '../../db/sources/source.ts';
import { createLogger } from '../../db/logger.ts';
import { inventorySync } from '../../worker/operations/inventory-sync.ts';
import { Runner, type OperationHandler } from '../../worker/runner.ts';
import { call, login, startSystem, type System } from '../helpers/app.ts';
import { expectError } from '../helpers/instances.ts';
import { seedTenant } from '../helpers/stack.ts';

/** Who makes the changes these tests apply directly (their history's `by`). */
const TEST_AUTHOR = author('system', 'test');

// inventory.sync and the inventory it stores (docs/api.md §10), through the real path: HTTP start →
// bee-queue → a worker process reading the tenant's simulated policy source → PostgreSQL → GET …/inventory.

type Policy = InventoryPage['policies'][number];

describe('inventory', () => {
  let system: System;
  let base: string;
  const tokens = { owner: '', operator: '', readonly: '', kiosk: '', integration: '', globexOwner: '' };
  let first: RunView;

  const tenantId = (slug = 'acme') => system.tenants[slug]!.tenant.id;
  const setSource = (simulated: SimulatedSettings, slug = 'acme') => system.env.services.sources.setSimulated(tenantId(slug), simulated);
  const inventory = (query = '', token = tokens.readonly, tenant = 'acme') =>
    call<InventoryPage>(base, 'GET', `/api/tenants/${tenant}/inventory${query ? `?${query}` : ''}`, { token });
  /** Starts a sync and waits for it to complete; the run's detail. */
  const sync = async (token = tokens.operator, tenant = 'acme'): Promise<RunView> => {
    const started = await call(base, 'POST', `/api/tenants/${tenant}/runs`, { token, body: { type: 'inventory.sync' } });
    expect(started.status, JSON.stringify(started.body)).toBe(202);
    await system.feed.completed(started.body.run.id);
    return (await call(base, 'GET', `/api/tenants/${tenant}/runs/${started.body.run.id}`, { token })).body.run;
  };
  /** Every policy of the inventory, walked page by page with the cursor. */
  const walk = async (query: string, limit: number) => {
    const seen: Policy[] = [];
    let cursor: string | null = null;
    for (let pages = 0; pages < 100; pages++) {
      const page = await inventory(`${query}&limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`);
      expect(page.status, JSON.stringify(page.body)).toBe(200);
      expect(page.body.policies.length).toBeLessThanOrEqual(limit);
      seen.push(...page.body.policies);
      cursor = page.body.nextCursor;
      if (!cursor) return seen;
    }
    throw new Error('the cursor never ended');
  };

  beforeAll(async () => {
    system = await startSystem({ tenants: ['acme', 'globex', 'initech'] });
    base = system.app.baseUrl;
    const acme = system.tenants.acme!;
    for (const role of ['owner', 'operator', 'readonly'] as const) tokens[role] = await login(base, acme.users[role].email);
    tokens.globexOwner = await login(base, system.tenants.globex!.users.owner.email);
    tokens.kiosk = (await system.env.services.auth.createTenantToken('kiosk', acme.tenant.id, 'wall', null)).token;
    tokens.integration = (await system.env.services.auth.createTenantToken('integration', acme.tenant.id, 'ci', null)).token;
  }, 60_000);

  afterAll(async () => {
    await system?.stop();
  });

  it('is empty before the first sync', async () => {
    const empty = await inventory();
    expect(empty.status).toBe(200);
    expect(empty.body).toEqual({ snapshot: null, policies: [], policyTypes: [], nextCursor: null });
    expect(await system.env.services.inventory.latestSnapshot(tenantId())).toBeNull();
  });

  it('a sync of 40 simulated policies succeeds with 40 items and links to the inventory', async () => {
    await setSource({ policies: 40 });
    first = await sync();
    expect(first).toMatchObject({
      type: 'inventory.sync',
      status: 'completed',
      outcome: 'succeeded',
      counts: { total: 40, processed: 40, succeeded: 40, failed: 0, skipped: 0 },
      failureCount: 0,
      related: [{ label: 'Inventory', url: '/t/acme/inventory' }],
    });
    const page = await inventory();
    expect(page.body.snapshot).toEqual({ runId: first.id, completedAt: first.completedAt, itemCount: 40 });
    expect(page.body.policies).toHaveLength(40);
    expect(page.body.nextCursor).toBeNull();
    for (const policy of page.body.policies) {
      expect(policy).toEqual({ externalId: expect.any(String), name: expect.any(String), policyType: expect.any(String), lastModified: expect.any(String), lastSeenRunId: first.id });
    }
    expect(page.body.policyTypes.reduce((sum, t) => sum + t.count, 0)).toBe(40);
    expect(page.body.policyTypes.length).toBeGreaterThan(1);
    expect(await system.env.services.inventory.latestSnapshot(tenantId())).toEqual({ runId: first.id, completedAt: first.completedAt, itemCount: 40 });
  });

  it('pages by name with the cursor, searches names and ids, filters by policy type', async () => {
    const all = (await inventory('limit=500')).body.policies;
    const paged = await walk('', 7);
    expect(paged).toEqual(all);

    // q: part of a name, whatever its case; or an exact external id.
    const sample = all[13]!;
    const word = sample.name.split(' ')[0]!;
    const byName = await walk(`q=${encodeURIComponent(word.toUpperCase())}`, 5);
    expect(byName.length).toBeGreaterThan(0);
    expect(byName).toEqual(all.filter((p) => p.name.toLowerCase().includes(word.toLowerCase())));
    expect((await inventory(`q=${sample.externalId}`)).body.policies).toEqual([sample]);
    expect((await inventory(`q=${sample.externalId.slice(0, 8)}`)).body.policies).toEqual([]);
    // LIKE wildcards are text, not patterns; an empty q is no filter.
    for (const wildcard of ['%', '_', '%25', '\\']) expect((await inventory(`q=${encodeURIComponent(wildcard)}`)).body.policies).toEqual([]);
    expect((await inventory('q=')).body.policies).toHaveLength(40);

    const { policyTypes } = (await inventory()).body;
    const type = policyTypes[0]!;
    const ofType = await walk(`policyType=${encodeURIComponent(type.policyType)}`, 3);
    expect(ofType).toHaveLength(type.count);
    expect(ofType.every((p) => p.policyType === type.policyType)).toBe(true);
    // The types and counts are the snapshot's, whatever the filter.
    expect((await inventory(`policyType=${encodeURIComponent(type.policyType)}`)).body.policyTypes).toEqual(policyTypes);
    expect((await inventory('policyType=nope')).body.policies).toEqual([]);
  });

  it('refuses bad parameters with details', async () => {
    for (const query of ['limit=0', 'limit=501', 'limit=abc', 'limit=1.5', 'cursor=garbage', 'cursor=W10', 'bogus=1', `q=${'x'.repeat(201)}`, 'q=%00', 'q=a&q=b', 'policyType=a&policyType=b']) {
      const answer = await inventory(query);
      expectError(answer, 400, 'validation_failed', query);
      expect((answer.body as unknown as { error: { details: { path: string }[] } }).error.details.length, query).toBeGreaterThan(0);
    }
  });

  it('is read by every member and the tenant kiosk; never by another tenant or an integration token', async () => {
    for (const token of [tokens.owner, tokens.readonly, tokens.kiosk]) expect((await inventory('', token)).body.snapshot?.runId).toBe(first.id);
    expectError(await inventory('', tokens.integration), 403, 'forbidden', 'integration token');
    expectError(await inventory('', tokens.globexOwner), 403, 'forbidden', 'globex owner on acme');
    expectError(await inventory('', tokens.owner, 'globex'), 403, 'forbidden', 'acme owner on globex');
    expectError(await inventory('', tokens.kiosk, 'globex'), 403, 'forbidden', 'acme kiosk on globex');

    await setSource({ policies: 5 }, 'globex');
    const globexSync = await sync(tokens.globexOwner, 'globex');
    expect(globexSync.outcome).toBe('succeeded');
    const globex = (await inventory('', tokens.globexOwner, 'globex')).body;
    expect(globex.snapshot).toMatchObject({ runId: globexSync.id, itemCount: 5 });
    const acmeIds = new Set((await inventory('limit=500')).body.policies.map((p) => p.externalId));
    expect(globex.policies.filter((p) => acmeIds.has(p.externalId))).toEqual([]);
    // Another tenant's policy id searched for under one's own tenant: nothing.
    expect((await inventory(`q=${globex.policies[0]!.externalId}`)).body.policies).toEqual([]);
  });

  it('unreadable items: partially succeeded, a failure per item carrying its id, the rest stored', async () => {
    const ids = (await inventory('limit=500')).body.policies.map((p) => p.externalId).sort();
    const failing = [ids[3]!, ids[17]!];
    await setSource({ policies: 40, failItems: failing });
    const run = await sync();
    expect(run).toMatchObject({ outcome: 'partially_succeeded', counts: { total: 40, processed: 40, succeeded: 38, failed: 2, skipped: 0 }, failureCount: 2 });
    expect(run.failures).toEqual(
      expect.arrayContaining(failing.map((item) => ({ code: 'source_item_unreadable', message: expect.any(String), item }))),
    );
    // A partially successful sync is the inventory now.
    const page = (await inventory('limit=500')).body;
    expect(page.snapshot).toMatchObject({ runId: run.id, itemCount: 38 });
    expect(page.policies.map((p) => p.externalId).filter((id) => failing.includes(id))).toEqual([]);
    await setSource({ policies: 40 });
  });

  it('an unavailable source fails the run source_unavailable; the inventory stays the last successful one', async () => {
    const before = (await inventory()).body.snapshot;
    await setSource({ policies: 40, unavailable: true });
    const run = await sync();
    expect(run).toMatchObject({ outcome: 'failed', counts: { succeeded: 0, failed: 0 }, failureCount: 1 });
    expect(run.failures).toEqual([{ code: 'source_unavailable', message: expect.any(String) }]);
    expect((await inventory()).body.snapshot).toEqual(before);
    await setSource({ policies: 40 });
  });

  it('no source: the run fails source_not_configured', async () => {
    const tenant = await seedTenant(system.env.services, 'umbrella');
    const token = await login(base, tenant.users.operator.email);
    const run = await sync(token, 'umbrella');
    expect(run).toMatchObject({ outcome: 'failed', counts: { total: 0, succeeded: 0 } });
    expect(run.failures).toEqual([{ code: 'source_not_configured', message: expect.any(String) }]);
    expect((await inventory('', token, 'umbrella')).body.snapshot).toBeNull();
  });

  it('a source failing mid-way fails the run; what it stored belongs to the failed run and is never shown', async () => {
    const services = system.env.services;
    const tenant = system.tenants.initech!.tenant;
    const pages: ListedItem[][] = [[1, 2, 3].map((n) => ({ ok: true, policy: { externalId: `p-${n}`, name: `Policy ${n}`, policyType: 't', lastModified: null, settings: { n } } }))];
    const flaky: PolicySourceClient = {
      async *list() {
        yield* pages;
        throw new SourceError('source_unavailable', 'The source stopped answering (connection reset).');
      },
      get: () => Promise.reject(new Error('unused')),
      apply: () => Promise.reject(new Error('unused')),
    };
    // An in-process runner with this one source; the run is created without a job, so no worker takes it.
    const handlers = new Map([
      ['inventory.sync', inventorySync({ sources: { open: () => Promise.resolve(flaky) }, inventory: services.inventory }) as OperationHandler],
    ]);
    const runner = new Runner(services.lifecycle, handlers, { stallTimeoutMs: 30_000, logger: createLogger('silent') });
    const { run } = await services.lifecycle.start({ tenant, declaration: services.catalog.get('inventory.sync')!, scope: {}, initiatorId: null, by: TEST_AUTHOR });
    await runner.process(run.id, run.type);
    const done = await services.runs.get(tenant.id, run.id);
    expect(done).toMatchObject({ outcome: 'failed', counts: { total: 3, succeeded: 3, failed: 0 } });
    expect(done!.failures).toEqual([{ code: 'source_unavailable', message: expect.any(String) }]);
    expect(await services.inventory.latestSnapshot(tenant.id)).toBeNull();
    expect((await services.inventory.list(tenant.id, { limit: 50 })).policies).toEqual([]);
  });

  it('stores a repeated policy once and refuses what PostgreSQL cannot hold, without failing the page', async () => {
    const services = system.env.services;
    const tenant = system.tenants.initech!.tenant;
    const policy = (externalId: string, settings: Record<string, unknown> = {}, name = externalId) => ({ ok: true as const, policy: { externalId, name, policyType: 't', lastModified: 'not a date', settings } });
    let deep: Record<string, unknown> = { leaf: 1 };
    for (let i = 0; i < 100; i++) deep = { d: deep };
    const source: PolicySourceClient = {
      async *list() {
        yield [policy('a'), policy('b', {}, 'N'.repeat(1_000)), policy('a'), policy('nul', { text: 'x\u0000y' }), policy('deep', deep)];
        yield [policy('b'), policy('x'.repeat(201)), policy('c')];
      },
      get: () => Promise.reject(new Error('unused')),
      apply: () => Promise.reject(new Error('unused')),
    };
    const handler = inventorySync({ sources: { open: () => Promise.resolve(source) }, inventory: services.inventory });
    const runner = new Runner(services.lifecycle, new Map([['inventory.sync', handler as OperationHandler]]), { stallTimeoutMs: 30_000, logger: createLogger('silent') });
    const { run } = await services.lifecycle.start({ tenant, declaration: services.catalog.get('inventory.sync')!, scope: {}, initiatorId: null, by: TEST_AUTHOR });
    await runner.process(run.id, run.type);
    const done = await services.runs.get(tenant.id, run.id);
    expect(done).toMatchObject({ outcome: 'partially_succeeded', counts: { total: 8, processed: 8, succeeded: 3, failed: 3, skipped: 2 } });
    expect(done!.failures!.map((f) => [f.code, f.item?.slice(0, 4)])).toEqual([
      ['source_item_unreadable', 'nul'],
      ['source_item_unreadable', 'deep'],
      ['source_item_unreadable', 'xxxx'],
    ]);
    const page = await services.inventory.list(tenant.id, { limit: 50 });
    expect(page.policies.map((p) => [p.externalId, p.name.length, p.lastModified]).sort()).toEqual([
      ['a', 1, null],
      ['b', 400, null],
      ['c', 1, null],
    ]);
  });
});
