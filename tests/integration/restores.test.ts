import { author } from '../../db/runs/model.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../db/logger.ts';
import { createOrm, type Orm } from '../../db/orm.ts';
import { createServices, type Services } from '../../db/services.ts';
import type { SimulatedSettings } from '../../db/sources/entity.ts';
import { simulatedExternalId } from '../../db/sources/simulated.ts';
import type { PolicySourceClient } from '../../db/sources/source.ts';
import { startWorker, type Worker } from '../../worker/worker.ts';
import { call, login, startSystem, type System } from '../helpers/app.ts';
import { expectError } from '../helpers/instances.ts';
import { RecordingClient } from '../helpers/live.ts';

/** Who makes the changes these tests apply directly (their history's `by`). */
const TEST_AUTHOR = author('system', 'test');

// Restores (docs/api.md §10): a workflow with its own record, mirrored from its preview on by a
// `restore.execute` run that a worker drives. The worker here is the real one (worker/worker.ts) running in
// this process, so that every write to the source can be counted: its policy source is the tenant's
// simulated one, wrapped to count apply() calls and to hold one on request.

const STALL_TIMEOUT_MS = 2_000;
const POLICIES = 10;

type Restore = {
  id: string;
  status: string;
  backupSet: { id: string; name: string };
  policyIds: string[] | null;
  runId: string | null;
  createdAt: string;
  updatedAt: string;
  items: { policy: { externalId: string; name: string; policyType: string }; action: string; fields: { path: string; before: string | null; after: string | null }[]; result: string | null; errorCode: string | null }[];
  counts: { create: number; update: number; unchanged: number };
};

