import { author } from '../../db/runs/model.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../db/logger.ts';
import type { SimulatedSettings } from '../../db/sources/entity.ts';
import type { PolicySourceClient, SourcePolicy } from '../../db/sources/source.ts';
import { isSafeText } from '../../db/validation.ts';
import type { DriftFindingsPage, DriftStatus, RunView } from '../../server/http/contract.ts';
import { inventorySync } from '../../worker/operations/inventory-sync.ts';
import { Runner, type OperationHandler } from '../../worker/runner.ts';
import { call, login, startSystem, type System } from '../helpers/app.ts';
import { expectError } from '../helpers/instances.ts';
import { JWT, leakWindows, SECRET_CORPUS } from '../helpers/secret-corpus.ts';

/** Who makes the changes these tests apply directly (their history's `by`). */
const TEST_AUTHOR = author('system', 'test');

// drift.generate and its findings (docs/api.md §10), through the real path: HTTP start → the drift scope
// preparer → bee-queue → a worker process comparing two inventory snapshots in PostgreSQL → GET …/drift/*.

type Finding = DriftFindingsPage['findings'][number];

describe('drift', () => {
  let system: System;
  let base: string;
  const tokens = { operator: '', readonly: '', kiosk: '', integration: '', globexOwner: '', initech: '' };
  const syncs: RunView[] = [];
  let generation: RunView;
  let findings: Finding[];

  const tenantId = (slug = 'acme') => system.tenants[slug]!.tenant.id;
  const setSource = (simulated: SimulatedSettings, slug = 'acme') => system.env.services.sources.setSimulated(tenantId(slug), simulated);
  const start = (scope: Record<string, unknown> | undefined, token = tokens.operator, tenant = 'acme') =>
    call(base, 'POST', `/api/tenants/${tenant}/runs`, { token, body: { type: 'drift.generate', ...(scope ? { scope } : {}) } });
  const detail = async (id: string, tenant = 'acme', token = tokens.operator): Promise<RunView> =>
    (await call(base, 'GET', `/api/tenants/${tenant}/runs/${id}`, { token })).body.run;
  const completed = async (id: string, tenant = 'acme', token = tokens.operator) => {
    await system.feed.completed(id);
    return detail(id, tenant, token);
  };
  const sync = async (token = tokens.operator, tenant = 'acme') => {
    const started = await call(base, 'POST', `/api/tenants/${tenant}/runs`, { token, body: { type: 'inventory.sync' } });
    expect(started.status, JSON.stringify(started.body)).toBe(202);
    return completed(started.body.run.id, tenant, token);
  };
  const read = (query = '', token = tokens.readonly, tenant = 'acme') =>
    call<DriftFindingsPage>(base, 'GET', `/api/tenants/${tenant}/drift/findings${query ? `?${query}` : ''}`, { token });
  const status = (token = tokens.readonly, tenant = 'acme') => call<DriftStatus>(base, 'GET', `/api/tenants/${tenant}/drift/status`, { token });
  const count = async (sql: string) => Number((await system.env.services.orm.em.fork().execute<{ n: string }[]>(sql))[0]?.n);
  const footprint = async () => ({
    runs: await count('select count(*) as n from operation_runs'),
    notifications: await count('select count(*) as n from notifications'),
    findings: await count('select count(*) as n from drift_findings'),
  });
  /** Pauses the worker process, so runs started meanwhile stay queued (active) until `resume`. */
  const pauseWorker = () => system.worker!.child.kill('SIGSTOP');
  const resumeWorker = () => system.worker!.child.kill('SIGCONT');

  beforeAll(async () => {
    system = await startSystem({ tenants: ['acme', 'globex', 'initech'] });
    base = system.app.baseUrl;
    const acme = system.tenants.acme!;
    for (const role of ['operator', 'readonly'] as const) tokens[role] = await login(base, acme.users[role].email);
    tokens.globexOwner = await login(base, system.tenants.globex!.users.owner.email);
    tokens.initech = await login(base, system.tenants.initech!.users.operator.email);
    tokens.kiosk = (await system.env.services.auth.createTenantToken('kiosk', acme.tenant.id, 'wall', null)).token;
    tokens.integration = (await system.env.services.auth.createTenantToken('integration', acme.tenant.id, 'ci', null)).token;
  }, 60_000);

  afterAll(async () => {
    resumeWorker();
    await system?.stop();
  });

  it('with no successful sync and with one: 409 insufficient_inventory, and nothing is created', async () => {
    expect((await status()).body).toEqual({ canGenerate: false, reason: expect.any(String), successfulSyncs: 0, latestSync: null });
    expect((await read()).body).toEqual({ generation: null, counts: { added: 0, removed: 0, modified: 0 }, findings: [], nextCursor: null });
    for (const scope of [undefined, {}]) {
      const before = await footprint();
      expectError(await start(scope), 409, 'insufficient_inventory', 'no sync');
      expect(await footprint()).toEqual(before);
    }

    await setSource({ policies: 40 });
    syncs.push(await sync());
    expect(syncs[0]!.outcome).toBe('succeeded');
    const one = (await status()).body;
    expect(one).toEqual({ canGenerate: false, reason: expect.any(String), successfulSyncs: 1, latestSync: { runId: syncs[0]!.id, completedAt: syncs[0]!.completedAt } });
    const before = await footprint();
    const refused = await start({});
    expectError(refused, 409, 'insufficient_inventory', 'one sync');
    expect(refused.body.error.message).toMatch(/two successful inventory syncs/);
    expect(await footprint()).toEqual(before);
  });

  it('after the revision moves and a second sync: 1 added, 1 removed, 2 modified with field diffs', async () => {
    expect(await system.env.services.sources.moveRevision(tenantId(), 1)).toBe(1);
    syncs.push(await sync());
    expect((await status()).body).toMatchObject({ canGenerate: true, successfulSyncs: 2, latestSync: { runId: syncs[1]!.id } });
    expect((await status()).body.reason).toBeUndefined();

    // The same pair started twice while the first is active: one run, joined (the worker is paused meanwhile).
    pauseWorker();
    let first, second;
    try {
      [first, second] = await Promise.all([start({}), start({})]);
    } finally {
      resumeWorker();
    }
    expect([first.status, second.status].sort()).toEqual([200, 202]);
    expect(first.body.run.id).toBe(second.body.run.id);
    expect([first.body.reused, second.body.reused].sort()).toEqual([false, true]);
    const run = first.body.run as RunView;
    expect(run.scope).toEqual({ baselineRunId: syncs[0]!.id, currentRunId: syncs[1]!.id });
    expect(run.related).toEqual([{ label: 'Drift findings', url: `/t/acme/drift?run=${run.id}` }]);

    generation = await completed(run.id);
    // One item per policy compared: 39 in both, 1 only in the baseline, 1 only in the current snapshot.
    expect(generation).toMatchObject({ outcome: 'succeeded', counts: { total: 41, processed: 41, succeeded: 41, failed: 0, skipped: 0 } });

    const page = (await read()).body;
    expect(page.generation).toEqual({ runId: run.id, baselineRunId: syncs[0]!.id, currentRunId: syncs[1]!.id, completedAt: generation.completedAt, outcome: 'succeeded' });
    expect(page.counts).toEqual({ added: 1, removed: 1, modified: 2 });
    expect(page.nextCursor).toBeNull();
    findings = page.findings;
    expect(findings.map((f) => f.change)).toEqual(['added', 'modified', 'modified', 'removed']);
    for (const finding of findings) {
      expect(finding).toEqual({
        id: expect.any(String),
        policy: { externalId: expect.any(String), name: expect.any(String), policyType: expect.any(String) },
        change: finding.change,
        fields: expect.any(Array),
        fieldsOmitted: 0,
      });
      expect(finding.fields.length).toBeGreaterThan(0);
    }
    const [added, , , removed] = findings;
    expect(added!.fields.every((f) => f.before === null && f.after !== null)).toBe(true);
    expect(removed!.fields.every((f) => f.after === null && f.before !== null)).toBe(true);
    for (const modified of findings.filter((f) => f.change === 'modified')) {
      // The simulated revision changes one setting of each modified policy.
      expect(modified.fields).toHaveLength(1);
      const [field] = modified.fields;
      expect(field!.before).not.toBeNull();
      expect(field!.after).not.toBeNull();
      expect(field!.before).not.toBe(field!.after);
    }
    // Added is in the current snapshot (the inventory now), removed is not.
    const current = (await call(base, 'GET', '/api/tenants/acme/inventory?limit=500', { token: tokens.readonly })).body.policies.map((p: { externalId: string }) => p.externalId);
    expect(current).toContain(added!.policy.externalId);
    expect(current).not.toContain(removed!.policy.externalId);
  });

  it('pages findings by change and name, filters by change, reads a named generation', async () => {
    expect((await read(`run=${generation.id}`)).body.findings).toEqual(findings);
    expect((await read(`run=${generation.id.toUpperCase()}`)).body.findings).toEqual(findings);
    expect((await read('change=modified')).body.findings).toEqual(findings.filter((f) => f.change === 'modified'));
    expect((await read('change=modified')).body.counts).toEqual({ added: 1, removed: 1, modified: 2 });
    const walked: Finding[] = [];
    let cursor: string | null = null;
    do {
      const page: DriftFindingsPage = (await read(`limit=1${cursor ? `&cursor=${cursor}` : ''}`)).body;
      expect(page.findings.length).toBeLessThanOrEqual(1);
      walked.push(...page.findings);
      cursor = page.nextCursor;
    } while (cursor);
    expect(walked).toEqual(findings);
  });

  it('explicit run ids: compared in the order given, a pair of its own', async () => {
    const started = await start({ baselineRunId: syncs[1]!.id, currentRunId: syncs[0]!.id.toUpperCase() });
    expect(started.status, JSON.stringify(started.body)).toBe(202);
    expect(started.body.run.scope).toEqual({ baselineRunId: syncs[1]!.id, currentRunId: syncs[0]!.id });
    const run = await completed(started.body.run.id);
    expect(run.outcome).toBe('succeeded');
    const reversed = (await read(`run=${run.id}`)).body;
    expect(reversed.counts).toEqual({ added: 1, removed: 1, modified: 2 });
    const byChange = (list: Finding[], change: string) => list.filter((f) => f.change === change).map((f) => f.policy.externalId);
    expect(byChange(reversed.findings, 'added')).toEqual(byChange(findings, 'removed'));
    expect(byChange(reversed.findings, 'removed')).toEqual(byChange(findings, 'added'));
    // The default is still the latest successful generation: this one now.
    expect((await read()).body.generation?.runId).toBe(run.id);
  });

  it("refuses a half-given pair, one sync twice, another tenant's or an unsuccessful sync, with details", async () => {
    await setSource({ policies: 5 }, 'globex');
    const globexSync = await sync(tokens.globexOwner, 'globex');
    await setSource({ policies: 40, unavailable: true });
    const failedSync = await sync();
    expect(failedSync.outcome).toBe('failed');
    await setSource({ policies: 40 });

    const [baseline, current] = [syncs[0]!.id, syncs[1]!.id];
    const cases: [Record<string, unknown>, string[]][] = [
      [{ baselineRunId: baseline }, ['scope.currentRunId']],
      [{ currentRunId: current }, ['scope.baselineRunId']],
      [{ baselineRunId: baseline, currentRunId: baseline }, ['scope.currentRunId']],
      [{ baselineRunId: globexSync.id, currentRunId: current }, ['scope.baselineRunId']],
      [{ baselineRunId: baseline, currentRunId: globexSync.id }, ['scope.currentRunId']],
      [{ baselineRunId: failedSync.id, currentRunId: current }, ['scope.baselineRunId']],
      [{ baselineRunId: generation.id, currentRunId: crypto.randomUUID() }, ['scope.baselineRunId', 'scope.currentRunId']],
      [{ baselineRunId: 'nope', currentRunId: current }, ['scope.baselineRunId']],
      [{ baselineRunId: baseline, currentRunId: current, extra: 1 }, ['scope']],
    ];
    const before = await footprint();
    for (const [scope, paths] of cases) {
      const refused = await start(scope);
      expectError(refused, 400, 'validation_failed', JSON.stringify(scope));
      expect(refused.body.error.details.map((d: { path: string }) => d.path), JSON.stringify(scope)).toEqual(paths);
    }
    // Another tenant's run id is refused exactly like a missing one.
    const foreign = await start({ baselineRunId: globexSync.id, currentRunId: current });
    const missing = await start({ baselineRunId: crypto.randomUUID(), currentRunId: current });
    expect(foreign.body).toEqual(missing.body);
    expect(await footprint()).toEqual(before);
  });

  it('reads: members and the kiosk; not another tenant; a run that is not a drift run of this tenant is 404', async () => {
    for (const token of [tokens.readonly, tokens.kiosk, tokens.operator]) {
      expect((await read('', token)).status).toBe(200);
      expect((await status(token)).status).toBe(200);
    }
    for (const [what, answer] of [
      ['integration token', await read('', tokens.integration)],
      ['integration token status', await status(tokens.integration)],
      ['globex owner on acme', await read('', tokens.globexOwner)],
      ['globex owner on acme status', await status(tokens.globexOwner)],
      ['acme kiosk on globex', await read('', tokens.kiosk, 'globex')],
    ] as const) {
      expectError(answer, 403, 'forbidden', what);
    }
    const globexRun = (await call(base, 'GET', '/api/tenants/globex/runs?type=inventory.sync', { token: tokens.globexOwner })).body.runs[0].id;
    for (const run of [syncs[0]!.id, globexRun, crypto.randomUUID(), 'not-a-uuid', `${generation.id}x`, '', '%00']) {
      expectError(await read(`run=${encodeURIComponent(run)}`), 404, 'not_found', `run=${run}`);
    }
    for (const query of ['change=changed', 'change=ADDED', 'limit=0', 'limit=501', 'cursor=garbage', 'bogus=1', 'run=a&run=b']) {
      expectError(await read(query), 400, 'validation_failed', query);
    }
  });

  it('secrets inside settings never appear in findings, by their shape or their setting name', async () => {
    const services = system.env.services;
    const tenant = system.tenants.initech!.tenant;
    const cases = SECRET_CORPUS.filter((c) => isSafeText(c.message));
    const policy = (externalId: string, settings: Record<string, unknown>): SourcePolicy => ({ externalId, name: externalId, policyType: 't', lastModified: null, settings });
    const snapshots: SourcePolicy[][] = [
      [
        policy('kept', { auth: `Bearer ${JWT}`, wifi: { passphrase: 'old-pass-phrase' }, notes: cases.map((c) => c.message), clientSecret: 'short' }),
        policy('leaving', { connection: 'Server=db;User Id=sa;Password=Leaving-Pa55;' }),
      ],
      [
        policy('kept', { auth: 'Basic dXNlcjpuZXctc2VjcmV0LXZhbHVl', wifi: { passphrase: 'new-pass-phrase' }, notes: cases.map((c) => `${c.message}.`), clientSecret: 'longer' }),
        policy('arriving', { url: 'https://hooks.example.com/in?token=arriving-token-123&x=1', password: 'arriving-password' }),
      ],
    ];
    // Two syncs of a source holding these, through the sync handler in process (no simulated source holds secrets).
    for (const policies of snapshots) {
      const source: PolicySourceClient = {
        async *list() {
          yield policies.map((p) => ({ ok: true as const, policy: p }));
        },
        get: () => Promise.reject(new Error('unused')),
        apply: () => Promise.reject(new Error('unused')),
      };
      const handler = inventorySync({ sources: { open: () => Promise.resolve(source) }, inventory: services.inventory });
      const runner = new Runner(services.lifecycle, new Map([['inventory.sync', handler as OperationHandler]]), { stallTimeoutMs: 30_000, logger: createLogger('silent') });
      const { run } = await services.lifecycle.start({ tenant, declaration: services.catalog.get('inventory.sync')!, scope: {}, initiatorId: null, by: TEST_AUTHOR });
      await runner.process(run.id, run.type);
      expect((await services.runs.get(tenant.id, run.id))?.outcome).toBe('succeeded');
    }
    const started = await start({}, tokens.initech, 'initech');
    expect(started.status, JSON.stringify(started.body)).toBe(202);
    expect((await completed(started.body.run.id, 'initech', tokens.initech)).outcome).toBe('succeeded');
    const page = (await read('limit=500', tokens.initech, 'initech')).body;
    expect(page.counts).toEqual({ added: 1, removed: 1, modified: 1 });
    const text = JSON.stringify(page);
    for (const secret of [JWT, 'dXNlcjpuZXctc2VjcmV0LXZhbHVl', 'old-pass-phrase', 'new-pass-phrase', 'short', 'longer', 'Leaving-Pa55', 'arriving-token-123', 'arriving-password']) {
      expect(text, secret).not.toContain(secret);
    }
    const leaks = cases.flatMap((kase) =>
      kase.secrets.filter((secret) => text.includes(secret) || text.includes(JSON.stringify(secret).slice(1, -1)) || leakWindows(secret, kase.message, kase.secrets).some((w) => text.includes(w))).map((s) => `${kase.name}: ${s.slice(0, 10)}`),
    );
    expect(leaks).toEqual([]);
    // What is not secret is still shown.
    expect(text).toContain('hooks.example.com');
    expect(page.findings.find((f) => f.change === 'modified')!.fields.map((f) => f.path)).toEqual(expect.arrayContaining(['auth', 'wifi.passphrase', 'clientSecret']));
  });

  it('a generation whose snapshot went away fails inventory_not_found and tells its initiator', async () => {
    pauseWorker();
    let started;
    try {
      started = await start({ baselineRunId: syncs[0]!.id, currentRunId: syncs[1]!.id });
      expect(started.status, JSON.stringify(started.body)).toBe(202);
      // The baseline sync is purged (with its snapshot) while the generation waits for a worker.
      await system.env.services.orm.em.fork().execute('delete from operation_runs where id = ?', [syncs[0]!.id]);
    } finally {
      resumeWorker();
    }
    const run = await completed(started.body.run.id);
    expect(run).toMatchObject({ outcome: 'failed', failureCount: 1 });
    expect(run.failures).toEqual([{ code: 'inventory_not_found', message: expect.stringContaining('baseline') }]);
    const completedNote = () =>
      system.feed.users.some((u) => u.type === 'notification:new' && u.notification.runId === run.id && u.notification.level === 'danger');
    await system.feed.until(completedNote, 10_000, 'the failed generation notification');
    // A failed generation is never the default.
    expect((await read()).body.generation?.runId).not.toBe(run.id);
  });
});
