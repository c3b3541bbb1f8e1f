import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SimulatedSettings } from '../../db/sources/entity.ts';
import { call, login, type System, startSystem } from '../helpers/app.ts';
import { expectError } from '../helpers/instances.ts';

// Backup sets and `backup_set.add_policies` (docs/api.md §10) through the real path: HTTP → starter (with
// the set's preparer) → bee-queue → a worker process reading the tenant's simulated policy source → PostgreSQL.

describe('backup sets', () => {
  let system: System;
  let base: string;
  const tokens = { owner: '', manager: '', operator: '', readonly: '', kiosk: '', integration: '', globexOwner: '' };
  let policyIds: string[] = [];

  const acmeId = () => system.tenants.acme!.tenant.id;
  const setSource = (simulated: SimulatedSettings, tenantId = acmeId()) => system.env.services.sources.setSimulated(tenantId, simulated);
  const createSet = async (name: string, token = tokens.operator, tenant = 'acme') => {
    const created = await call(base, 'POST', `/api/tenants/${tenant}/backup-sets`, { token, body: { name } });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    return created.body.backupSet as { id: string; name: string; createdAt: string };
  };
  const addPolicies = async (backupSetId: string, ids: string[], token = tokens.operator) =>
    call(base, 'POST', '/api/tenants/acme/runs', { token, body: { type: 'backup_set.add_policies', scope: { backupSetId, policyIds: ids } } });
  /** Starts an add and waits for its run to complete; the run's detail. */
  const addAndWait = async (backupSetId: string, ids: string[]) => {
    const started = await addPolicies(backupSetId, ids);
    expect(started.status, JSON.stringify(started.body)).toBe(202);
    await system.feed.completed(started.body.run.id);
    return (await call(base, 'GET', `/api/tenants/acme/runs/${started.body.run.id}`, { token: tokens.operator })).body.run;
  };
  const detail = async (id: string, token = tokens.readonly) => call(base, 'GET', `/api/tenants/acme/backup-sets/${id}`, { token });

  beforeAll(async () => {
    system = await startSystem({ tenants: ['acme', 'globex'] });
    base = system.app.baseUrl;
    const acme = system.tenants.acme!;
    for (const role of ['owner', 'manager', 'operator', 'readonly'] as const) tokens[role] = await login(base, acme.users[role].email);
    tokens.globexOwner = await login(base, system.tenants.globex!.users.owner.email);
    tokens.kiosk = (await system.env.services.auth.createTenantToken('kiosk', acme.tenant.id, 'wall', null)).token;
    tokens.integration = (await system.env.services.auth.createTenantToken('integration', acme.tenant.id, 'ci', null)).token;
    await setSource({ policies: 12 });
    await setSource({ policies: 5 }, system.tenants.globex!.tenant.id);
    const source = await system.env.services.sources.open(acmeId());
    for await (const page of source.list()) for (const item of page) if (item.ok) policyIds.push(item.policy.externalId);
    policyIds = policyIds.sort();
    expect(policyIds.length).toBe(12);
  }, 60_000);

  afterAll(async () => {
    await system?.stop();
  });

  it('is created by operators and up, read by every member and the kiosk, never seen from another tenant', async () => {
    const set = await createSet('  Before the migration  ');
    expect(set).toEqual({ id: expect.any(String), name: 'Before the migration', createdAt: expect.any(String), itemCount: 0, items: [] });
    for (const [who, token] of [['readonly', tokens.readonly], ['kiosk', tokens.kiosk], ['integration', tokens.integration]] as const) {
      expectError(await call(base, 'POST', '/api/tenants/acme/backup-sets', { token, body: { name: 'nope' } }), 403, 'forbidden', who);
    }
    expectError(await call(base, 'POST', '/api/tenants/globex/backup-sets', { token: tokens.owner, body: { name: 'nope' } }), 403, 'forbidden', 'non-member');
    for (const body of [{}, { name: '' }, { name: '   ' }, { name: 'x'.repeat(201) }, { name: 'a', extra: 1 }, { name: 'nul\u0000' }, { name: 7 }]) {
      expectError(await call(base, 'POST', '/api/tenants/acme/backup-sets', { token: tokens.operator, body }), 400, 'validation_failed', JSON.stringify(body));
    }
    for (const token of [tokens.readonly, tokens.kiosk]) {
      const list = await call(base, 'GET', '/api/tenants/acme/backup-sets', { token });
      expect(list.status).toBe(200);
      expect(list.body.backupSets).toContainEqual({ id: set.id, name: set.name, createdAt: set.createdAt, itemCount: 0 });
      expect((await detail(set.id, token)).body).toEqual({ backupSet: { ...set, items: [] } });
    }
    const globexSet = await createSet('globex only', tokens.globexOwner, 'globex');
    expectError(await detail(globexSet.id, tokens.owner), 404, 'not_found', "globex's set under acme");
    expect((await call(base, 'GET', '/api/tenants/acme/backup-sets', { token: tokens.owner })).body.backupSets.map((s: { id: string }) => s.id)).not.toContain(globexSet.id);
    for (const id of ['nope', '1', `${set.id}0`]) expectError(await detail(id), 404, 'not_found', id);
    expectError(await call(base, 'GET', '/api/tenants/acme/backup-sets?limit=0', { token: tokens.readonly }), 400, 'validation_failed', 'limit=0');
    expectError(await call(base, 'GET', '/api/tenants/acme/backup-sets?cursor=garbage', { token: tokens.readonly }), 400, 'validation_failed', 'cursor');
  });

  it('pages newest first with a cursor', async () => {
    const names = ['page a', 'page b', 'page c'];
    for (const name of names) await createSet(name);
    const first = await call(base, 'GET', '/api/tenants/acme/backup-sets?limit=2', { token: tokens.readonly });
    expect(first.body.backupSets.map((s: { name: string }) => s.name)).toEqual(['page c', 'page b']);
    const second = await call(base, 'GET', `/api/tenants/acme/backup-sets?limit=2&cursor=${first.body.nextCursor}`, { token: tokens.readonly });
    expect(second.body.backupSets[0].name).toBe('page a');
  });

  it('adding policies captures each one (succeeded), then skips those captured with the same settings', async () => {
    const set = await createSet('Nightly');
    const chosen = policyIds.slice(0, 4);
    const run = await addAndWait(set.id, [...chosen].reverse());
    expect(run).toMatchObject({
      type: 'backup_set.add_policies',
      outcome: 'succeeded',
      counts: { total: 4, processed: 4, succeeded: 4, failed: 0, skipped: 0 },
      scope: { backupSetId: set.id, policyIds: chosen, backupSetName: 'Nightly' },
      related: [{ label: 'Backup set Nightly', url: `/t/acme/backups/${set.id}` }],
    });
    const { body } = await detail(set.id);
    expect(body.backupSet.itemCount).toBe(4);
    expect(body.backupSet.items.map((i: { policy: { externalId: string } }) => i.policy.externalId).sort()).toEqual(chosen);
    for (const item of body.backupSet.items) {
      expect(item).toEqual({
        policy: { externalId: expect.any(String), name: expect.any(String), policyType: expect.any(String) },
        capturedAt: expect.any(String),
        settingsHash: expect.stringMatching(/^[0-9a-f]{64}$/),
        runId: run.id,
      });
    }

    // The same policies again: nothing changed at the source, so every one is skipped (and keeps its capture).
    const again = await addAndWait(set.id, chosen);
    expect(again).toMatchObject({ outcome: 'succeeded', counts: { total: 4, processed: 4, succeeded: 0, skipped: 4 } });
    expect((await detail(set.id)).body.backupSet.items.every((i: { runId: string }) => i.runId === run.id)).toBe(true);

    // One more policy with the ones already there: only the new one is captured.
    const more = await addAndWait(set.id, policyIds.slice(0, 5));
    expect(more).toMatchObject({ outcome: 'succeeded', counts: { total: 5, succeeded: 1, skipped: 4 } });
    expect((await detail(set.id)).body.backupSet.itemCount).toBe(5);
  });

  it('a changed policy is captured again: its settings hash and run move on', async () => {
    const set = await createSet('Revisions');
    await addAndWait(set.id, policyIds);
    const before = new Map((await detail(set.id)).body.backupSet.items.map((i: { policy: { externalId: string }; settingsHash: string }) => [i.policy.externalId, i.settingsHash]));
    await setSource({ policies: 12, revision: 1 });
    const run = await addAndWait(set.id, policyIds);
    await setSource({ policies: 12 });
    // Revision 1 changes the settings of two policies and removes one (docs/api.md §10).
    expect(run.counts).toMatchObject({ total: 12, succeeded: 2, skipped: 9, failed: 1 });
    expect(run.outcome).toBe('partially_succeeded');
    expect(run.failures).toEqual([{ code: 'policy_not_found', message: expect.any(String), item: expect.any(String) }]);
    const after = (await detail(set.id)).body.backupSet.items as { policy: { externalId: string }; settingsHash: string; runId: string }[];
    const moved = after.filter((i) => before.get(i.policy.externalId) !== i.settingsHash);
    expect(moved.length).toBe(2);
    expect(moved.every((i) => i.runId === run.id)).toBe(true);
  });

  it('unreadable items fail with their ids (partially succeeded); unknown ids fail policy_not_found', async () => {
    const set = await createSet('Partial');
    const broken = policyIds.slice(0, 2);
    await setSource({ policies: 12, failItems: broken });
    const run = await addAndWait(set.id, policyIds.slice(0, 6));
    await setSource({ policies: 12 });
    expect(run).toMatchObject({ outcome: 'partially_succeeded', counts: { total: 6, succeeded: 4, failed: 2 }, failureCount: 2 });
    expect(run.failures.map((f: { code: string; item: string }) => [f.code, f.item]).sort()).toEqual(broken.map((id) => ['source_item_unreadable', id]));
    expect((await detail(set.id)).body.backupSet.itemCount).toBe(4);

    const unknown = await addAndWait(set.id, ['no-such-policy']);
    expect(unknown).toMatchObject({ outcome: 'failed', counts: { total: 1, failed: 1 }, failures: [{ code: 'policy_not_found', item: 'no-such-policy' }] });
  });

  it('an unreachable source aborts the run with its code', async () => {
    const set = await createSet('Unreachable');
    await setSource({ policies: 12, unavailable: true });
    const run = await addAndWait(set.id, policyIds.slice(0, 3));
    await setSource({ policies: 12 });
    expect(run).toMatchObject({ outcome: 'failed', counts: { succeeded: 0 } });
    expect(run.failures[0]).toMatchObject({ code: 'source_unavailable' });
    expect((await detail(set.id)).body.backupSet.itemCount).toBe(0);
  });

  it("the set must be the tenant's own: another tenant's or an unknown set is 404 and starts nothing", async () => {
    const globexSet = await createSet('globex set', tokens.globexOwner, 'globex');
    // Only this type's runs: the worker's daily purge may start a runs.purge run in acme meanwhile.
    const addRuns = async () => (await call(base, 'GET', '/api/tenants/acme/runs?type=backup_set.add_policies&limit=500', { token: tokens.owner })).body.runs.length;
    const runsBefore = await addRuns();
    expectError(await addPolicies(globexSet.id, policyIds.slice(0, 1)), 404, 'not_found', "globex's set");
    expectError(await addPolicies('00000000-0000-4000-8000-000000000000', policyIds.slice(0, 1)), 404, 'not_found', 'unknown set');
    for (const scope of [{ backupSetId: globexSet.id, policyIds: [] }, { backupSetId: 'x', policyIds: ['a'] }, { backupSetId: globexSet.id, policyIds: Array.from({ length: 501 }, (_, i) => `p${i}`) }]) {
      const answer = await call(base, 'POST', '/api/tenants/acme/runs', { token: tokens.operator, body: { type: 'backup_set.add_policies', scope } });
      expectError(answer, 400, 'validation_failed', JSON.stringify(scope).slice(0, 80));
    }
    for (const token of [tokens.readonly, tokens.kiosk]) expectError(await addPolicies(globexSet.id, ['a'], token), 403, 'forbidden', 'readonly/kiosk');
    expect(await addRuns()).toBe(runsBefore);
  });
});
