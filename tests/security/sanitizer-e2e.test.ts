// The failure sanitizer end to end (docs/api.md §1 "Sanitized failures", §9): every secret of the shared corpus
// goes in where users and workers put text — a demo.batch `failMessage` (worker item failures and aborts) and
// a mirrored run's reported failures (message and item) — through a real gateway process and a real worker
// process logging at `trace`. Then no secret (nor any 8-character piece of one) may be found in the database,
// the live payloads, the API's answers or either process's logs. The one place a secret stays is the run's
// `scope`, which the contract shows to the tenant's members exactly as it was given (operation types never
// take credentials as input): that echo is asserted separately, so the test also proves the secrets went in.
import { hostname } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isSafeText } from '../../db/validation.ts';
import { call, login, type ApiResponse } from '../helpers/app.ts';
import { RecordingClient } from '../helpers/live.ts';
import { spawnGateway, spawnWorkerProcess, stopAll, type GatewayProcess, type ServiceProcess } from '../helpers/processes.ts';
import { leakWindows, SECRET_CORPUS, type SecretCase } from '../helpers/secret-corpus.ts';
import { createTestEnv, seedTenant, type TestEnv } from '../helpers/stack.ts';

/** Cases the API can carry at all (a NUL byte is refused at the edge with a 400, before anything is stored). */
const CASES = SECRET_CORPUS.filter((c) => isSafeText(c.message));
/** The schema's bound for a reported failure's item id. */
const MAX_ITEM = 200;

type Injected = { kase: SecretCase; runId: string; via: 'worker item failure' | 'worker abort' | 'mirrored event' };

/** Every way a leak shows: each secret verbatim or JSON-escaped, and every 8-char piece not also ordinary text. */
function leaksIn(text: string, where: string): string[] {
  const found: string[] = [];
  for (const kase of CASES) {
    for (const secret of kase.secrets) {
      const escaped = JSON.stringify(secret).slice(1, -1);
      if (text.includes(secret) || text.includes(escaped)) {
        found.push(`${where}: "${kase.name}" secret ${secret.slice(0, 12)}…`);
        continue;
      }
      const piece = leakWindows(secret, kase.message, kase.secrets).find((w) => text.includes(w));
      if (piece) found.push(`${where}: "${kase.name}" fragment "${piece}"`);
    }
  }
  return found;
}

/** Runs `task` over `items` with at most `limit` in flight. */
async function inPool<T>(items: T[], limit: number, task: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < items.length) {
        const index = next++;
        await task(items[index]!, index);
      }
    }),
  );
}