describe('restores', () => {
  let system: System;
  let base: string;
  let workerOrm: Orm;
  let workerServices: Services;
  let worker: Worker;
  const tokens = { owner: '', manager: '', operator: '', readonly: '', kiosk: '', integration: '', globexOwner: '' };
  const clients: RecordingClient[] = [];
  /** apply() calls per external id, and an apply to hold until released. */
  const applied = new Map<string, number>();
  let hold: { externalId: string; reached: () => void; release: Promise<void> } | null = null;
  let backupSet: { id: string; name: string };
  const ids = Array.from({ length: POLICIES }, (_, i) => simulatedExternalId('acme', i));

  const acmeId = () => system.tenants.acme!.tenant.id;
  const setSource = (simulated: SimulatedSettings, tenantId = acmeId()) => system.env.services.sources.setSimulated(tenantId, simulated);
  const api = <T = any>(method: string, path: string, token: string, body?: unknown) =>
    call<T>(base, method, `/api/tenants/acme${path}`, { token, ...(body !== undefined ? { body } : {}) });
  const runOf = async (runId: string) => (await api('GET', `/runs/${runId}`, tokens.owner)).body.run;
  const restoreOf = async (id: string, token = tokens.readonly): Promise<Restore> => {
    const answer = await api<{ restore: Restore }>('GET', `/restores/${id}`, token);
    expect(answer.status, JSON.stringify(answer.body)).toBe(200);
    return answer.body.restore;
  };
  const startAndWait = async (type: string, scope: Record<string, unknown>) => {
    const started = await api('POST', '/runs', tokens.operator, { type, scope });
    expect(started.status, JSON.stringify(started.body)).toBe(202);
    await system.feed.completed(started.body.run.id);
    return runOf(started.body.run.id);
  };
  const createRestore = async (body: Record<string, unknown> = { backupSetId: backupSet.id }): Promise<Restore> => {
    const created = await api<{ restore: Restore }>('POST', '/restores', tokens.manager, body);
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    return created.body.restore;
  };
  const act = (id: string, action: 'preview' | 'execute' | 'discard', token = tokens.manager) => api<{ restore: Restore }>('POST', `/restores/${id}/${action}`, token);
  const previewed = async (body?: Record<string, unknown>): Promise<Restore> => {
    const restore = await createRestore(body);
    const answer = await act(restore.id, 'preview');
    expect(answer.status, JSON.stringify(answer.body)).toBe(200);
    return answer.body.restore;
  };
  /** Executes and waits for the restore's run to complete; the restore as it then reads. */
  const executed = async (restore: Restore): Promise<Restore> => {
    const answer = await act(restore.id, 'execute');
    expect(answer.status, JSON.stringify(answer.body)).toBe(200);
    await system.feed.completed(restore.runId!);
    return restoreOf(restore.id);
  };
  const byAction = (restore: Restore, action: string) => restore.items.filter((i) => i.action === action).map((i) => i.policy.externalId);

  beforeAll(async () => {
    system = await startSystem({ tenants: ['acme', 'globex'], worker: false, env: { RUN_STALL_TIMEOUT_MS: String(STALL_TIMEOUT_MS) } });
    base = system.app.baseUrl;
    const acme = system.tenants.acme!;
    for (const role of ['owner', 'manager', 'operator', 'readonly'] as const) tokens[role] = await login(base, acme.users[role].email);
    tokens.globexOwner = await login(base, system.tenants.globex!.users.owner.email);
    tokens.kiosk = (await system.env.services.auth.createTenantToken('kiosk', acme.tenant.id, 'wall', null)).token;
    tokens.integration = (await system.env.services.auth.createTenantToken('integration', acme.tenant.id, 'restore service', null)).token;

    // The real worker, in this process: its own pool and queue connection, its source wrapped to count writes.
    workerOrm = await createOrm({ databaseUrl: system.env.env.DATABASE_URL!, poolMax: 10 });
    workerServices = await createServices(system.env.config, workerOrm, createLogger('silent'), { isWorker: true });
    const open = workerServices.sources.open.bind(workerServices.sources);
    workerServices.sources.open = async (tenantId: string): Promise<PolicySourceClient> => {
      const source = await open(tenantId);
      return {
        list: (signal) => source.list(signal),
        get: (externalId, signal) => source.get(externalId, signal),
        apply: async (policy, signal) => {
          applied.set(policy.externalId, (applied.get(policy.externalId) ?? 0) + 1);
          if (hold?.externalId === policy.externalId) {
            hold.reached();
            await hold.release;
          }
          return source.apply(policy, signal);
        },
      };
    };
    worker = startWorker(workerServices);

    // A backup of every policy at revision 0, then the source moves on one revision (one policy removed, one
    // added, two modified) and is synced again: the inventory a preview compares with.
    await setSource({ policies: POLICIES });
    expect(await startAndWait('inventory.sync', {})).toMatchObject({ outcome: 'succeeded' });
    const created = await api('POST', '/backup-sets', tokens.operator, { name: 'Golden' });
    backupSet = created.body.backupSet;
    expect(await startAndWait('backup_set.add_policies', { backupSetId: backupSet.id, policyIds: ids })).toMatchObject({ outcome: 'succeeded', counts: { succeeded: POLICIES } });
    await setSource({ policies: POLICIES, revision: 1 });
    expect(await startAndWait('inventory.sync', {})).toMatchObject({ outcome: 'succeeded' });
  }, 90_000);

  afterAll(async () => {
    for (const client of clients) client.close();
    await worker?.close();
    await workerServices?.close();
    await workerOrm?.close();
    await system?.stop();
  }, 60_000);

  it('lives draft → previewed → executing → completed, its run queued → running → completed and pushed live', async () => {
    const tab = await RecordingClient.connect(base, { token: tokens.manager });
    clients.push(tab);
    expect(await tab.subscribe({ tenant: 'acme' })).toEqual({ ok: true });

    const draft = await createRestore();
    expect(draft).toMatchObject({ status: 'draft', backupSet: { id: backupSet.id, name: 'Golden' }, policyIds: null, runId: null, items: [], counts: { create: 0, update: 0, unchanged: 0 } });

    const preview = await act(draft.id, 'preview');
    expect(preview.status, JSON.stringify(preview.body)).toBe(200);
    const restore = preview.body.restore;
    // Revision 1 removed policy 0 (→ create) and modified two others (→ update); the other seven are unchanged.
    expect(restore).toMatchObject({ status: 'previewed', counts: { create: 1, update: 2, unchanged: 7 }, runId: expect.any(String) });
    expect(byAction(restore, 'create')).toEqual([ids[0]]);
    expect(restore.items).toHaveLength(POLICIES);
    for (const item of restore.items) {
      expect(item.result).toBeNull();
      if (item.action === 'unchanged') expect(item.fields).toEqual([]);
      else expect(item.fields.length).toBeGreaterThan(0);
    }
    const update = restore.items.find((i) => i.action === 'update')!;
    expect(update.fields.every((f) => f.before !== null && f.after !== null && f.before !== f.after)).toBe(true);
    expect(restore.items.find((i) => i.action === 'create')!.fields.every((f) => f.before === null)).toBe(true);

    const runId = restore.runId!;
    const queued = await runOf(runId);
    expect(queued).toMatchObject({
      type: 'restore.execute',
      status: 'queued',
      outcome: 'pending',
      version: 1,
      scope: { restoreId: restore.id, backupSetId: backupSet.id, backupSetName: 'Golden' },
      initiator: { id: system.tenants.acme!.users.manager.id },
      related: [
        { label: 'Restore', url: `/t/acme/restores/${restore.id}` },
        { label: 'Backup set Golden', url: `/t/acme/backups/${backupSet.id}` },
      ],
    });

    // Previewing again recomputes and keeps the same run, untouched.
    const again = await act(draft.id, 'preview');
    expect(again.body.restore).toMatchObject({ status: 'previewed', runId, counts: restore.counts });
    expect(await runOf(runId)).toMatchObject({ status: 'queued', version: 1 });

    applied.clear();
    const execute = await act(restore.id, 'execute');
    expect(execute.status, JSON.stringify(execute.body)).toBe(200);
    expect(execute.body.restore.status).toBe('executing');
    await system.feed.completed(runId);
    const done = await restoreOf(restore.id);
    expect(done.status).toBe('completed');
    for (const item of done.items) expect(item.result, item.action).toBe(item.action === 'unchanged' ? 'skipped' : 'applied');
    const run = await runOf(runId);
    expect(run).toMatchObject({ status: 'completed', outcome: 'succeeded', counts: { total: 10, processed: 10, succeeded: 3, failed: 0, skipped: 7 }, failureCount: 0 });
    // Each create/update item written once, unchanged ones never.
    expect(Object.fromEntries(applied)).toEqual(Object.fromEntries([...byAction(restore, 'create'), ...byAction(restore, 'update')].map((id) => [id, 1])));

    // Pushed live, in version order: queued, started, progress per item, completed.
    await tab.until(() => tab.of('run:update').some((u) => u.run.id === runId && u.kind === 'completed'), 10_000, 'completed push');
    const pushes = tab.of('run:update').filter((u) => u.run.id === runId);
    expect(pushes.map((u) => u.kind)).toEqual(['queued', 'started', ...Array(1 + POLICIES).fill('progress'), 'completed']);
    expect(pushes.map((u) => u.run.version)).toEqual(pushes.map((_, i) => i + 1));
    expect(pushes.at(-1)!.run).toMatchObject({ outcome: 'succeeded', counts: { processed: 10 } });
    // The initiator (the previewing manager) was told: queued, then succeeded.
    const told = () => system.feed.users.flatMap((u) => (u.type === 'notification:new' && u.notification.runId === runId ? [u] : []));
    await system.feed.until(() => told().length === 2, 10_000, 'queued and succeeded notifications');
    expect(told().map((u) => [u.userId, u.notification.level])).toEqual([
      [system.tenants.acme!.users.manager.id, 'info'],
      [system.tenants.acme!.users.manager.id, 'success'],
    ]);

    const list = await api('GET', '/restores', tokens.kiosk);
    expect(list.status).toBe(200);
    expect(list.body.restores[0]).toEqual({ ...done, items: undefined });
  });

  it('a policy the source refuses is an item failure: completed_with_errors, its run partially_succeeded', async () => {
    const restore = await previewed({ backupSetId: backupSet.id, policyIds: [ids[0]!, ...ids.slice(1)] });
    const [refused, ...others] = [...byAction(restore, 'update'), ...byAction(restore, 'create')];
    await setSource({ policies: POLICIES, revision: 1, failItems: [refused!] });
    try {
      const done = await executed(restore);
      expect(done.status).toBe('completed_with_errors');
      expect(done.items.find((i) => i.policy.externalId === refused)).toMatchObject({ result: 'failed', errorCode: 'source_apply_failed' });
      for (const id of others) expect(done.items.find((i) => i.policy.externalId === id)!.result).toBe('applied');
      const run = await runOf(restore.runId!);
      expect(run).toMatchObject({ outcome: 'partially_succeeded', counts: { total: 10, succeeded: 2, failed: 1, skipped: 7 }, failureCount: 1 });
      expect(run.failures).toEqual([{ code: 'source_apply_failed', message: expect.stringContaining('refused'), item: refused }]);
    } finally {
      await setSource({ policies: POLICIES, revision: 1 });
    }
  });

  it('a source that fails as a whole aborts the run with its code: the restore ends failed, nothing applied', async () => {
    const restore = await previewed();
    await setSource({ policies: POLICIES, revision: 1, unavailable: true });
    try {
      const done = await executed(restore);
      expect(done.status).toBe('failed');
      const run = await runOf(restore.runId!);
      expect(run).toMatchObject({ outcome: 'failed', counts: { succeeded: 0, failed: 0 } });
      expect(run.failures.map((f: { code: string }) => f.code)).toEqual(['source_unavailable']);
      expect(done.items.filter((i) => i.result === 'applied')).toEqual([]);
    } finally {
      await setSource({ policies: POLICIES, revision: 1 });
    }
  });

  it('of two concurrent executes exactly one wins; every item is applied once', async () => {
    const restore = await previewed();
    applied.clear();
    const answers = await Promise.all([act(restore.id, 'execute'), act(restore.id, 'execute'), act(restore.id, 'execute')]);
    expect(answers.map((a) => a.status).sort()).toEqual([200, 409, 409]);
    for (const answer of answers.filter((a) => a.status === 409)) expectError(answer, 409, 'invalid_transition', 'losing execute');
    await system.feed.completed(restore.runId!);
    expect((await restoreOf(restore.id)).status).toBe('completed');
    expect([...applied.values()]).toEqual([1, 1, 1]);
    expect((await runOf(restore.runId!)).counts).toMatchObject({ total: 10, processed: 10, succeeded: 3, skipped: 7 });
  });

  it('a job that cannot be queued fails the run dispatch_failed and ends the restore failed (503)', async () => {
    const restore = await previewed();
    const { queue } = system.env.services;
    const createJob = queue.createJob.bind(queue);
    queue.createJob = () => {
      throw new Error('Redis is gone');
    };
    try {
      const answer = await act(restore.id, 'execute');
      expect(answer.status).toBe(503);
      expect(answer.body).toMatchObject({ error: { code: 'dispatch_failed' }, run: { id: restore.runId, status: 'completed', outcome: 'failed' } });
    } finally {
      queue.createJob = createJob;
    }
    expect((await runOf(restore.runId!)).failures).toEqual([expect.objectContaining({ code: 'dispatch_failed' })]);
    expect((await restoreOf(restore.id)).status).toBe('failed');
    expectError(await act(restore.id, 'execute'), 409, 'invalid_transition', 'execute after dispatch failed');
  });

  it('heartbeats while a write is slow, so a long item does not end the run as lost', async () => {
    const restore = await previewed();
    let reached!: () => void;
    const atItem = new Promise<void>((resolve) => (reached = resolve));
    let release!: () => void;
    hold = { externalId: byAction(restore, 'update')[0]!, reached, release: new Promise((resolve) => (release = resolve)) };
    try {
      expect((await act(restore.id, 'execute')).status).toBe(200);
      await atItem;
      // Three stall timeouts with the worker's sweep running: the write's heartbeats keep the run alive.
      await new Promise((resolve) => setTimeout(resolve, 3 * STALL_TIMEOUT_MS));
      expect(await runOf(restore.runId!)).toMatchObject({ status: 'running' });
      release();
      await system.feed.completed(restore.runId!);
      expect((await runOf(restore.runId!)).outcome).toBe('succeeded');
      expect((await restoreOf(restore.id)).status).toBe('completed');
    } finally {
      hold = null;
      release?.();
    }
  }, 30_000);

  it('a run ended elsewhere mid-restore (worker lost) stops the driver and ends the restore failed', async () => {
    const restore = await previewed();
    let reached!: () => void;
    const atItem = new Promise<void>((resolve) => (reached = resolve));
    let release!: () => void;
    const first = [...byAction(restore, 'create'), ...byAction(restore, 'update')].sort()[0]!;
    hold = { externalId: first, reached, release: new Promise((resolve) => (release = resolve)) };
    applied.clear();
    try {
      expect((await act(restore.id, 'execute')).status).toBe(200);
      await atItem;
      // What the sweep does to a run whose worker stopped reporting.
      await system.env.services.lifecycle.fail(restore.runId!, { code: 'worker_lost', message: 'The worker stopped reporting.' }, TEST_AUTHOR, ['running']);
      // Read while the driver is still stuck: the restore already takes its end from the run.
      expect((await restoreOf(restore.id)).status).toBe('failed');
      release();
      // The driver records the held item, finds its event refused and stops.
      let after = await restoreOf(restore.id);
      for (let i = 0; i < 50 && after.items.find((item) => item.policy.externalId === first)!.result === null; i++) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        after = await restoreOf(restore.id);
      }
      expect(after.status).toBe('failed');
      expect(after.items.find((item) => item.policy.externalId === first)!.result).toBe('applied');
      // The held item was the last one written: the driver stopped at its refused event.
      expect([...applied.keys()]).toEqual([first]);
      expect(await runOf(restore.runId!)).toMatchObject({ outcome: 'failed', failures: [expect.objectContaining({ code: 'worker_lost' })] });
    } finally {
      hold = null;
      release?.();
    }
  }, 30_000);

  it('discard: a draft has no run; a previewed restore\'s run ends failed/restore_discarded and its initiator is told', async () => {
    const draft = await createRestore();
    const discarded = await act(draft.id, 'discard');
    expect(discarded.status).toBe(200);
    expect(discarded.body.restore).toMatchObject({ status: 'discarded', runId: null });

    const restore = await previewed();
    const answer = await act(restore.id, 'discard');
    expect(answer.body.restore).toMatchObject({ status: 'discarded', runId: restore.runId });
    const run = await runOf(restore.runId!);
    expect(run).toMatchObject({ status: 'completed', outcome: 'failed', failures: [{ code: 'restore_discarded', message: expect.any(String) }] });
    await system.feed.until(
      () => system.feed.users.some((u) => u.type === 'notification:new' && u.notification.runId === restore.runId && u.notification.level === 'danger'),
      10_000,
      'the discarded run\'s notification',
    );
    const inbox = await call(base, 'GET', '/api/notifications', { token: tokens.manager });
    expect(inbox.body.notifications.find((n: { runId: string; level: string }) => n.runId === restore.runId && n.level === 'danger')).toBeDefined();
  });

  it('transitions out of order are 409 and change nothing', async () => {
    const fingerprint = async (id: string) => {
      const restore = await restoreOf(id);
      return { restore, run: restore.runId ? await runOf(restore.runId) : null };
    };
    const expectRefused = async (id: string, actions: ('preview' | 'execute' | 'discard')[]) => {
      const before = await fingerprint(id);
      for (const action of actions) expectError(await act(id, action), 409, 'invalid_transition', `${action} of ${before.restore.status}`);
      expect(await fingerprint(id)).toEqual(before);
    };
    await expectRefused((await createRestore()).id, ['execute']);
    const discarded = await previewed();
    await act(discarded.id, 'discard');
    await expectRefused(discarded.id, ['preview', 'execute', 'discard']);
    const done = await executed(await previewed());
    expect(done.status).toBe('completed');
    await expectRefused(done.id, ['preview', 'execute', 'discard']);
  });

  it('who may: managers change restores, members and kiosks read them; owned runs cannot be started elsewhere', async () => {
    const restore = await previewed();
    for (const token of [tokens.operator, tokens.readonly, tokens.kiosk, tokens.integration]) {
      expectError(await api('POST', '/restores', token, { backupSetId: backupSet.id }), 403, 'forbidden', 'create');
      for (const action of ['preview', 'execute', 'discard'] as const) expectError(await act(restore.id, action, token), 403, 'forbidden', action);
    }
    expectError(await api('GET', `/restores/${restore.id}`, tokens.integration), 403, 'forbidden', 'integration read');
    for (const token of [tokens.readonly, tokens.kiosk, tokens.owner]) expect((await api('GET', `/restores/${restore.id}`, token)).status).toBe(200);
    expect((await restoreOf(restore.id)).status).toBe('previewed');

    // The run of a restore is started by its preview only: not by members, not by integration tokens.
    const scope = { restoreId: restore.id, backupSetId: backupSet.id, backupSetName: 'Golden' };
    expectError(await api('POST', '/runs', tokens.owner, { type: 'restore.execute', scope }), 409, 'started_elsewhere', 'owner starts restore.execute');
    expectError(await api('POST', '/runs', tokens.integration, { type: 'restore.execute', scope }), 409, 'started_elsewhere', 'integration starts restore.execute');
    for (const token of [tokens.readonly, tokens.kiosk]) expectError(await api('POST', '/runs', token, { type: 'restore.execute', scope }), 403, 'forbidden', 'readonly/kiosk');

    // Another tenant: not a member → 403; its own restore and set are 404 under acme, and acme's under globex.
    expectError(await call(base, 'GET', `/api/tenants/acme/restores/${restore.id}`, { token: tokens.globexOwner }), 403, 'forbidden', 'non-member');
    const globexOwnerAsMember = tokens.globexOwner; // an owner there, nobody here
    await system.env.services.sources.setSimulated(system.tenants.globex!.tenant.id, { policies: 3 });
    const globexSet = (await call(base, 'POST', '/api/tenants/globex/backup-sets', { token: globexOwnerAsMember, body: { name: 'g' } })).body.backupSet;
    expectError(await api('POST', '/restores', tokens.manager, { backupSetId: globexSet.id }), 404, 'not_found', "globex's set");
    expectError(await call(base, 'GET', `/api/tenants/globex/restores/${restore.id}`, { token: globexOwnerAsMember }), 404, 'not_found', "acme's restore under globex");
    for (const action of ['preview', 'execute', 'discard'] as const) {
      expectError(await call(base, 'POST', `/api/tenants/globex/restores/${restore.id}/${action}`, { token: globexOwnerAsMember }), 404, 'not_found', `globex ${action}`);
    }
    expect((await restoreOf(restore.id)).status).toBe('previewed');
    expect(await runOf(restore.runId!)).toMatchObject({ status: 'queued', version: 1 });
  });

  it('validates input: ids, policies of the set, bodies; an empty set and a tenant without inventory are 409', async () => {
    for (const body of [{}, { backupSetId: 'x' }, { backupSetId: backupSet.id, policyIds: [] }, { backupSetId: backupSet.id, extra: true }, { backupSetId: backupSet.id, policyIds: ['a\u0000'] }]) {
      expectError(await api('POST', '/restores', tokens.manager, body), 400, 'validation_failed', JSON.stringify(body));
    }
    const notInSet = await api('POST', '/restores', tokens.manager, { backupSetId: backupSet.id, policyIds: [ids[1], 'not-captured'] });
    expectError(notInSet, 400, 'validation_failed', 'policy not in the set');
    expect(notInSet.body.error.details).toEqual([{ path: 'policyIds.1', message: expect.any(String) }]);
    expectError(await api('POST', '/restores', tokens.manager, { backupSetId: '00000000-0000-4000-8000-000000000000' }), 404, 'not_found', 'unknown set');
    for (const id of ['nope', '00000000-0000-4000-8000-000000000000']) {
      expectError(await api('GET', `/restores/${id}`, tokens.readonly), 404, 'not_found', id);
      expectError(await act(id, 'preview'), 404, 'not_found', id);
    }
    const restore = await createRestore();
    expectError(await api('POST', `/restores/${restore.id}/preview`, tokens.manager, { force: true }), 400, 'validation_failed', 'preview body');
    expectError(await api('GET', '/restores?limit=1000', tokens.readonly), 400, 'validation_failed', 'limit');

    const empty = (await api('POST', '/backup-sets', tokens.operator, { name: 'Empty' })).body.backupSet;
    expectError(await api('POST', '/restores', tokens.manager, { backupSetId: empty.id }), 409, 'backup_set_empty', 'empty set');

    // globex has a backed-up policy but has never synced its inventory: a preview cannot compare with anything.
    const globex = system.tenants.globex!.tenant;
    await system.env.services.sources.setSimulated(globex.id, { policies: 3 });
    const globexSet = (await call(base, 'POST', '/api/tenants/globex/backup-sets', { token: tokens.globexOwner, body: { name: 'g2' } })).body.backupSet;
    const added = await call(base, 'POST', '/api/tenants/globex/runs', {
      token: tokens.globexOwner,
      body: { type: 'backup_set.add_policies', scope: { backupSetId: globexSet.id, policyIds: [simulatedExternalId('globex', 0)] } },
    });
    await system.feed.completed(added.body.run.id);
    const draft = await call(base, 'POST', '/api/tenants/globex/restores', { token: tokens.globexOwner, body: { backupSetId: globexSet.id } });
    expect(draft.status, JSON.stringify(draft.body)).toBe(201);
    const refused = await call(base, 'POST', `/api/tenants/globex/restores/${draft.body.restore.id}/preview`, { token: tokens.globexOwner });
    expectError(refused, 409, 'no_inventory', 'preview without inventory');
    const after = await call(base, 'GET', `/api/tenants/globex/restores/${draft.body.restore.id}`, { token: tokens.globexOwner });
    expect(after.body.restore).toMatchObject({ status: 'draft', runId: null, items: [] });
  });
});
