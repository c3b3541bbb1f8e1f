// Finding runs and understanding failures (docs/api.md §11), through the real path: HTTP → PostgreSQL → a real
// worker process → the changefeed → a live socket. Search (`q`) by every kind of match, literal and
// case-insensitive, combined with the other filters and paged; `failureCode`; the failure-reasons summary
// (ordering, window, failures beyond the 1,000 a run stores); each run's history (who did what, thinned
// progress, live on `run:update`); baselines; the purge taking history with the run; and the migration's
// backfill of runs that existed before all this.
import { hostname } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOST_WORKER_SWEEP } from '../../db/runs/lifecycle.ts';
import { createLogger } from '../../db/logger.ts';
import { loadConfig } from '../../db/config.ts';
import { createOrm } from '../../db/orm.ts';
import { author, HISTORY_PROGRESS_EVERY_MS, MAX_STORED_FAILURES } from '../../db/runs/model.ts';
import { createRunsQueue } from '../../db/queue.ts';
import { RunStarter } from '../../db/runs/start.ts';
import { searchTextOf } from '../../db/runs/search-store.ts';
import { createServices } from '../../db/services.ts';
import type { FailureReason, RunHistoryEntry, RunView } from '../../server/http/contract.ts';
import { createApp } from '../../server/app.ts';
import { call, startSystem, type System } from '../helpers/app.ts';
import { createTestDatabase, randomName, TEST_REDIS_URL } from '../helpers/database.ts';
import { expectError } from '../helpers/instances.ts';
import { RecordingClient } from '../helpers/live.ts';
import { issueSession } from '../helpers/sessions.ts';
import { deleteRedisKeys, seedTenant, type Seeded } from '../helpers/stack.ts';

/** Durations are whole milliseconds on the wire; PostgreSQL keeps microseconds. */
const MS_SLACK = 2;
const INTEGRATION_LABEL = 'restore service';
/** A worker run with this many failures, all reported between two progress writes. */
const WORKER_BULK = 1_500;
/** The linear-interpolation percentile PostgreSQL's percentile_cont computes. */
function percentile(values: number[], fraction: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const position = fraction * (sorted.length - 1);
  const low = Math.floor(position);
  const high = Math.ceil(position);
  return sorted[low]! + (sorted[high]! - sorted[low]!) * (position - low);
}

const durationOf = (run: RunView) => Date.parse(run.completedAt!) - Date.parse(run.startedAt!);
const gaps = (entries: RunHistoryEntry[]) => entries.slice(1).map((entry, i) => Date.parse(entry.at) - Date.parse(entries[i]!.at));