describe('sanitizer end to end: secrets in failure text never reach storage, live payloads, the API or the logs', () => {
  let env: TestEnv;
  let gateway: GatewayProcess;
  let worker: ServiceProcess;
  let operator: string;
  let live: RecordingClient;
  const injected: Injected[] = [];
  /** Every credential used here: none may show in a history's names (or anywhere else). */
  const credentials: string[] = [];

  /**
   * A GET retried once when the server closed the pooled keep-alive connection just as it was reused (the
   * other tests here leave the connection idle past the server's 5 s keep-alive): a client-side race only.
   */
  const read = (path: string): Promise<ApiResponse> =>
    call(gateway.baseUrl, 'GET', path, { token: operator }).catch((error: Error & { cause?: { code?: string } }) => {
      if (error.cause?.code !== 'UND_ERR_SOCKET') throw error;
      return call(gateway.baseUrl, 'GET', path, { token: operator });
    });
  const withoutScope = ({ scope: _scope, ...rest }: { scope?: unknown }) => rest;

  beforeAll(async () => {
    env = await createTestEnv();
    await seedTenant(env.services, 'acme');
    // Both processes at the most verbose level, so whatever they could log, they do.
    [gateway, worker] = await Promise.all([
      spawnGateway(env, { LOG_LEVEL: 'trace' }),
      spawnWorkerProcess(env, { LOG_LEVEL: 'trace', WORKER_CONCURRENCY: '8' }),
    ]);
    operator = await login(gateway.baseUrl, 'operator@acme.test');
    const owner = await login(gateway.baseUrl, 'owner@acme.test');
    const integration = await call(gateway.baseUrl, 'POST', '/api/tenants/acme/integration-tokens', { token: owner, body: { label: 'e2e reporter' } });
    expect(integration.status).toBe(201);
    credentials.push(operator, owner, integration.body.token);
    live = await RecordingClient.connect(gateway.baseUrl, { token: operator });
    expect(await live.subscribe({ tenant: 'acme' })).toEqual({ ok: true });

    // Worker path: two failing items per run (every 4th case aborts instead), message from the corpus.
    await inPool(CASES, 6, async (kase, i) => {
      const abort = i % 4 === 0;
      const scope = abort
        ? { items: 2, itemMs: 0, abort: true, failMessage: kase.message, key: `abort-${i}` }
        : { items: 2, itemMs: 0, failEvery: 1, failMessage: kase.message, key: `items-${i}` };
      const started = await call(gateway.baseUrl, 'POST', '/api/tenants/acme/runs', { token: operator, body: { type: 'demo.batch', scope } });
      expect(started.status, `${kase.name}: ${JSON.stringify(started.body).slice(0, 200)}`).toBe(202);
      injected.push({ kase, runId: started.body.run.id, via: abort ? 'worker abort' : 'worker item failure' });
    });

    // Mirrored path: the reporter's failure message and item id carry the secret; the operator is the initiator.
    await inPool(CASES, 6, async (kase, i) => {
      const report = (path: string, body: unknown) => call(gateway.baseUrl, 'POST', `/api/tenants/acme/runs${path}`, { token: integration.body.token, body });
      const started = await report('', { type: 'demo.external', scope: { key: `mirrored-${i}` }, initiator: { email: 'operator@acme.test' } });
      expect(started.status).toBe(202);
      const runId: string = started.body.run.id;
      const failure = { code: 'restore_failed', message: kase.message, ...(kase.message.length <= MAX_ITEM ? { item: kase.message } : {}) };
      for (const event of [
        { kind: 'started', eventId: `e2e-${i}-started` },
        { kind: 'progress', eventId: `e2e-${i}-progress`, total: 2, succeeded: 1, failed: 1, failures: [failure] },
        { kind: 'completed', eventId: `e2e-${i}-completed` },
      ]) {
        const answer = await report(`/${runId}/events`, event);
        expect(answer.status, `${kase.name} ${event.kind}: ${JSON.stringify(answer.body).slice(0, 200)}`).toBe(200);
      }
      injected.push({ kase, runId, via: 'mirrored event' });
    });

    const ids = new Set(injected.map((r) => r.runId));
    const completed = () => new Set(live.of('run:update').filter((u) => u.kind === 'completed' && ids.has(u.run.id)).map((u) => u.run.id)).size;
    await live.until(() => completed() === ids.size, 90_000, `all ${ids.size} runs to complete`);
    // The terminal notifications are pushed after the completion they belong to.
    await live.until(() => live.of('notification:new').length >= ids.size * 2, 30_000, 'every queued and terminal notification');
  }, 180_000);

  afterAll(async () => {
    live?.close();
    await stopAll([gateway, worker]);
    await env?.cleanup();
  }, 60_000);

  it(`injected ${CASES.length} secret shapes through 3 paths (${CASES.length * 2} runs), and each failure was recorded, redacted`, async () => {
    expect(CASES.length).toBeGreaterThanOrEqual(30);
    const em = env.services.orm.em.fork();
    const rows = await em.execute<{ id: string; outcome: string; failures: { code: string; message: string; item?: string }[] }[]>(
      'select id, outcome, failures from operation_runs',
    );
    const byId = new Map(rows.map((r) => [r.id, r]));
    let redacted = 0;
    for (const { kase, runId, via } of injected) {
      const row = byId.get(runId)!;
      expect(row.outcome, `${kase.name} via ${via}`).toMatch(/^(failed|partially_succeeded)$/);
      expect(row.failures.length, `${kase.name} via ${via}`).toBeGreaterThan(0);
      if (row.failures.some((f) => f.message.includes('[redacted'))) redacted += 1;
    }
    console.log(
      `[sanitizer-e2e] ${CASES.length} corpus cases × (worker via demo.batch, mirrored events) = ${injected.length} runs; ` +
        `${redacted} stored failure lists show a redaction marker; ${injected.filter((r) => r.via === 'worker abort').length} worker aborts`,
    );
    expect(redacted).toBeGreaterThanOrEqual(injected.length * 0.9);

    // The shapes the API cannot carry (a NUL byte) are refused at the edge, before anything is stored.
    for (const kase of SECRET_CORPUS.filter((c) => !CASES.includes(c))) {
      const scope = { items: 1, itemMs: 0, failEvery: 1, failMessage: kase.message, key: 'unsafe' };
      const refused = await call(gateway.baseUrl, 'POST', '/api/tenants/acme/runs', { token: operator, body: { type: 'demo.batch', scope } });
      expect(refused.status, kase.name).toBe(400);
      for (const secret of kase.secrets) expect(JSON.stringify(refused.body), kase.name).not.toContain(secret);
    }
  });

  it('the database holds no secret: runs (but their scope), reported event ids and notifications', async () => {
    const em = env.services.orm.em.fork();
    const dump = async (sql: string) => JSON.stringify(await em.execute(sql));
    const tables = {
      operation_runs: await dump(`select to_jsonb(r) - 'scope' as row from operation_runs r`),
      run_events: await dump('select to_jsonb(e) as row from run_events e'),
      notifications: await dump('select to_jsonb(n) as row from notifications n'),
    };
    expect(tables.notifications.length).toBeGreaterThan(1_000);
    expect(Object.entries(tables).flatMap(([table, text]) => leaksIn(text, table))).toEqual([]);

    // The scope is the caller's input, shown as given (docs/api.md §1): here is where the secrets did go in.
    const scopes = await em.execute<{ scope: { failMessage?: string } }[]>(`select scope from operation_runs where type = 'demo.batch'`);
    const given = new Set(scopes.map((r) => r.scope.failMessage));
    expect(CASES.every((c) => given.has(c.message))).toBe(true);
  });

  it('no live payload carries one: run:update (scope aside) and notification:new', () => {
    const updates = live.of('run:update');
    expect(updates.length).toBeGreaterThanOrEqual(injected.length * 3);
    const runText = JSON.stringify(updates.map((u) => ({ ...u, run: withoutScope(u.run) })));
    const notificationText = JSON.stringify(live.of('notification:new'));
    expect([...leaksIn(runText, 'run:update'), ...leaksIn(notificationText, 'notification:new')]).toEqual([]);
  });

  it('no API answer carries one: the inbox, run lists and every run detail with its failures (scope aside)', async () => {
    const inbox: unknown[] = [];
    let cursor: string | null = '';
    while (cursor !== null) {
      const page = await read(`/api/notifications?limit=200${cursor ? `&cursor=${cursor}` : ''}`);
      expect(page.status).toBe(200);
      inbox.push(page.body);
      cursor = page.body.nextCursor;
    }
    expect(inbox.flatMap((page) => (page as { notifications: unknown[] }).notifications)).toHaveLength(injected.length * 2);
    const list = await read('/api/tenants/acme/runs?limit=500');
    // Every injected run is listed (the worker's scheduled purge run may be there too).
    expect(list.body.runs.map((r: { id: string }) => r.id)).toEqual(expect.arrayContaining(injected.map((r) => r.runId)));
    const details: unknown[] = [];
    await inPool(injected, 6, async ({ runId }) => {
      const detail = await read(`/api/tenants/acme/runs/${runId}`);
      expect(detail.status).toBe(200);
      details.push(withoutScope(detail.body.run));
    });
    expect([
      ...leaksIn(JSON.stringify(inbox), 'GET /api/notifications'),
      ...leaksIn(JSON.stringify(list.body.runs.map(withoutScope)), 'GET /runs'),
      ...leaksIn(JSON.stringify(details), 'GET /runs/:id'),
    ]).toEqual([]);
  });

  it('failure reasons (docs/api.md §11) carry only sanitized messages; their table holds no secret', async () => {
    const answer = await read('/api/tenants/acme/failure-reasons?window=1h&limit=100');
    expect(answer.status).toBe(200);
    const reasons = answer.body.reasons as { code: string; runs: number; failures: number; message: string }[];
    const byCode = new Map(reasons.map((r) => [r.code, r]));
    // Every path reached the summary: worker item failures, worker aborts, mirrored events.
    const count = (via: Injected['via']) => injected.filter((r) => r.via === via).length;
    expect(byCode.get('item_failed')?.runs).toBe(count('worker item failure'));
    expect(byCode.get('item_failed')?.failures).toBe(count('worker item failure') * 2);
    expect(byCode.get('aborted')?.runs).toBe(count('worker abort'));
    expect(byCode.get('restore_failed')?.runs).toBe(count('mirrored event'));
    expect(leaksIn(JSON.stringify(reasons), 'GET /failure-reasons')).toEqual([]);
    // Over every window and the widest limit, too.
    for (const window of ['24h', '7d', '30d']) {
      const wide = await read(`/api/tenants/acme/failure-reasons?window=${window}&limit=100`);
      expect(leaksIn(JSON.stringify(wide.body), `GET /failure-reasons?window=${window}`)).toEqual([]);
    }
    const em = env.services.orm.em.fork();
    const table = JSON.stringify(await em.execute('select to_jsonb(f) as row from run_failure_reasons f'));
    expect(table.length).toBeGreaterThan(1_000);
    expect(leaksIn(table, 'run_failure_reasons')).toEqual([]);
  });

  it("history carries no message and no secret, and its names (user, worker, integration label) no credential", async () => {
    const workerName = `${hostname()} (pid ${worker.child.pid})`;
    const histories: unknown[] = [];
    await inPool(injected, 6, async ({ runId, via }) => {
      const answer = await read(`/api/tenants/acme/runs/${runId}/history`);
      expect(answer.status).toBe(200);
      const history = answer.body.history as { kind: string; by: { kind: string; name: string } }[];
      expect(history.map((h) => h.kind).at(-1)).toBe('completed');
      const names = new Set(history.map((h) => `${h.by.kind}:${h.by.name}`));
      const expected = via === 'mirrored event' ? ['integration:e2e reporter'] : ['user:operator of acme', `worker:${workerName}`];
      expect([...names].sort(), `${via} ${runId}`).toEqual(expected.sort());
      for (const entry of history) expect(Object.keys(entry).sort()).toEqual(['at', 'by', 'counts', 'kind', 'status', 'version']);
      histories.push(history);
    });
    const text = JSON.stringify(histories);
    expect(leaksIn(text, 'GET /runs/:id/history')).toEqual([]);
    for (const credential of credentials) expect(text).not.toContain(credential);
    // Pushed with run:update, the same entries.
    expect(leaksIn(JSON.stringify(live.of('run:update').map((u) => u.history ?? null)), 'run:update history')).toEqual([]);
    const em = env.services.orm.em.fork();
    const table = JSON.stringify(await em.execute('select to_jsonb(h) as row from run_history h'));
    expect(leaksIn(table, 'run_history')).toEqual([]);
    for (const credential of credentials) expect(table).not.toContain(credential);
    // Search text is the scope's values as given (docs/api.md §11), like the scope itself: that is where the secrets are.
    const search = (await em.execute<{ text: string }[]>(`select s.text from run_search s join operation_runs r on r.id = s.run_id where r.type = 'demo.batch'`)).map((r) => r.text);
    expect(search).toHaveLength(CASES.length);
    const echoed = CASES.filter((c) => search.some((text) => text.includes(c.message.toLowerCase().slice(0, 40))));
    expect(echoed.length).toBeGreaterThanOrEqual(CASES.length * 0.9);
  });

  it('no log line of the gateway or the worker (LOG_LEVEL=trace) carries one', () => {
    const logs = { gateway: gateway.lines, worker: worker.lines };
    console.log(`[sanitizer-e2e] log lines checked: gateway ${logs.gateway.length}, worker ${logs.worker.length}`);
    expect(logs.gateway.some((l) => l.includes('server listening'))).toBe(true);
    expect(logs.worker.some((l) => l.includes('worker started'))).toBe(true);
    expect(Object.entries(logs).flatMap(([name, lines]) => leaksIn(lines.join('\n'), `${name} log`))).toEqual([]);
  });
});
