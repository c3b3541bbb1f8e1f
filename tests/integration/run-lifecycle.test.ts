import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RUN_STATUSES } from '../../db/runs/model.ts';
import { call, login, startSystem, type System } from '../helpers/app.ts';

// The whole path through real processes: HTTP start → bee-queue → worker process → PostgreSQL → changefeed.
describe('run lifecycle through a real worker', () => {
  let system: System;
  let operator: string;
  const app = () => system.app;

  beforeAll(async () => {
    system = await startSystem();
    operator = await login(app().baseUrl, system.tenants.acme!.users.operator.email);
  });

  afterAll(async () => {
    await system?.stop();
  });

  const start = (scope: Record<string, unknown>) =>
    call(app().baseUrl, 'POST', '/api/tenants/acme/runs', { token: operator, body: { type: 'demo.batch', scope } });

  const detail = (id: string) => call(app().baseUrl, 'GET', `/api/tenants/acme/runs/${id}`, { token: operator });

  it.each([
    { name: 'succeeded', scope: { items: 12, itemMs: 5 }, outcome: 'succeeded', counts: { total: 12, processed: 12, succeeded: 12, failed: 0, skipped: 0 }, failureCount: 0 },
    { name: 'partially succeeded', scope: { items: 9, itemMs: 5, failEvery: 3 }, outcome: 'partially_succeeded', counts: { total: 9, processed: 9, succeeded: 6, failed: 3, skipped: 0 }, failureCount: 3 },
    { name: 'failed (every item)', scope: { items: 4, itemMs: 5, failEvery: 1, failCode: 'quota_exceeded' }, outcome: 'failed', counts: { total: 4, processed: 4, succeeded: 0, failed: 4, skipped: 0 }, failureCount: 4 },
    { name: 'aborted', scope: { items: 5, abort: true }, outcome: 'failed', counts: { total: 5, processed: 0, succeeded: 0, failed: 0, skipped: 0 }, failureCount: 1 },
  ])('$name', async ({ scope, outcome, counts, failureCount }) => {
    const started = await start({ ...scope, key: `lifecycle-${outcome}-${failureCount}` });
    expect(started.status).toBe(202);
    expect(started.body.reused).toBe(false);
    expect(started.body.url).toBe(`/t/acme/operations/${started.body.run.id}`);
    expect(started.body.run).toMatchObject({ status: 'queued', outcome: 'pending', bucket: 'queued', tenant: 'acme', version: 1 });

    const completed = await system.feed.completed(started.body.run.id);
    const { body } = await detail(started.body.run.id);
    expect(body.run).toMatchObject({ status: 'completed', outcome, bucket: outcome, counts, failureCount });
    expect(body.run.failures).toHaveLength(failureCount);
    // The pushed terminal payload is the committed row: equal to the HTTP detail, minus the failures list.
    const { failures: _failures, ...withoutFailures } = body.run;
    expect(completed.run).toEqual(withoutFailures);

    const changes = system.feed.forRun(started.body.run.id);
    const versions = changes.map((c) => c.run.version);
    expect(versions).toEqual([...versions].sort((a, b) => a - b));
    expect(new Set(versions).size).toBe(versions.length);
    expect(versions[0]).toBe(1);
    const statuses = changes.map((c) => RUN_STATUSES.indexOf(c.run.status));
    expect(statuses).toEqual([...statuses].sort((a, b) => a - b));
    expect(changes.map((c) => c.kind)).toEqual(expect.arrayContaining(['queued', 'started', 'completed']));
    expect(body.run.startedAt).not.toBeNull();
    expect(new Date(body.run.completedAt).getTime()).toBeGreaterThanOrEqual(new Date(body.run.startedAt).getTime());
  });

  it('sanitizes failure messages before they are stored or published', async () => {
    const secret = 'postgres://admin:hunter2hunter2@db.internal:5432/app';
    const started = await start({ items: 2, itemMs: 1, failEvery: 1, failMessage: `cannot reach ${secret}`, key: 'sanitize' });
    await system.feed.completed(started.body.run.id);
    const { body } = await detail(started.body.run.id);
    // The scope is shown as given (docs/api.md §1); failures, notifications and their pushes are sanitized.
    expect(JSON.stringify(body.run.failures)).not.toContain('hunter2');
    expect(body.run.failures[0]).toMatchObject({ code: 'item_failed', item: 'item-1' });
    expect(body.run.failures[0].message).toContain('db.internal');
    const forRun = () => system.feed.users.filter((u) => u.type === 'notification:new' && u.notification.runId === started.body.run.id);
    await system.feed.until(() => forRun().length === 2, 10_000, 'queued and completed notifications');
    const notifications = forRun();
    expect(JSON.stringify(notifications)).not.toContain('hunter2');
  });

  it('coalesces progress writes to a few per second however fast items go', async () => {
    const started = await start({ items: 400, itemMs: 5, key: 'coalesce' });
    await system.feed.completed(started.body.run.id);
    const progress = system.feed.forRun(started.body.run.id).filter((c) => c.kind === 'progress');
    // ~2 s of work: at most one write per 250 ms (plus slack), never one per item.
    expect(progress.length).toBeGreaterThan(0);
    expect(progress.length).toBeLessThan(40);
  });

  it('200 concurrent identical starts make exactly one run; after it completes the same scope starts anew', async () => {
    // Long enough that it is still active when the last of the 200 answers.
    const scope = { items: 40, itemMs: 250, key: 'dedupe' };
    const answers = await Promise.all(Array.from({ length: 200 }, () => start(scope)));
    expect(answers.every((a) => a.status === 202 || a.status === 200)).toBe(true);
    const ids = new Set(answers.map((a) => a.body.run.id));
    expect(ids.size).toBe(1);
    expect(answers.filter((a) => a.body.reused === false)).toHaveLength(1);
    const [runId] = ids;
    await system.feed.completed(runId!);
    const again = await start(scope);
    expect(again.status).toBe(202);
    expect(again.body.run.id).not.toBe(runId);
    await system.feed.completed(again.body.run.id);
  });

  it('identity ignores key order of the scope', async () => {
    const first = await start({ items: 50, itemMs: 20, key: 'order' });
    const second = await start({ key: 'order', itemMs: 20, items: 50 });
    expect(second.status).toBe(200);
    expect(second.body).toMatchObject({ reused: true, run: { id: first.body.run.id } });
    await system.feed.completed(first.body.run.id);
  });
});
