// Many tenants on one screen (docs/api.md §12): `GET /api/overview` through the real HTTP server and PostgreSQL.
// Each tile is held against what the per-tenant routes answer for the same tenant — stats, the running runs,
// the failed and partially succeeded runs, failure reasons — so the one-statement-per-figure SQL cannot drift
// from the rules those routes apply. Who sees which tenants: members (any role), kiosk tokens (their tenants),
// narrowing with `?tenants=`, and the refusals.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { author, STATS_WINDOWS, type StatsWindow } from '../../db/runs/model.ts';
import type { FailureReason, OverviewAnswer, RunSummary, RunView, Stats } from '../../server/http/contract.ts';
import { call, startSystem, type System } from '../helpers/app.ts';
import { expectError } from '../helpers/instances.ts';
import { issueSession } from '../helpers/sessions.ts';
import { testPasswordHash } from '../helpers/stack.ts';

const BY = author('system', 'overview test');
const WINDOWS = Object.keys(STATS_WINDOWS) as StatsWindow[];
/** The overview's bounds per tile (docs/api.md §12). */
const RUNNING = 20;
const FAILURES = 5;
const REASONS = 3;

describe('GET /api/overview', () => {
  let system: System;
  let base: string;
  /** A member of acme (readonly) and globex (operator), not of initech. */
  let noc: string;
  let lonely: string;
  const tokens = { acmeKiosk: '', acmeIntegration: '', acmeOwner: '', globexOwner: '', initechOwner: '' };
  /** acme's runs by what they became. */
  const acme = { running: [] as string[], failed: [] as string[], partial: [] as string[], oldFailed: '' };
  /** acme's failed and partially succeeded runs of the window, in the order they completed. */
  const failing: string[] = [];

  const sql = (query: string, params: unknown[] = []) => system.env.services.orm.em.fork().execute(query, params);
  const overview = async (query = '', token = noc): Promise<OverviewAnswer> => {
    const answer = await call(base, 'GET', `/api/overview${query ? `?${query}` : ''}`, { token });
    expect(answer.status, JSON.stringify(answer.body).slice(0, 300)).toBe(200);
    return answer.body;
  };
  const get = async <T>(path: string, token: string): Promise<T> => {
    const answer = await call(base, 'GET', path, { token });
    expect(answer.status, `${path}: ${JSON.stringify(answer.body).slice(0, 300)}`).toBe(200);
    return answer.body as T;
  };
  const ownerOf = (slug: string) => ({ acme: tokens.acmeOwner, globex: tokens.globexOwner, initech: tokens.initechOwner })[slug]!;

  /** Starts a demo.batch run of a tenant and takes it to `to`: queued, running, or completed with these counts. */
  async function run(slug: string, key: string, to: 'queued' | 'running' | { succeeded: number; failed: number; codes?: string[] }): Promise<string> {
    const { lifecycle, catalog } = system.env.services;
    const tenant = system.tenants[slug]!.tenant;
    const { run: started } = await lifecycle.start({ tenant, declaration: catalog.get('demo.batch')!, scope: { key, items: 10 }, initiatorId: null, by: BY });
    if (to === 'queued') return started.id;
    await lifecycle.markStarted(started.id, BY);
    if (to === 'running') return started.id;
    const failures = (to.codes ?? []).map((code, i) => ({ code, message: `${code} happened (${i})` }));
    await lifecycle.complete(started.id, { total: to.succeeded + to.failed, succeeded: to.succeeded, failed: to.failed, failures }, BY);
    return started.id;
  }

  beforeAll(async () => {
    system = await startSystem({ tenants: ['acme', 'globex', 'initech'], worker: false });
    base = system.app.baseUrl;
    const { env } = system;
    const { tenants } = env.services;
    const passwordHash = await testPasswordHash();
    const nocUser = await tenants.createUser({ email: 'noc@example.test', name: 'NOC', passwordHash });
    await tenants.addMember('acme', 'noc@example.test', 'readonly');
    await tenants.addMember('globex', 'noc@example.test', 'operator');
    noc = await issueSession(env, nocUser);
    lonely = await issueSession(env, await tenants.createUser({ email: 'lonely@example.test', name: 'Nobody', passwordHash }));
    tokens.acmeOwner = await issueSession(env, system.tenants.acme!.users.owner);
    tokens.globexOwner = await issueSession(env, system.tenants.globex!.users.owner);
    tokens.initechOwner = await issueSession(env, system.tenants.initech!.users.owner);
    const kiosk = await call(base, 'POST', '/api/tenants/acme/kiosk-tokens', { token: tokens.acmeOwner, body: { label: 'acme wall' } });
    expect(kiosk.status).toBe(201);
    tokens.acmeKiosk = kiosk.body.token;
    const integration = await call(base, 'POST', '/api/tenants/acme/integration-tokens', { token: tokens.acmeOwner, body: { label: 'acme service' } });
    expect(integration.status).toBe(201);
    tokens.acmeIntegration = integration.body.token;

    // acme: more running runs than a tile shows, more failed and partially succeeded runs than it lists, four
    // reason codes of different frequency, a few queued and succeeded runs, and one failure of two days ago.
    for (let i = 0; i < RUNNING + 4; i++) acme.running.push(await run('acme', `running-${i}`, 'running'));
    for (let i = 0; i < 3; i++) await run('acme', `queued-${i}`, 'queued');
    for (let i = 0; i < 4; i++) await run('acme', `ok-${i}`, { succeeded: 3, failed: 0 });
    const codes = ['quota_exceeded', 'throttled', 'source_unreachable', 'quota_exceeded', 'item_failed', 'quota_exceeded', 'throttled'];
    for (const [i, code] of codes.entries()) {
      acme.failed.push(await run('acme', `failed-${i}`, { succeeded: 0, failed: 2, codes: [code, i % 2 === 0 ? 'item_failed' : code] }));
      failing.push(acme.failed.at(-1)!);
      if (i % 3 === 0) {
        acme.partial.push(await run('acme', `partial-${i}`, { succeeded: 2, failed: 1, codes: [code] }));
        failing.push(acme.partial.at(-1)!);
      }
    }
    acme.oldFailed = await run('acme', 'failed-long-ago', { succeeded: 0, failed: 1, codes: ['certificate_expired'] });
    await sql(
      `update operation_runs set created_at = now() - interval '2 days', started_at = now() - interval '2 days', completed_at = now() - interval '47 hours' where id = ?`,
      [acme.oldFailed],
    );
    await sql(`update run_failure_reasons set run_created_at = now() - interval '2 days' where run_id = ?`, [acme.oldFailed]);
    // globex: a little of everything; initech: runs the NOC user must never see.
    await run('globex', 'g-running', 'running');
    await run('globex', 'g-failed', { succeeded: 0, failed: 1, codes: ['worker_lost'] });
    await run('globex', 'g-ok', { succeeded: 1, failed: 0 });
    await run('initech', 'i-running', 'running');
    await run('initech', 'i-failed', { succeeded: 0, failed: 1, codes: ['initech_only'] });
  });

  afterAll(async () => {
    await system?.stop();
  });

  it("a member of two tenants sees both, by name, and not a third; each tile equals that tenant's own routes", async () => {
    const before = Date.now();
    const answer = await overview();
    expect(answer.window).toBe('24h');
    expect(Date.parse(answer.readAt)).toBeGreaterThanOrEqual(before - 1000);
    expect(Date.parse(answer.readAt)).toBeLessThanOrEqual(Date.now());
    expect(answer.tenants.map((t) => t.tenant)).toEqual([
      { slug: 'acme', name: 'acme Corp' },
      { slug: 'globex', name: 'globex Corp' },
    ]);
    for (const tile of answer.tenants) await expectTileAsPerTenantRoutes(tile, '24h');
    const acmeTile = answer.tenants[0]!;
    expect(acmeTile.buckets).toEqual({ queued: 3, running: RUNNING + 4, succeeded: 4, partially_succeeded: acme.partial.length, failed: acme.failed.length });
    expect(acmeTile.running.map((r) => r.id)).toEqual(acme.running.slice(-RUNNING).reverse());
    expect(acmeTile.latestFailures).toHaveLength(FAILURES);
    expect(acmeTile.reasons.map((r) => r.code)).toEqual(['quota_exceeded', 'item_failed', 'throttled']);
    const text = JSON.stringify(answer);
    expect(text).not.toContain('initech');
    expect(text).not.toContain('certificate_expired');
  });

  it('every window answers with the figures of that window, as stats and failure-reasons do', async () => {
    for (const window of WINDOWS) {
      const answer = await overview(`window=${window}`);
      expect(answer.window).toBe(window);
      for (const tile of answer.tenants) await expectTileAsPerTenantRoutes(tile, window);
    }
    // The failure of two days ago: outside 24h, inside 7d.
    const ids = async (window: string) => (await overview(`window=${window}`)).tenants[0]!.latestFailures.map((r) => r.id);
    expect(await ids('24h')).not.toContain(acme.oldFailed);
    const week = await overview('window=7d&tenants=acme');
    expect(week.tenants[0]!.reasons.map((r) => r.code)).not.toContain('certificate_expired'); // one run: not in the top 3
    expect(week.tenants[0]!.buckets.failed).toBe(acme.failed.length + 1);
  });

  it('tiles list at most 20 running runs (newest first) and 5 latest failures (failed or partially succeeded only, newest completion first)', async () => {
    const [tile] = (await overview('tenants=acme')).tenants;
    expect(tile!.running.length).toBe(RUNNING);
    expect(tile!.running.every((r) => r.status === 'running' && r.bucket === 'running')).toBe(true);
    expect(isNewestFirst(tile!.running.map((r) => r.createdAt))).toBe(true);
    expect(tile!.latestFailures.every((r) => r.bucket === 'failed' || r.bucket === 'partially_succeeded')).toBe(true);
    expect(isNewestFirst(tile!.latestFailures.map((r) => r.completedAt!))).toBe(true);
    // Run summaries: no failures list (the detail has it), the failure count does.
    for (const run of [...tile!.running, ...tile!.latestFailures]) expect(run).not.toHaveProperty('failures');
    expect(tile!.latestFailures.every((r) => r.failureCount > 0)).toBe(true);
    expect(ids(tile!.latestFailures)).toEqual(failing.slice(-FAILURES).reverse());
  });

  it('?tenants= narrows to those of the caller\'s tenants; other slugs are ignored, not refused', async () => {
    const slugs = async (query: string, token = noc) => (await overview(query, token)).tenants.map((t) => t.tenant.slug);
    expect(await slugs('tenants=globex')).toEqual(['globex']);
    expect(await slugs('tenants=globex,acme')).toEqual(['acme', 'globex']);
    expect(await slugs('tenants=initech,nope,globex')).toEqual(['globex']);
    expect(await slugs('tenants=initech')).toEqual([]);
    expect(await slugs('tenants=')).toEqual(['acme', 'globex']);
    expect(await slugs('tenants=%20globex%20,,globex')).toEqual(['globex']);
  });

  it('a bad query is a 400 naming the field', async () => {
    const cases: [string, string][] = [
      ['window=2h', 'query.window'],
      ['window=24H', 'query.window'],
      ['tenants=Acme', 'query.tenants.0'],
      ['tenants=a_b', 'query.tenants.0'],
      [`tenants=${'a'.repeat(2001)}`, 'query.tenants'],
      ['bogus=1', 'query'],
    ];
    for (const [query, path] of cases) {
      const answer = await call(base, 'GET', `/api/overview?${query}`, { token: noc });
      expectError(answer, 400, 'validation_failed', query);
      expect(answer.body.error.details.map((d: { path: string }) => d.path), query).toContain(path);
    }
  });

  it('anonymous is 401, an integration token 403 (whatever the query), a user with no memberships gets no tenants', async () => {
    expectError(await call(base, 'GET', '/api/overview'), 401, 'unauthorized', 'anonymous');
    expectError(await call(base, 'GET', '/api/overview', { token: 'rbu_not-a-token' }), 401, 'unauthorized', 'forged');
    expectError(await call(base, 'GET', '/api/overview', { token: tokens.acmeIntegration }), 403, 'forbidden', 'integration');
    expectError(await call(base, 'GET', '/api/overview?window=nope', { token: tokens.acmeIntegration }), 403, 'forbidden', 'integration, bad query');
    const answer = await overview('', lonely);
    expect(answer).toEqual({ window: '24h', readAt: expect.any(String), tenants: [] });
  });

  it("a kiosk token sees exactly its tenant(s), with the same tiles as members", async () => {
    const answer = await overview('', tokens.acmeKiosk);
    expect(answer.tenants.map((t) => t.tenant.slug)).toEqual(['acme']);
    expect(answer.tenants[0]).toEqual((await overview('tenants=acme')).tenants[0]);
    expect((await overview('tenants=globex', tokens.acmeKiosk)).tenants).toEqual([]);
    // A kiosk token bound to several tenants (docs/api.md §12) reads each of them.
    const manager = await issueSession(system.env, system.tenants.acme!.users.manager);
    await system.env.services.tenants.addMember('initech', 'manager@acme.test', 'manager');
    const created = await call(base, 'POST', '/api/kiosk-tokens', { token: manager, body: { label: 'NOC wall', tenants: ['acme', 'initech'] } });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const both = await overview('', created.body.token);
    expect(both.tenants.map((t) => t.tenant.slug)).toEqual(['acme', 'initech']);
    expect(JSON.stringify(both)).not.toContain('globex');
  });

  it('each tenant is one tile whatever the number of tenants, and a tenant without runs has zero counts', async () => {
    const { tenants } = system.env.services;
    await tenants.createTenant('quiet', 'A quiet one');
    await tenants.addMember('quiet', 'noc@example.test', 'readonly');
    // The session's memberships are read when it authenticates: a new one is seen at once.
    const answer = await overview();
    expect(answer.tenants.map((t) => t.tenant)).toEqual([
      { slug: 'quiet', name: 'A quiet one' },
      { slug: 'acme', name: 'acme Corp' },
      { slug: 'globex', name: 'globex Corp' },
    ]);
    expect(answer.tenants[0]).toEqual({
      tenant: { slug: 'quiet', name: 'A quiet one' },
      buckets: { queued: 0, running: 0, succeeded: 0, partially_succeeded: 0, failed: 0 },
      running: [],
      latestFailures: [],
      reasons: [],
    });
  });

  /** A tile equals what the tenant's own routes answer for the same window. */
  async function expectTileAsPerTenantRoutes(tile: OverviewAnswer['tenants'][number], window: StatsWindow): Promise<void> {
    const slug = tile.tenant.slug;
    const token = ownerOf(slug);
    const label = `${slug} ${window}`;
    const stats = await get<Stats>(`/api/tenants/${slug}/stats?window=${window}`, token);
    expect(tile.buckets, label).toEqual(stats.buckets);
    const running = await get<{ runs: RunView[] }>(`/api/tenants/${slug}/runs?bucket=running&limit=${RUNNING}`, token);
    expect(ids(tile.running), label).toEqual(ids(running.runs));
    expect(tile.running, label).toEqual(running.runs);
    const reasons = await get<{ reasons: FailureReason[] }>(`/api/tenants/${slug}/failure-reasons?window=${window}&limit=${REASONS}`, token);
    expect(tile.reasons, label).toEqual(reasons.reasons);
    // The window's failed and partially succeeded runs by completion, newest first (the list orders by creation).
    const failing = await get<{ runs: RunView[] }>(`/api/tenants/${slug}/runs?bucket=failed&bucket=partially_succeeded&limit=500`, token);
    const since = Date.now() - STATS_WINDOWS[window] * 1000;
    const expected = failing.runs
      .filter((r) => Date.parse(r.completedAt!) >= since)
      .sort((a, b) => Date.parse(b.completedAt!) - Date.parse(a.completedAt!) || b.id.localeCompare(a.id))
      .slice(0, FAILURES);
    expect(ids(tile.latestFailures), label).toEqual(ids(expected));
    expect(tile.latestFailures, label).toEqual(expected);
  }
});

const ids = (runs: readonly Pick<RunSummary, 'id'>[]) => runs.map((r) => r.id);
const isNewestFirst = (instants: string[]) => instants.every((at, i) => i === 0 || Date.parse(instants[i - 1]!) >= Date.parse(at));