describe('run insight: search, failure reasons, history and baselines', () => {
  let system: System;
  let base: string;
  let acme: Seeded;
  const tokens = { operator: '', owner: '', readonly: '', integration: '' };
  let workerName: string;
  let live: RecordingClient;
  /** A run of ~11.5 s, started first so that it runs while the other tests do (progress thinning, below). */
  let longRunId: string;

  const sql = <T = Record<string, unknown>>(query: string, params: unknown[] = []) => system.env.services.orm.em.fork().execute<T[]>(query, params);
  const get = (path: string, token = tokens.readonly) => call(base, 'GET', path, { token });
  const startBatch = async (scope: Record<string, unknown>, token = tokens.operator, tenant = 'acme'): Promise<RunView> => {
    const answer = await call(base, 'POST', `/api/tenants/${tenant}/runs`, { token, body: { type: 'demo.batch', scope } });
    expect(answer.status, JSON.stringify(answer.body)).toBe(202);
    return answer.body.run;
  };
  const startMirrored = async (key: string, options: { token?: string; tenant?: string; initiator?: string } = {}): Promise<RunView> => {
    const body = { type: 'demo.external', scope: { key }, ...(options.initiator ? { initiator: { email: options.initiator } } : {}) };
    const answer = await call(base, 'POST', `/api/tenants/${options.tenant ?? 'acme'}/runs`, { token: options.token ?? tokens.integration, body });
    expect(answer.status, JSON.stringify(answer.body)).toBe(202);
    return answer.body.run;
  };
  const report = async (runId: string, event: Record<string, unknown>, token = tokens.integration, tenant = 'acme'): Promise<RunView> => {
    const answer = await call(base, 'POST', `/api/tenants/${tenant}/runs/${runId}/events`, { token, body: event });
    expect(answer.status, JSON.stringify(answer.body).slice(0, 300)).toBe(200);
    return answer.body.run;
  };
  const completed = async (runId: string, timeoutMs = 30_000): Promise<RunView> => (await system.feed.completed(runId, timeoutMs)).run;
  const detail = async (runId: string, tenant = 'acme', token = tokens.readonly): Promise<RunView> => {
    const answer = await get(`/api/tenants/${tenant}/runs/${runId}`, token);
    expect(answer.status).toBe(200);
    return answer.body.run;
  };
  const historyOf = async (runId: string, tenant = 'acme', token = tokens.readonly): Promise<RunHistoryEntry[]> => {
    const answer = await get(`/api/tenants/${tenant}/runs/${runId}/history`, token);
    expect(answer.status, JSON.stringify(answer.body)).toBe(200);
    return answer.body.history;
  };
  /** Every run id a list query answers (one page of up to 500). */
  const listIds = async (query: string, tenant = 'acme', token = tokens.readonly): Promise<string[]> => {
    const answer = await get(`/api/tenants/${tenant}/runs?limit=500${query ? `&${query}` : ''}`, token);
    expect(answer.status, `${query}: ${JSON.stringify(answer.body).slice(0, 300)}`).toBe(200);
    expect(answer.body.nextCursor).toBeNull();
    return answer.body.runs.map((r: RunView) => r.id);
  };
  const search = (q: string, extra = '', tenant = 'acme') => listIds(`q=${encodeURIComponent(q)}${extra ? `&${extra}` : ''}`, tenant);
  const sorted = (ids: string[]) => [...ids].sort();

  beforeAll(async () => {
    system = await startSystem({ tenants: ['acme', 'globex'] });
    base = system.app.baseUrl;
    acme = system.tenants.acme!;
    const { env } = system;
    [tokens.operator, tokens.owner, tokens.readonly] = await Promise.all([
      issueSession(env, acme.users.operator),
      issueSession(env, acme.users.owner),
      issueSession(env, acme.users.readonly),
    ]);
    tokens.integration = (await env.services.auth.createTenantToken('integration', acme.tenant.id, INTEGRATION_LABEL, null)).token;
    // The worker names itself by host and process id; its child process is the node process itself.
    workerName = `${hostname()} (pid ${system.worker!.child.pid})`;
    live = await RecordingClient.connect(base, { token: tokens.operator });
    expect(await live.subscribe({ tenant: 'acme' })).toEqual({ ok: true });
    longRunId = (await startBatch({ items: 230, itemMs: 50, key: 'thinning' })).id;
  });

  afterAll(async () => {
    live?.close();
    await system?.stop();
  });

  describe('search (q)', () => {
    const runs = {} as Record<'alpha' | 'beta' | 'numeric' | 'percent' | 'fivehundred' | 'backslash' | 'underscore' | 'underx' | 'vault', RunView>;

    beforeAll(async () => {
      runs.alpha = await startBatch({ items: 2, itemMs: 0, key: 'Alpha-Widget-7' });
      runs.beta = await startBatch({ items: 3, itemMs: 0, failEvery: 1, failCode: 'quota_exceeded', key: 'beta-batch' }, tokens.owner);
      runs.numeric = await startBatch({ items: 1234, itemMs: 0, key: 'numeric' });
      runs.percent = await startMirrored('50%_off sale', { initiator: acme.users.owner.email });
      runs.fivehundred = await startMirrored('500 off');
      runs.backslash = await startMirrored('back\\slash');
      runs.underscore = await startMirrored('under_score');
      runs.underx = await startMirrored('underXscore');
      runs.vault = await startMirrored('vault-run');
      await report(runs.vault.id, { kind: 'started' });
      await report(runs.vault.id, { kind: 'progress', total: 2, succeeded: 1, failed: 1, failures: [{ code: 'vault_sealed', message: 'The vault is sealed.' }] });
      await report(runs.vault.id, { kind: 'completed' });
      await Promise.all([runs.alpha, runs.beta, runs.numeric].map((r) => completed(r.id)));
    });

    it('by id: the whole id (any case), or its first 8 or more characters', async () => {
      const { id } = runs.alpha;
      expect(await search(id)).toEqual([id]);
      expect(await search(id.toUpperCase())).toEqual([id]);
      expect(await search(`  ${id}  `)).toEqual([id]);
      expect(await search(id.slice(0, 8))).toEqual([id]);
      expect(await search(id.slice(0, 9))).toEqual([id]);
      expect(await search(id.slice(0, 13))).toEqual([id]);
      expect(await search(id.slice(0, 30).toUpperCase())).toEqual([id]);
    });

    it('an id with dashes where a uuid has none, none where it has them, or fewer than 8 characters is no id match', async () => {
      const { id } = runs.alpha;
      const hex = id.replaceAll('-', '');
      expect(await search(hex)).toEqual([]);
      expect(await search(hex.slice(0, 12))).toEqual([]);
      expect(await search(`${id.slice(0, 4)}-${id.slice(4, 8)}`)).toEqual([]);
      expect(await search(`${id.slice(0, 7)}-${id.slice(7, 12)}`)).toEqual([]);
      expect(await search(id.slice(0, 7))).toEqual([]);
    });

    it("by type or its label (any case): every run of the type, and a label's words find it", async () => {
      const batches = await listIds('type=demo.batch');
      const mirrored = await listIds('type=demo.external');
      expect(batches.length).toBeGreaterThanOrEqual(4);
      expect(mirrored.length).toBeGreaterThanOrEqual(6);
      expect(sorted(await search('Demo batch'))).toEqual(sorted(batches));
      expect(sorted(await search('dEMO BATCH'))).toEqual(sorted(batches));
      expect(sorted(await search('demo.ext'))).toEqual(sorted(mirrored));
      // Only the label says "mirrored workflow" ("Demo mirrored workflow"): not the type, not any scope.
      expect(sorted(await search('MIRRORED workflow'))).toEqual(sorted(mirrored));
    });

    it("by the initiator's name or email (substring, any case)", async () => {
      const byOperator = await listIds(`initiator=${acme.users.operator.id}`);
      const byOwner = await listIds(`initiator=${acme.users.owner.id}`);
      expect(byOperator).toEqual(expect.arrayContaining([runs.alpha.id, runs.numeric.id, longRunId]));
      // Owner's: the one they started, and the mirrored run started on their behalf.
      expect(byOwner).toEqual(expect.arrayContaining([runs.beta.id, runs.percent.id]));
      expect(sorted(await search('perator of'))).toEqual(sorted(byOperator));
      expect(sorted(await search('OPERATOR OF ACME'))).toEqual(sorted(byOperator));
      expect(sorted(await search('owner@acme.te'))).toEqual(sorted(byOwner));
      expect(sorted(await search('Owner@Acme.Test'))).toEqual(sorted(byOwner));
      // Runs without an initiator have none to match.
      expect(await search('perator of')).not.toContain(runs.fivehundred.id);
    });

    it('by failure code: exactly the code, any case; a part of a code is no code match', async () => {
      // "vault_sealed" is in no scope: only the run's recorded failure matches it.
      expect(await search('vault_sealed')).toEqual([runs.vault.id]);
      expect(await search('VAULT_SEALED')).toEqual([runs.vault.id]);
      expect(await search('vault_seal')).toEqual([]);
      expect(await search('quota_exceeded')).toEqual([runs.beta.id]);
    });

    it("by text in the scope's values (substring, any case, numbers too); keys are not values", async () => {
      expect(await search('alpha-widget')).toEqual([runs.alpha.id]);
      expect(await search('WIDGET-7')).toEqual([runs.alpha.id]);
      expect(await search('sale')).toEqual([runs.percent.id]);
      expect(await search('1234')).toEqual([runs.numeric.id]);
      // beta's scope has a failEvery key; no value says "failevery".
      expect(await search('failEvery')).toEqual([]);
      expect(await search('failcode')).toEqual([]);
      expect(await search('no run says this')).toEqual([]);
    });

    it('%, _ and \\ are literal: "50%_" finds "50%_off" (not "500 off"), "%" does not match everything', async () => {
      expect(await search('50%_')).toEqual([runs.percent.id]);
      expect(await search('50%_off SALE')).toEqual([runs.percent.id]);
      expect(await search('%')).toEqual([runs.percent.id]);
      expect(await search('%%')).toEqual([]);
      expect(await search('under_score')).toEqual([runs.underscore.id]);
      expect(await search('\\')).toEqual([runs.backslash.id]);
      expect(await search('back\\s')).toEqual([runs.backslash.id]);
      expect(await search('back\\\\s')).toEqual([]);
      // "_" is in every demo.batch scope (the default failCode item_failed), but not in "underXscore" or "500 off".
      const underscores = await search('_');
      expect(underscores).toEqual(expect.arrayContaining([runs.underscore.id, runs.percent.id, runs.alpha.id]));
      expect(underscores).not.toContain(runs.underx.id);
      expect(underscores).not.toContain(runs.fivehundred.id);
      expect(underscores).not.toContain(runs.backslash.id);
      // Regular-expression and LIKE syntax means nothing either.
      expect(await search('under.score')).toEqual([]);
      expect(await search('.*')).toEqual([]);
      expect(await search('under[_]score')).toEqual([]);
    });

    it('an empty or blank q is no filter', async () => {
      const all = await listIds('');
      expect(await listIds('q=')).toEqual(all);
      expect(await listIds('q=%20%20')).toEqual(all);
    });

    it('combines with bucket, type, initiator, failureCode and the time range (all must hold)', async () => {
      expect(await search('beta', 'bucket=failed')).toEqual([runs.beta.id]);
      expect(await search('beta', 'bucket=succeeded')).toEqual([]);
      expect(await search('beta', 'bucket=succeeded&bucket=failed')).toEqual([runs.beta.id]);
      expect(await search('Alpha', 'type=demo.batch')).toEqual([runs.alpha.id]);
      expect(await search('Alpha', 'type=demo.external')).toEqual([]);
      expect(await search('Alpha', 'resource=demo')).toEqual([runs.alpha.id]);
      expect(await search('Alpha', `initiator=${acme.users.operator.id}`)).toEqual([runs.alpha.id]);
      expect(await search('Alpha', `initiator=${acme.users.owner.id}`)).toEqual([]);
      expect(await search('vault', 'failureCode=vault_sealed')).toEqual([runs.vault.id]);
      expect(await search('alpha', 'failureCode=vault_sealed')).toEqual([]);
      expect(await search('Demo batch', 'bucket=failed&type=demo.batch')).toEqual(await listIds('bucket=failed&type=demo.batch'));
      expect(await search('Alpha', `to=${encodeURIComponent(runs.alpha.createdAt)}`)).toEqual([]);
      expect(await search('Alpha', `from=${encodeURIComponent(runs.alpha.createdAt)}`)).toEqual([runs.alpha.id]);
      expect(await search('Alpha', `from=${encodeURIComponent(new Date(Date.now() + 60_000).toISOString())}`)).toEqual([]);
    });

    it('a search over more than one page pages by cursor: every match once, newest first, nothing shifts', async () => {
      const matching: string[] = [];
      for (let i = 1; i <= 7; i++) {
        matching.push((await startMirrored(`Pager-${i}`)).id);
        if (i % 3 === 0) await startMirrored(`unrelated-${i}`);
      }
      const newestFirst = [...matching].reverse();
      const pages: string[][] = [];
      let late = '';
      let cursor: string | null = null;
      do {
        const answer = await get(`/api/tenants/acme/runs?q=pager&limit=3${cursor ? `&cursor=${cursor}` : ''}`);
        expect(answer.status).toBe(200);
        pages.push(answer.body.runs.map((r: RunView) => r.id));
        cursor = answer.body.nextCursor;
        // A match created after the first page is newer than the cursor: it never shows on a later page.
        if (pages.length === 1) late = (await startMirrored('Pager-late')).id;
        expect(pages.length).toBeLessThan(10);
      } while (cursor !== null);
      expect(pages.map((p) => p.length)).toEqual([3, 3, 1]);
      expect(pages.flat()).toEqual(newestFirst);
      expect(new Set(pages.flat()).size).toBe(7);
      // A search started afresh finds it first.
      expect(await search('pager')).toEqual([late, ...newestFirst]);
    });
  });

  describe('failureCode filter', () => {
    const ids = { a: '', b: '', both: '' };

    beforeAll(async () => {
      const make = async (key: string, codes: string[]) => {
        const run = await startMirrored(key);
        await report(run.id, { kind: 'started' });
        await report(run.id, { kind: 'progress', failed: codes.length, failures: codes.map((code) => ({ code, message: `failed with ${code}` })) });
        await report(run.id, { kind: 'completed' });
        return run.id;
      };
      ids.a = await make('code-a', ['filter_code_a']);
      ids.b = await make('code-b', ['filter_code_b', 'filter_code_b']);
      ids.both = await make('code-ab', ['filter_code_a', 'filter_code_b']);
    });

    it('one code: the runs with a failure of it; several: of any of them', async () => {
      expect(sorted(await listIds('failureCode=filter_code_a'))).toEqual(sorted([ids.a, ids.both]));
      expect(sorted(await listIds('failureCode=filter_code_b'))).toEqual(sorted([ids.b, ids.both]));
      expect(sorted(await listIds('failureCode=filter_code_a&failureCode=filter_code_b'))).toEqual(sorted([ids.a, ids.b, ids.both]));
      // Each run once, even with two matching codes.
      expect(await listIds('failureCode=filter_code_a&failureCode=filter_code_b&failureCode=filter_code_a')).toHaveLength(3);
      expect(await listIds('failureCode=filter_code_none')).toEqual([]);
    });

    it('combines with the other filters', async () => {
      expect(await listIds('failureCode=filter_code_a&bucket=succeeded')).toEqual([]);
      expect(sorted(await listIds('failureCode=filter_code_a&bucket=failed'))).toEqual(sorted([ids.a, ids.both]));
      expect(await listIds('failureCode=filter_code_a&type=demo.batch')).toEqual([]);
      expect(await listIds(`failureCode=filter_code_b&q=code-ab`)).toEqual([ids.both]);
      expect(await listIds(`failureCode=filter_code_b&from=${encodeURIComponent(new Date(Date.now() + 60_000).toISOString())}`)).toEqual([]);
    });
  });

  describe('failure reasons', () => {
    let reasonco: Seeded;
    const rt = { operator: '', integration: '', kiosk: '' };
    const runs = { a: '', b: '', c: '', d: '', e: '', old: '', bulk: '', workerBulk: '' };
    const bWindow = { from: 0, to: 0 };
    const SECRET = 'hunter2hunter2';

    const reasons = async (query = ''): Promise<{ window: string; reasons: FailureReason[] }> => {
      const answer = await get(`/api/tenants/reasonco/failure-reasons${query ? `?${query}` : ''}`, rt.kiosk);
      expect(answer.status, JSON.stringify(answer.body)).toBe(200);
      return answer.body;
    };
    const mirrored = async (key: string) => {
      const run = await startMirrored(key, { token: rt.integration, tenant: 'reasonco' });
      await report(run.id, { kind: 'started' }, rt.integration, 'reasonco');
      return run.id;
    };
    const fail = (runId: string, failures: { code: string; message: string }[]) =>
      report(runId, { kind: 'progress', failed: failures.length, failures }, rt.integration, 'reasonco');
    const finish = (runId: string) => report(runId, { kind: 'completed' }, rt.integration, 'reasonco');
    const repeat = (code: string, n: number, message = (i: number) => `${code} ${i}`) => Array.from({ length: n }, (_, i) => ({ code, message: message(i) }));

    beforeAll(async () => {
      reasonco = await seedTenant(system.env.services, 'reasonco');
      const { auth } = system.env.services;
      rt.operator = await issueSession(system.env, reasonco.users.operator);
      rt.integration = (await auth.createTenantToken('integration', reasonco.tenant.id, 'reasonco ci', null)).token;
      rt.kiosk = (await auth.createTenantToken('kiosk', reasonco.tenant.id, 'reasonco wall', null)).token;

      runs.a = await mirrored('a');
      await fail(runs.a, [...repeat('code_x', 2), { code: 'code_y', message: 'y only' }, { code: 'code_x', message: 'x from A' }]);
      await finish(runs.a);
      // A worker's run of another type with the same code.
      const d = await startBatch({ items: 4, itemMs: 0, failEvery: 2, failCode: 'code_x', failMessage: 'x from the worker' }, rt.operator, 'reasonco');
      runs.d = d.id;
      await completed(d.id);
      runs.b = await mirrored('b');
      bWindow.from = Date.now();
      await fail(runs.b, [{ code: 'code_x', message: 'x from B' }]);
      bWindow.to = Date.now();
      await finish(runs.b);
      runs.c = await mirrored('c');
      await fail(runs.c, repeat('code_w', 5));
      runs.e = await mirrored('e');
      await fail(runs.e, repeat('code_z', 4));
      await fail(runs.e, [{ code: 'code_z', message: `connect postgres://admin:${SECRET}@db.internal:5432/app failed` }]);
      // Mirrored and worker runs with more failures than a run stores.
      runs.bulk = await mirrored('bulk');
      for (let event = 0; event < 3; event++) await fail(runs.bulk, repeat('bulk_fail', 1_000, (i) => `b${event}.${i}`));
      await finish(runs.bulk);
      const workerBulk = await startBatch({ items: WORKER_BULK, itemMs: 0, failEvery: 1, failCode: 'worker_bulk', failMessage: 'bulk item failed' }, rt.operator, 'reasonco');
      runs.workerBulk = workerBulk.id;
      await completed(workerBulk.id);
      // A run created two days ago (still running, so its events are accepted): only wider windows see it.
      const [old] = await sql<{ id: string }>(
        `insert into operation_runs (tenant_id, type, status, outcome, identity_hash, scope, created_at, updated_at, started_at, heartbeat_at, version)
         values (?, 'demo.external', 'running', 'pending', md5(random()::text) || md5(random()::text), '{"key":"old"}'::jsonb,
                 now() - interval '2 days', now() - interval '2 days', now() - interval '2 days', now(), 2) returning id`,
        [reasonco.tenant.id],
      );
      runs.old = old!.id;
      await fail(runs.old, [...repeat('code_old', 2), { code: 'code_x', message: 'x from the old run' }]);
      await finish(runs.old);
      await finish(runs.c);
      await finish(runs.e);
    }, 120_000);

    it('groups the failures of the window by code: runs, failures, types, latest message; most runs, most failures, then code', async () => {
      const answer = await reasons();
      expect(answer.window).toBe('24h');
      const summary = answer.reasons.map((r) => [r.code, r.runs, r.failures, r.types]);
      expect(summary).toEqual([
        ['code_x', 3, 3 + 2 + 1, ['demo.batch', 'demo.external']],
        ['bulk_fail', 1, 3_000, ['demo.external']],
        ['worker_bulk', 1, WORKER_BULK, ['demo.batch']],
        ['code_w', 1, 5, ['demo.external']],
        ['code_z', 1, 5, ['demo.external']],
        ['code_y', 1, 1, ['demo.external']],
      ]);
      const byCode = new Map(answer.reasons.map((r) => [r.code, r]));
      expect(byCode.get('code_x')!.message).toBe('x from B');
      expect(byCode.get('code_y')!.message).toBe('y only');
      expect(byCode.get('code_w')!.message).toBe('code_w 4');
      expect(byCode.get('worker_bulk')!.message).toBe('bulk item failed');
      const lastSeen = Date.parse(byCode.get('code_x')!.lastSeenAt);
      expect(lastSeen).toBeGreaterThanOrEqual(bWindow.from - 1_000);
      expect(lastSeen).toBeLessThanOrEqual(bWindow.to + 1_000);
      expect(byCode.get('code_x')!.lastSeenAt).toBe(new Date(lastSeen).toISOString());
    });

    it('messages are sanitized', async () => {
      const codeZ = (await reasons()).reasons.find((r) => r.code === 'code_z')!;
      expect(codeZ.message).toContain('db.internal');
      expect(codeZ.message).not.toContain(SECRET);
      expect(JSON.stringify(await reasons('window=30d&limit=100'))).not.toContain(SECRET);
    });

    it('counts every reported failure, also those beyond the 1,000 a run stores (mirrored: 3 events of 1,000)', async () => {
      const run = await detail(runs.bulk, 'reasonco', rt.operator);
      expect(run.failureCount).toBe(3_000);
      expect(run.failures).toHaveLength(MAX_STORED_FAILURES);
      expect((await reasons()).reasons.find((r) => r.code === 'bulk_fail')?.failures).toBe(3_000);
    });

    it('a worker run: its failureCount keeps counting beyond the 1,000 stored', async () => {
      const run = await detail(runs.workerBulk, 'reasonco', rt.operator);
      expect(run.failureCount).toBe(WORKER_BULK);
      expect(run.failures).toHaveLength(MAX_STORED_FAILURES);
    });

    // The runner lists at most 1,000 failures per progress write; beyond that it counts them per code, so a
    // worker run with 1,500 failures between two writes still counts all 1,500 in its reason.
    it('a worker run counts every failure of a code in its reason, also beyond 1,000 in one write', async () => {
      expect((await reasons()).reasons.find((r) => r.code === 'worker_bulk')?.failures).toBe(WORKER_BULK);
    });

    it('limit keeps the first reasons; the window decides which runs count', async () => {
      expect((await reasons('limit=2')).reasons.map((r) => r.code)).toEqual(['code_x', 'bulk_fail']);
      expect((await reasons('window=1h&limit=100')).reasons.map((r) => r.code)).toEqual(['code_x', 'bulk_fail', 'worker_bulk', 'code_w', 'code_z', 'code_y']);
      for (const window of ['7d', '30d']) {
        const wide = await reasons(`window=${window}&limit=100`);
        expect(wide.window).toBe(window);
        expect(wide.reasons.map((r) => [r.code, r.runs, r.failures])).toEqual([
          ['code_x', 4, 7],
          ['bulk_fail', 1, 3_000],
          ['worker_bulk', 1, WORKER_BULK],
          ['code_w', 1, 5],
          ['code_z', 1, 5],
          ['code_old', 1, 2],
          ['code_y', 1, 1],
        ]);
      }
    });

    it('filtering the list by a reason with the same range lists exactly its runs', async () => {
      for (const window of ['24h', '7d'] as const) {
        const from = encodeURIComponent(new Date(Date.now() - (window === '24h' ? 86_400_000 : 7 * 86_400_000)).toISOString());
        for (const reason of (await reasons(`window=${window}&limit=100`)).reasons) {
          const listed = await listIds(`failureCode=${reason.code}&from=${from}`, 'reasonco', rt.operator);
          expect(listed, `${window} ${reason.code}`).toHaveLength(reason.runs);
          // And every one of those runs shows the code among its failures (or its count beyond them).
          if (reason.code === 'code_x') expect(sorted(listed)).toEqual(sorted(window === '24h' ? [runs.a, runs.b, runs.d] : [runs.a, runs.b, runs.d, runs.old]));
        }
      }
    });

    it("another tenant's reasons are its own", async () => {
      const acmeReasons = await get('/api/tenants/acme/failure-reasons?window=30d&limit=100');
      expect(acmeReasons.status).toBe(200);
      const codes = acmeReasons.body.reasons.map((r: FailureReason) => r.code);
      for (const code of ['code_x', 'bulk_fail', 'worker_bulk', 'code_w', 'code_z', 'code_y', 'code_old']) expect(codes).not.toContain(code);
      expect(await listIds('failureCode=code_x')).toEqual([]);
      expect(await search('code_x')).toEqual([]);
    });
  });

  describe('history', () => {
    const expectWellFormed = (history: RunHistoryEntry[], run: RunView) => {
      const versions = history.map((h) => h.version);
      expect(versions[0]).toBe(1);
      for (let i = 1; i < versions.length; i++) expect(versions[i]!).toBeGreaterThan(versions[i - 1]!);
      expect(versions.at(-1)).toBe(run.version);
      const times = history.map((h) => Date.parse(h.at));
      expect(times).toEqual([...times].sort((a, b) => a - b));
      for (const entry of history) expect(entry.counts.processed).toBe(entry.counts.succeeded + entry.counts.failed + entry.counts.skipped);
      expect(history[0]).toMatchObject({ kind: 'queued', status: 'queued', counts: { total: 0, processed: 0, succeeded: 0, failed: 0, skipped: 0 } });
      expect(Math.abs(Date.parse(history[0]!.at) - Date.parse(run.createdAt))).toBeLessThanOrEqual(MS_SLACK);
      const last = history.at(-1)!;
      expect(last).toMatchObject({ kind: 'completed', status: 'completed', counts: run.counts });
      expect(Math.abs(Date.parse(last.at) - Date.parse(run.completedAt!))).toBeLessThanOrEqual(MS_SLACK);
    };

    it('a worker run: queued by its initiator, started and completed by the worker, versions strictly increasing', async () => {
      const started = await startBatch({ items: 6, itemMs: 10, failEvery: 3, key: 'history-worker' });
      const run = await completed(started.id);
      const history = await historyOf(run.id);
      expectWellFormed(history, run);
      expect(history[0]!.by).toEqual({ kind: 'user', name: acme.users.operator.name });
      const [, startedEntry] = history;
      expect(startedEntry).toMatchObject({ version: 2, kind: 'started', status: 'running', by: { kind: 'worker', name: workerName } });
      expect(Math.abs(Date.parse(startedEntry!.at) - Date.parse(run.startedAt!))).toBeLessThanOrEqual(MS_SLACK);
      expect(history.at(-1)).toMatchObject({ kind: 'completed', by: { kind: 'worker', name: workerName }, counts: { total: 6, processed: 6, succeeded: 4, failed: 2, skipped: 0 } });
      // Under a second of work: no progress point is due (the first comes 5 s after start).
      expect(history.map((h) => h.kind)).toEqual(['queued', 'started', 'completed']);
      // Kiosks and other members read it too; the same entries.
      expect(await historyOf(run.id, 'acme', tokens.owner)).toEqual(history);
    });

    it("a mirrored run started with an integration token: every entry by the token's label", async () => {
      const started = await startMirrored('history-mirrored', { initiator: acme.users.operator.email });
      expect(started.initiator).toMatchObject({ id: acme.users.operator.id });
      await report(started.id, { kind: 'started' });
      await report(started.id, { kind: 'progress', total: 3, succeeded: 2 });
      await report(started.id, { kind: 'progress', succeeded: 1 });
      const run = await report(started.id, { kind: 'completed' });
      const history = await historyOf(run.id);
      expectWellFormed(history, run);
      expect(history.map((h) => [h.kind, h.by])).toEqual([
        ['queued', { kind: 'integration', name: INTEGRATION_LABEL }],
        ['started', { kind: 'integration', name: INTEGRATION_LABEL }],
        ['completed', { kind: 'integration', name: INTEGRATION_LABEL }],
      ]);
      expect(history.map((h) => h.version)).toEqual([1, 2, 5]);
    });

    it("a mirrored run a member started: queued by the member, its events by the integration token", async () => {
      const answer = await call(base, 'POST', '/api/tenants/acme/runs', { token: tokens.operator, body: { type: 'demo.external', scope: { key: 'member-started' } } });
      expect(answer.status).toBe(202);
      await report(answer.body.run.id, { kind: 'started' });
      const run = await report(answer.body.run.id, { kind: 'completed', abort: true });
      const history = await historyOf(run.id);
      expectWellFormed(history, run);
      expect(history.map((h) => h.by)).toEqual([
        { kind: 'user', name: acme.users.operator.name },
        { kind: 'integration', name: INTEGRATION_LABEL },
        { kind: 'integration', name: INTEGRATION_LABEL },
      ]);
    });

    it('a run whose reporter fell silent: completed by the lost-worker sweep', async () => {
      const started = await startMirrored('silent');
      await report(started.id, { kind: 'started' });
      await report(started.id, { kind: 'progress', total: 4, succeeded: 1 });
      // Its last sign of life ten minutes ago; the sweep (as every worker runs it) takes only runs that old.
      await sql(`update operation_runs set heartbeat_at = now() - interval '10 minutes' where id = ?`, [started.id]);
      await system.env.services.lifecycle.sweepStalled(5 * 60_000);
      const run = await completed(started.id);
      expect(run).toMatchObject({ outcome: 'failed', counts: { total: 4, succeeded: 1 } });
      const history = await historyOf(run.id);
      expectWellFormed(history, run);
      expect(history.at(-1)!.by).toEqual(LOST_WORKER_SWEEP);
      expect(history.at(-1)!.by).toEqual({ kind: 'system', name: 'lost-worker sweep' });
      expect(history.map((h) => h.kind)).toEqual(['queued', 'started', 'completed']);
    });

    it('a run that could not be queued: queued by its initiator, completed by "dispatch"', async () => {
      const { env } = system;
      const deadQueue = createRunsQueue('redis://127.0.0.1:1', env.config.redisPrefix, { isWorker: false });
      deadQueue.on('error', () => undefined);
      const starter = new RunStarter(env.services.tenants, env.services.catalog, env.services.lifecycle, deadQueue, env.services.logger);
      const broken = createApp({ ...env.services, starter });
      await new Promise<void>((resolve) => broken.httpServer.listen(0, '127.0.0.1', resolve));
      try {
        const { port } = broken.httpServer.address() as { port: number };
        const answer = await call(`http://127.0.0.1:${port}`, 'POST', '/api/tenants/acme/runs', { token: tokens.operator, body: { type: 'demo.batch', scope: { key: 'undispatchable' } } });
        expect(answer.status).toBe(503);
        const run = await detail(answer.body.run.id);
        const history = await historyOf(run.id);
        expectWellFormed(history, run);
        expect(history.map((h) => [h.version, h.kind, h.by])).toEqual([
          [1, 'queued', { kind: 'user', name: acme.users.operator.name }],
          [2, 'completed', { kind: 'system', name: 'dispatch' }],
        ]);
      } finally {
        await broken.close();
        await deadQueue.close(1_000).catch(() => undefined);
      }
    });

    it('the daily purge: queued by "retention schedule", run by the worker', async () => {
      // The worker starts it on its own about 10 s after it started.
      const purge = () => system.feed.runs.find((m) => m.tenant === 'acme' && m.run.type === 'runs.purge' && m.kind === 'completed');
      await system.feed.until(() => purge() !== undefined, 40_000, "acme's scheduled purge");
      const run = purge()!.run;
      expect(run.initiator).toBeNull();
      const history = await historyOf(run.id);
      expectWellFormed(history, run);
      expect(history.map((h) => [h.kind, h.by])).toEqual([
        ['queued', { kind: 'system', name: 'retention schedule' }],
        ['started', { kind: 'worker', name: workerName }],
        ['completed', { kind: 'worker', name: workerName }],
      ]);
    });

    it('every run:update whose change was recorded carries that entry as history, on the changefeed and the socket', async () => {
      const started = await startBatch({ items: 40, itemMs: 25, failEvery: 10, key: 'history-live' });
      const run = await completed(started.id);
      const history = await historyOf(run.id);
      const byVersion = new Map(history.map((h) => [h.version, h]));
      await live.until(() => live.of('run:update').some((u) => u.run.id === run.id && u.kind === 'completed'), 10_000, 'completed on the socket');
      type Change = { kind: string; run: Pick<RunView, 'version' | 'status' | 'counts'>; history?: RunHistoryEntry };
      const pushed: Change[] = live.of('run:update').filter((u) => u.run.id === run.id);
      const fed: Change[] = system.feed.forRun(run.id);
      expect(pushed.length).toBeGreaterThanOrEqual(4);
      for (const changes of [pushed, fed]) {
        expect(changes.map((c) => c.run.version)).toEqual(fed.map((c) => c.run.version));
        for (const change of changes) {
          const stored = byVersion.get(change.run.version);
          if (change.kind !== 'progress') expect(stored, `${change.kind} v${change.run.version}`).toBeDefined();
          if (stored) expect(change.history).toEqual(stored);
          else expect(change.history, `unrecorded ${change.kind} v${change.run.version}`).toBeUndefined();
          if (change.history) expect(change.history).toMatchObject({ version: change.run.version, kind: change.kind, status: change.run.status, counts: change.run.counts });
        }
      }
      // Progress happened (pushed), within 5 s of the start: none of it recorded.
      expect(pushed.filter((c) => c.kind === 'progress').length).toBeGreaterThan(0);
      expect(pushed.filter((c) => c.kind === 'progress' && c.history)).toEqual([]);
      expect(history.map((h) => h.version)).toEqual(pushed.filter((c) => c.history).map((c) => c.run.version));
    });

    it('progress is recorded at most once per 5 s and at least every 10 s while a run reports it (a run of ~11.5 s)', async () => {
      const run = await completed(longRunId, 60_000);
      expect(durationOf(run)).toBeGreaterThan(10_000);
      const history = await historyOf(run.id);
      expectWellFormed(history, run);
      const kinds = history.map((h) => h.kind);
      expect(kinds[1]).toBe('started');
      const progress = history.filter((h) => h.kind === 'progress');
      expect(progress.length).toBeGreaterThanOrEqual(2);
      expect(progress.length).toBeLessThanOrEqual(Math.ceil(durationOf(run) / HISTORY_PROGRESS_EVERY_MS));
      expect(kinds).toEqual(['queued', 'started', ...progress.map(() => 'progress'), 'completed']);
      // started → each progress point: ~5 s apart, never closer (a millisecond of rounding aside).
      const running = history.slice(1, -1);
      for (const gap of gaps(running)) expect(gap).toBeGreaterThanOrEqual(HISTORY_PROGRESS_EVERY_MS - MS_SLACK);
      // …and no hole longer than 10 s while it ran, up to its completion.
      for (const gap of gaps(history.slice(1))) expect(gap).toBeLessThanOrEqual(2 * HISTORY_PROGRESS_EVERY_MS);
      // Counts only grow along the way.
      const processed = history.map((h) => h.counts.processed);
      expect(processed).toEqual([...processed].sort((a, b) => a - b));
      for (const entry of progress) expect(entry.by).toEqual({ kind: 'worker', name: workerName });
      // Far more progress was written (and pushed) than recorded.
      const pushedProgress = system.feed.forRun(run.id).filter((c) => c.kind === 'progress');
      expect(pushedProgress.length).toBeGreaterThan(progress.length * 4);
      expect(pushedProgress.filter((c) => c.history).map((c) => c.history)).toEqual(progress);
    });

    it("404 for another tenant's run, an unknown id and a malformed id, like the run's detail", async () => {
      const globexOwner = await issueSession(system.env, system.tenants.globex!.users.owner);
      const answer = await call(base, 'POST', '/api/tenants/globex/runs', { token: globexOwner, body: { type: 'demo.external', scope: { key: 'foreign' } } });
      expect(answer.status).toBe(202);
      const foreign = answer.body.run.id;
      expect((await get(`/api/tenants/globex/runs/${foreign}/history`, globexOwner)).status).toBe(200);
      for (const id of [foreign, '00000000-0000-4000-8000-000000000000', 'not-a-uuid', `${foreign}x`, foreign.slice(0, 8)]) {
        expectError(await get(`/api/tenants/acme/runs/${encodeURIComponent(id)}/history`), 404, 'not_found', `history of ${id}`);
        expectError(await get(`/api/tenants/acme/runs/${encodeURIComponent(id)}`), 404, 'not_found', `detail of ${id}`);
      }
      // Upper-case ids are ids all the same.
      expect((await get(`/api/tenants/globex/runs/${foreign.toUpperCase()}/history`, globexOwner)).status).toBe(200);
    });
  });

  describe('baselines', () => {
    it('a type with completed runs: runs30d, failure rate, p50 and p95 of their durations; a type without: 0 and nulls', async () => {
      const baseco = await seedTenant(system.env.services, 'baseco');
      const operator = await issueSession(system.env, baseco.users.operator);
      const integration = (await system.env.services.auth.createTenantToken('integration', baseco.tenant.id, 'baseco ci', null)).token;
      const scopes = [
        { items: 2, itemMs: 100, key: 'b1' },
        { items: 5, itemMs: 100, key: 'b2' },
        { items: 3, itemMs: 50, key: 'b3' },
        { items: 2, itemMs: 50, failEvery: 1, key: 'b4' },
        { abort: true, key: 'b5' },
      ];
      const started = await Promise.all(scopes.map((scope) => startBatch(scope, operator, 'baseco')));
      const batches = await Promise.all(started.map((r) => completed(r.id)));
      // A mirrored run completed straight from queued: it counts, but has no duration.
      const external = await startMirrored('never-started', { token: integration, tenant: 'baseco' });
      await report(external.id, { kind: 'completed' }, integration, 'baseco');
      // A queued run and a run completed 40 days ago do not count.
      await startMirrored('still-queued', { token: integration, tenant: 'baseco' });
      await sql(
        `insert into operation_runs (tenant_id, type, status, outcome, identity_hash, scope, created_at, updated_at, started_at, completed_at)
         values (?, 'demo.batch', 'completed', 'failed', md5(random()::text) || md5(random()::text), '{}'::jsonb,
                 now() - interval '41 days', now() - interval '40 days', now() - interval '41 days', now() - interval '40 days')`,
        [baseco.tenant.id],
      );

      // This process's first read of the tenant: measured there and then.
      const answer = await get('/api/tenants/baseco/baselines', operator);
      expect(answer.status).toBe(200);
      const types = await get('/api/tenants/baseco/operation-types', operator);
      const catalog = types.body.types as { type: string; label: string; runs30d: number; failureRate30d: number | null; p50DurationMs: number | null; p95DurationMs: number | null }[];
      expect(answer.body.types.map((t: { type: string }) => t.type)).toEqual(catalog.map((t) => t.type));
      const byType = new Map<string, Record<string, unknown>>(answer.body.types.map((t: { type: string }) => [t.type, t]));

      const durations = batches.map(durationOf);
      const batch = byType.get('demo.batch')!;
      expect(batch).toMatchObject({ type: 'demo.batch', label: 'Demo batch', runs30d: 5, failureRate30d: 2 / 5 });
      expect(Math.abs((batch.p50DurationMs as number) - percentile(durations, 0.5))).toBeLessThanOrEqual(MS_SLACK);
      expect(Math.abs((batch.p95DurationMs as number) - percentile(durations, 0.95))).toBeLessThanOrEqual(MS_SLACK);
      expect(batch.p95DurationMs as number).toBeGreaterThanOrEqual(batch.p50DurationMs as number);
      expect(byType.get('demo.external')).toEqual({ type: 'demo.external', label: 'Demo mirrored workflow', runs30d: 1, failureRate30d: 0, p50DurationMs: null, p95DurationMs: null });
      for (const type of catalog.map((t) => t.type).filter((t) => !t.startsWith('demo.'))) {
        expect(byType.get(type), type).toMatchObject({ runs30d: 0, failureRate30d: null, p50DurationMs: null, p95DurationMs: null });
      }
      // operation-types carries the same four figures, and each type its label.
      for (const view of catalog) {
        const { type, label, runs30d, failureRate30d, p50DurationMs, p95DurationMs } = view;
        expect(byType.get(type)).toEqual({ type, label, runs30d, failureRate30d, p50DurationMs, p95DurationMs });
      }
    });

    it('measured exactly: percentiles interpolate like percentile_cont, runs that never started have no duration', async () => {
      const exact = await seedTenant(system.env.services, 'baseexact');
      const owner = await issueSession(system.env, exact.users.owner);
      // Ten runs of 1–10 s (the 3rd, 6th and 9th failed), one failed without starting, one running.
      await sql(
        `insert into operation_runs (tenant_id, type, status, outcome, identity_hash, scope, created_at, updated_at, started_at, completed_at)
         select ?, 'demo.batch', 'completed', case when g % 3 = 0 then 'failed' else 'succeeded' end, md5(random()::text) || md5(g::text), '{}'::jsonb,
                now() - interval '1 hour', now(), now() - interval '1 hour', now() - interval '1 hour' + make_interval(secs => g)
         from generate_series(1, 10) g`,
        [exact.tenant.id],
      );
      await sql(
        `insert into operation_runs (tenant_id, type, status, outcome, identity_hash, scope, created_at, updated_at, completed_at)
         values (?, 'demo.batch', 'completed', 'failed', md5(random()::text) || 'x', '{}'::jsonb, now(), now(), now())`,
        [exact.tenant.id],
      );
      await sql(
        `insert into operation_runs (tenant_id, type, status, outcome, identity_hash, scope, created_at, updated_at, started_at)
         values (?, 'demo.batch', 'running', 'pending', md5(random()::text) || 'y', '{}'::jsonb, now() - interval '1 day', now(), now() - interval '1 day')`,
        [exact.tenant.id],
      );
      const answer = await get('/api/tenants/baseexact/baselines', owner);
      expect(answer.status).toBe(200);
      const batch = answer.body.types.find((t: { type: string }) => t.type === 'demo.batch');
      expect(batch).toEqual({ type: 'demo.batch', label: 'Demo batch', runs30d: 11, failureRate30d: 4 / 11, p50DurationMs: 5_500, p95DurationMs: 9_550 });
    });
  });

  describe('retention', () => {
    it("the purge deletes a run's history, search text, failure reasons and events with it", async () => {
      const purgeco = await seedTenant(system.env.services, 'purgeco');
      const owner = await issueSession(system.env, purgeco.users.owner);
      const operator = await issueSession(system.env, purgeco.users.operator);
      const integration = (await system.env.services.auth.createTenantToken('integration', purgeco.tenant.id, 'purgeco ci', null)).token;
      const mirrored = await startMirrored('doomed mirrored', { token: integration, tenant: 'purgeco', initiator: purgeco.users.operator.email });
      await report(mirrored.id, { kind: 'started', eventId: 'e1' }, integration, 'purgeco');
      await report(mirrored.id, { kind: 'progress', eventId: 'e2', failed: 1, failures: [{ code: 'doomed_code', message: 'gone soon' }] }, integration, 'purgeco');
      await report(mirrored.id, { kind: 'completed', eventId: 'e3' }, integration, 'purgeco');
      const batch = await startBatch({ items: 2, itemMs: 0, failEvery: 1, failCode: 'doomed_code', key: 'doomed batch' }, operator, 'purgeco');
      const kept = await startBatch({ items: 1, itemMs: 0, failEvery: 1, failCode: 'kept_code', key: 'kept batch' }, operator, 'purgeco');
      await Promise.all([completed(batch.id), completed(kept.id)]);
      const doomed = [mirrored.id, batch.id];
      const rowsOf = async (ids: string[]) => {
        const count = async (table: string) =>
          Number((await sql<{ n: string }>(`select count(*) as n from ${table} where run_id in (${ids.map(() => '?').join(', ')})`, ids))[0]!.n);
        return {
          history: await count('run_history'),
          search: await count('run_search'),
          reasons: await count('run_failure_reasons'),
          events: await count('run_events'),
          notifications: await count('notifications'),
        };
      };
      const before = await rowsOf(doomed);
      expect(before.history).toBeGreaterThanOrEqual(6);
      expect(before).toMatchObject({ search: 2, reasons: 2, events: 3 });
      expect(before.notifications).toBeGreaterThanOrEqual(4);
      expect(sorted(await listIds('q=doomed', 'purgeco', operator))).toEqual(sorted(doomed));
      await sql(`update operation_runs set created_at = created_at - interval '100 days' where id in (?, ?)`, doomed);

      const purge = await call(base, 'POST', '/api/tenants/purgeco/runs', { token: owner, body: { type: 'runs.purge', scope: {} } });
      expect(purge.status).toBe(202);
      const done = await completed(purge.body.run.id, 60_000);
      expect(done).toMatchObject({ outcome: 'succeeded', counts: { succeeded: 2 } });
      expect(await rowsOf(doomed)).toEqual({ history: 0, search: 0, reasons: 0, events: 0, notifications: 0 });
      for (const id of doomed) expectError(await get(`/api/tenants/purgeco/runs/${id}/history`, operator), 404, 'not_found', 'purged history');
      // The kept run keeps its rows; the purge has its own history, by its owner and the worker.
      expect((await rowsOf([kept.id])).reasons).toBe(1);
      expect((await historyOf(kept.id, 'purgeco', operator)).length).toBeGreaterThanOrEqual(3);
      const purgeHistory = await historyOf(done.id, 'purgeco', operator);
      expect(purgeHistory.map((h) => [h.kind, h.by])).toEqual([
        ['queued', { kind: 'user', name: purgeco.users.owner.name }],
        ['started', { kind: 'worker', name: workerName }],
        ['completed', { kind: 'worker', name: workerName }],
      ]);
      expect(purgeHistory.at(-1)!.counts.succeeded).toBe(2);
      const reasonsAfter = await get('/api/tenants/purgeco/failure-reasons?window=30d', operator);
      expect(reasonsAfter.body.reasons.map((r: FailureReason) => r.code)).toEqual(['kept_code']);
    });
  });
});

describe('the RunInsight migration backfills runs that existed before it', () => {
  const PREVIOUS = 'Migration20261203100000PolicyModules';
  const BEFORE = { kind: 'system', name: 'recorded before history' };

  it('search text from scope values, failure reasons from stored failures, a history from timestamps', async () => {
    const database = await createTestDatabase();
    const orm = await createOrm({ databaseUrl: database.url, poolMax: 4 });
    const prefix = randomName('rbtest');
    let services: Awaited<ReturnType<typeof createServices>> | undefined;
    try {
      await orm.migrator.up({ to: PREVIOUS });
      const em = orm.em.fork();
      const exec = <T = Record<string, unknown>>(query: string, params: unknown[] = []) => em.execute<T[]>(query, params);
      expect((await exec<{ t: string | null }>(`select to_regclass('public.run_history') as t`))[0]!.t).toBeNull();
      const [tenant] = await exec<{ id: string }>(`insert into tenants (slug, name) values ('legacy', 'Legacy') returning id`);
      const [other] = await exec<{ id: string }>(`insert into tenants (slug, name) values ('elsewhere', 'Elsewhere') returning id`);
      const [user] = await exec<{ id: string }>(`insert into users (email, name, password_hash) values ('old@legacy.test', 'Old Timer', 'x') returning id`);
      const insert = async (tenantId: string, fields: Record<string, unknown>) => {
        const row = {
          type: 'demo.batch',
          outcome: 'pending',
          identity_hash: `${Math.random().toString(16).slice(2)}${Math.random().toString(16).slice(2)}`.padEnd(64, '0').slice(0, 64),
          scope: '{}',
          ...fields,
        };
        const keys = Object.keys(row);
        const values = keys.map((k) => (['created_at', 'started_at', 'completed_at', 'updated_at'].includes(k) ? `now() - interval '${row[k as keyof typeof row]}'` : '?'));
        const params = keys.filter((k) => !['created_at', 'started_at', 'completed_at', 'updated_at'].includes(k)).map((k) => row[k as keyof typeof row]);
        const [inserted] = await exec<{ id: string }>(
          `insert into operation_runs (tenant_id, ${keys.join(', ')}) values (?, ${values.join(', ')}) returning id`,
          [tenantId, ...params],
        );
        return inserted!.id;
      };
      const failures = (list: { code?: string; message: string; item?: string }[]) => JSON.stringify(list);
      const queued = await insert(tenant!.id, {
        status: 'queued', version: 1, initiator_id: user!.id, created_at: '10 minutes', updated_at: '10 minutes',
        scope: JSON.stringify({ label: 'Queued-One', inner: { list: ['Deeper', 42, true, null] } }),
      });
      const running = await insert(tenant!.id, {
        status: 'running', version: 5, created_at: '9 minutes', started_at: '8 minutes', updated_at: '7 minutes',
        total: 10, processed: 4, succeeded: 3, failed: 1, failure_count: 1, failures: failures([{ code: 'item_failed', message: 'm1', item: 'i1' }]),
        scope: JSON.stringify({ key: 'Mixed Case Key' }), type: 'demo.external',
      });
      const justStarted = await insert(tenant!.id, { status: 'running', version: 2, created_at: '9 minutes', started_at: '8 minutes', updated_at: '8 minutes' });
      const done = await insert(tenant!.id, {
        status: 'completed', outcome: 'partially_succeeded', version: 7, created_at: '6 minutes', started_at: '5 minutes', completed_at: '4 minutes', updated_at: '4 minutes',
        total: 3, processed: 3, succeeded: 1, failed: 2, failure_count: 5,
        failures: failures([
          { code: 'quota_exceeded', message: 'zeta (the first)' },
          { code: 'timeout', message: 'slow' },
          { message: 'no code at all' },
          { code: 'quota_exceeded', message: 'alpha (the last)' },
        ]),
      });
      const neverStarted = await insert(tenant!.id, {
        status: 'completed', outcome: 'failed', version: 2, created_at: '3 minutes', completed_at: '3 minutes', updated_at: '3 minutes',
        failure_count: 1, failures: failures([{ code: 'dispatch_failed', message: 'The run could not be handed to a worker.' }]),
      });
      const startedAndDone = await insert(tenant!.id, { status: 'completed', outcome: 'succeeded', version: 3, created_at: '2 minutes', started_at: '2 minutes', completed_at: '1 minute', updated_at: '1 minute' });
      const foreign = await insert(other!.id, { status: 'completed', outcome: 'failed', version: 2, created_at: '1 minute', completed_at: '1 minute', updated_at: '1 minute', failures: failures([{ code: 'foreign_code', message: 'x' }]), failure_count: 1 });
      const rowOf = async (id: string) =>
        (await exec<{ created_at: Date; started_at: Date | null; completed_at: Date | null; updated_at: Date }>('select created_at, started_at, completed_at, updated_at from operation_runs where id = ?', [id]))[0]!;

      const applied = await orm.migrator.up({ to: 'Migration20261203180000RunInsight' });
      expect(applied.map((m) => m.name)).toEqual(['Migration20261203180000RunInsight']);
      // The migrations after it apply on top of the backfilled tables.
      await orm.migrator.up();

      // Search text: the type and the scope's values (at any depth), lower-cased; never the keys.
      const texts = new Map((await exec<{ run_id: string; tenant_id: string; text: string }>('select run_id, tenant_id, text from run_search')).map((r) => [r.run_id, r]));
      expect(texts.size).toBe(7);
      const queuedText = texts.get(queued)!.text;
      expect(queuedText.startsWith('demo.batch')).toBe(true);
      for (const word of ['queued-one', 'deeper', '42', 'true']) expect(queuedText).toContain(word);
      for (const key of ['label', 'inner', 'list', 'null']) expect(queuedText).not.toContain(key);
      // The same text a new run gets (one value: no question of order).
      expect(texts.get(running)!.text).toBe(searchTextOf('demo.external', { key: 'Mixed Case Key' }));
      expect(texts.get(done)!.text).toBe('demo.batch');
      expect(texts.get(foreign)!.tenant_id).toBe(other!.id);

      // Failure reasons: per run and code, from the stored failures; the latest message of each code.
      const reasons = await exec<{ run_id: string; code: string; tenant_id: string; type: string; failures: number; message: string }>(
        'select run_id, code, tenant_id, type, failures, message from run_failure_reasons order by run_id, code',
      );
      const reasonsOf = (id: string) => reasons.filter((r) => r.run_id === id).map(({ code, failures: n, message, type }) => ({ code, failures: n, message, type }));
      expect(reasonsOf(running)).toEqual([{ code: 'item_failed', failures: 1, message: 'm1', type: 'demo.external' }]);
      expect(reasonsOf(done)).toEqual([
        { code: 'quota_exceeded', failures: 2, message: 'alpha (the last)', type: 'demo.batch' },
        { code: 'timeout', failures: 1, message: 'slow', type: 'demo.batch' },
      ]);
      expect(reasonsOf(neverStarted)).toEqual([{ code: 'dispatch_failed', failures: 1, message: 'The run could not be handed to a worker.', type: 'demo.batch' }]);
      expect(reasonsOf(queued)).toEqual([]);
      expect(reasons.find((r) => r.run_id === foreign)?.tenant_id).toBe(other!.id);

      // History: from the timestamps, by "recorded before history".
      const history = await exec<{ run_id: string; version: number; kind: string; status: string; total: number; processed: number; succeeded: number; failed: number; skipped: number; at: Date; by_kind: string; by_name: string }>(
        'select * from run_history order by run_id, version',
      );
      const historyOf = (id: string) => history.filter((h) => h.run_id === id);
      for (const entry of history) expect({ kind: entry.by_kind, name: entry.by_name }).toEqual(BEFORE);
      const shape = (id: string) => historyOf(id).map((h) => [h.version, h.kind, h.status]);
      expect(shape(queued)).toEqual([[1, 'queued', 'queued']]);
      expect(shape(running)).toEqual([[1, 'queued', 'queued'], [2, 'started', 'running'], [5, 'progress', 'running']]);
      expect(shape(justStarted)).toEqual([[1, 'queued', 'queued'], [2, 'started', 'running']]);
      expect(shape(done)).toEqual([[1, 'queued', 'queued'], [2, 'started', 'running'], [7, 'completed', 'completed']]);
      expect(shape(neverStarted)).toEqual([[1, 'queued', 'queued'], [2, 'completed', 'completed']]);
      expect(shape(startedAndDone)).toEqual([[1, 'queued', 'queued'], [2, 'started', 'running'], [3, 'completed', 'completed']]);
      const at = (id: string, version: number) => new Date(historyOf(id).find((h) => h.version === version)!.at).getTime();
      const row = await rowOf(done);
      expect(at(done, 1)).toBe(new Date(row.created_at).getTime());
      expect(at(done, 2)).toBe(new Date(row.started_at!).getTime());
      expect(at(done, 7)).toBe(new Date(row.completed_at!).getTime());
      expect(at(running, 5)).toBe(new Date((await rowOf(running)).updated_at).getTime());
      expect(historyOf(done).at(-1)).toMatchObject({ total: 3, processed: 3, succeeded: 1, failed: 2, skipped: 0 });
      expect(historyOf(running).at(-1)).toMatchObject({ total: 10, processed: 4, succeeded: 3, failed: 1 });
      expect(historyOf(done)[0]).toMatchObject({ total: 0, processed: 0 });

      // The product reads the backfilled rows like its own, and carries the runs on from where they were.
      const config = loadConfig({ DATABASE_URL: database.url, REDIS_URL: TEST_REDIS_URL, REDIS_PREFIX: prefix, RUNBOARD_DEMO_OPERATIONS: 'true', LOG_LEVEL: 'silent' });
      services = await createServices(config, orm, createLogger('silent'), { isWorker: false });
      const list = (q: string) => services!.runs.list(tenant!.id, { types: [], buckets: [], from: new Date(Date.now() - 86_400_000), limit: 50, q }).then((p) => p.runs.map((r) => r.id));
      expect(await list('DEEPER')).toEqual([queued]);
      expect(await list('mixed case')).toEqual([running]);
      expect(await list('quota_exceeded')).toEqual([done]);
      expect(await list('Old Timer')).toEqual([queued]);
      expect(await list('foreign_code')).toEqual([]);
      const summary = await services.runs.failureReasons(tenant!.id, '24h', 20);
      expect(summary.map((r) => [r.code, r.runs, r.failures, r.message])).toEqual([
        ['quota_exceeded', 1, 2, 'alpha (the last)'],
        ['dispatch_failed', 1, 1, 'The run could not be handed to a worker.'],
        ['item_failed', 1, 1, 'm1'],
        ['timeout', 1, 1, 'slow'],
      ]);
      const me = author('system', 'migration test');
      await services.lifecycle.progress(running, { succeeded: 1 }, me);
      await services.lifecycle.markStarted(queued, me);
      expect((await services.runs.historyOf(tenant!.id, running))!.map((h) => [h.version, h.kind, h.by.name])).toEqual([
        [1, 'queued', BEFORE.name],
        [2, 'started', BEFORE.name],
        [5, 'progress', BEFORE.name],
        [6, 'progress', 'migration test'],
      ]);
      expect((await services.runs.historyOf(tenant!.id, queued))!.map((h) => [h.version, h.kind])).toEqual([[1, 'queued'], [2, 'started']]);
    } finally {
      await services?.close();
      await orm.close();
      await deleteRedisKeys(TEST_REDIS_URL, prefix);
      await database.drop();
    }
  }, 60_000);
});
