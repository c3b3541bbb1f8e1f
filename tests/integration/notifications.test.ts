import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { UserEvent } from '../../db/changefeed/messages.ts';
import type { NotificationView } from '../../db/notifications/view.ts';
import { call, ChangefeedRecorder, login, spawnWorker, startApp, type RunningApp, type WorkerProcess } from '../helpers/app.ts';
import { expectError } from '../helpers/instances.ts';
import { createTestEnv, seedTenant, testPasswordHash, type Seeded, type TestEnv } from '../helpers/stack.ts';

// docs/api.md §5 (and the inbox of §3, the pushes of §4): runs started through HTTP, executed by a real worker
// process; completion is awaited on the changefeed. Tests build on each other's inbox, in order.

type Page = { notifications: NotificationView[]; unreadCount: number; nextCursor: string | null };
type NewEvent = Extract<UserEvent, { type: 'notification:new' }>;
type ReadEvent = Extract<UserEvent, { type: 'notification:read' }>;

describe('notifications', () => {
  let env: TestEnv;
  let app: RunningApp;
  let worker: WorkerProcess;
  let feed: ChangefeedRecorder;
  let acme: Seeded;
  const tokens = {} as Record<'owner' | 'manager' | 'operator' | 'readonly', string>;
  const runIds: string[] = [];

  const inbox = (token: string, query = '') => call<Page>(app.baseUrl, 'GET', `/api/notifications${query}`, { token });
  const start = (scope: Record<string, unknown>) =>
    call(app.baseUrl, 'POST', '/api/tenants/acme/runs', { token: tokens.operator, body: { type: 'demo.batch', scope } });

  const created = (): NewEvent[] => feed.users.filter((e): e is NewEvent => e.type === 'notification:new');
  const reads = (): ReadEvent[] => feed.users.filter((e): e is ReadEvent => e.type === 'notification:read');
  const createdFor = (runId: string) => created().filter((e) => e.notification.runId === runId);

  /** Waits until the run completed and both of its notifications were pushed. */
  const settled = async (runId: string) => {
    await feed.completed(runId);
    await feed.until(() => createdFor(runId).length >= 2, 10_000, `two notifications for run ${runId}`);
  };

  /** Every page of the inbox, following nextCursor (bounded, so a cursor loop fails instead of hanging). */
  const walk = async (token: string, limit: number, query = '') => {
    const seen: NotificationView[] = [];
    let cursor: string | null = null;
    for (let page = 0; page < 100; page++) {
      const params = new URLSearchParams(query);
      params.set('limit', String(limit));
      if (cursor) params.set('cursor', cursor);
      const response = await inbox(token, `?${params}`);
      expect(response.status, JSON.stringify(response.body)).toBe(200);
      expect(response.body.notifications.length).toBeLessThanOrEqual(limit);
      seen.push(...response.body.notifications);
      cursor = response.body.nextCursor;
      if (cursor === null) return seen;
    }
    throw new Error('paging did not end within 100 pages');
  };

  const expectNewestFirst = (list: NotificationView[]) => {
    const times = list.map((n) => Date.parse(n.createdAt));
    expect(times).toEqual([...times].sort((a, b) => b - a));
  };

  beforeAll(async () => {
    env = await createTestEnv();
    acme = await seedTenant(env.services, 'acme');
    app = await startApp(env);
    feed = await ChangefeedRecorder.start(env);
    worker = await spawnWorker(env);
    for (const role of ['owner', 'manager', 'operator', 'readonly'] as const) tokens[role] = await login(app.baseUrl, `${role}@acme.test`);
  });

  afterAll(async () => {
    await worker?.stop();
    await feed?.close();
    await app?.close();
    await env?.cleanup();
  });

  it('the initiator gets one queued and one terminal notification per run, titled by outcome', async () => {
    const cases = [
      { scope: { items: 3, itemMs: 5, key: 'n-ok' }, level: 'success', title: /(?<!partially )succeeded/i, counts: { succeeded: 3, failed: 0, total: 3 } },
      { scope: { items: 4, itemMs: 5, failEvery: 2, key: 'n-partial' }, level: 'warning', title: /partially succeeded/i, counts: { succeeded: 2, failed: 2, total: 4 } },
      { scope: { items: 2, itemMs: 5, failEvery: 1, key: 'n-failed' }, level: 'danger', title: /failed/i, counts: { succeeded: 0, failed: 2, total: 2 } },
    ];
    const started: string[] = [];
    for (const c of cases) {
      const answer = await start(c.scope);
      expect(answer.status, JSON.stringify(answer.body)).toBe(202);
      started.push(answer.body.run.id);
    }
    runIds.push(...started);
    await Promise.all(started.map(settled));

    const { body } = await inbox(tokens.operator, '?limit=200');
    expect(body.notifications).toHaveLength(6);
    expect(body.unreadCount).toBe(6);
    cases.forEach((c, i) => {
      const runId = started[i]!;
      const mine = body.notifications.filter((n) => n.runId === runId);
      expect(mine, `run ${runId}`).toHaveLength(2);
      const queued = mine.filter((n) => n.level === 'info');
      const terminal = mine.filter((n) => n.level !== 'info');
      expect(queued).toHaveLength(1);
      expect(terminal).toHaveLength(1);
      expect(queued[0]!.title).toMatch(/queued/i);
      expect(terminal[0]!.level).toBe(c.level);
      expect(terminal[0]!.title).toMatch(c.title);
      expect(terminal[0]!.title).not.toMatch(/queued/i);
      for (const n of Object.values(c.counts)) expect(terminal[0]!.body).toMatch(new RegExp(`\\b${n}\\b`));
      for (const n of mine) {
        expect(n).toEqual({
          id: expect.any(String),
          tenant: 'acme',
          runId,
          level: n.level,
          title: n.title,
          body: n.body,
          url: `/t/acme/operations/${runId}`,
          createdAt: expect.any(String),
          readAt: null,
        });
        expect(new Date(n.createdAt).toISOString()).toBe(n.createdAt);
      }
      // Queued before terminal: the terminal one is the newer.
      expect(Date.parse(terminal[0]!.createdAt)).toBeGreaterThanOrEqual(Date.parse(queued[0]!.createdAt));
      // The live pushes carry exactly these notifications, to the initiator only.
      const pushed = createdFor(runId);
      expect(pushed).toHaveLength(2);
      expect(pushed.map((e) => e.notification).sort((a, b) => a.id.localeCompare(b.id))).toEqual(
        [...mine].sort((a, b) => a.id.localeCompare(b.id)),
      );
    });
    // Each push says how many are unread; the last one to commit saw all six.
    const counts = created().map((e) => e.unreadCount);
    expect(counts.every((n) => Number.isInteger(n) && n >= 1 && n <= 6)).toBe(true);
    expect(Math.max(...counts)).toBe(6);
  });

  it('nobody but the initiator gets any', async () => {
    for (const role of ['owner', 'manager', 'readonly'] as const) {
      const { status, body } = await inbox(tokens[role]);
      expect(status).toBe(200);
      expect(body).toEqual({ notifications: [], unreadCount: 0, nextCursor: null });
    }
    expect(feed.users.every((e) => e.userId === acme.users.operator.id)).toBe(true);
  });

  it('a reused start creates no new notification', async () => {
    const scope = { items: 20, itemMs: 100, key: 'n-reuse' };
    const first = await start(scope);
    expect(first.status).toBe(202);
    const again = await start({ key: 'n-reuse', itemMs: 100, items: 20 });
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ reused: true, run: { id: first.body.run.id } });
    const runId = first.body.run.id as string;
    runIds.push(runId);
    await settled(runId);

    const { body } = await inbox(tokens.operator, '?limit=200');
    const mine = body.notifications.filter((n) => n.runId === runId);
    expect(mine.map((n) => n.level).sort()).toEqual(['info', 'success']);
    expect(createdFor(runId)).toHaveLength(2);
    expect(body.notifications).toHaveLength(8);
    expect(body.unreadCount).toBe(8);
  });

  it('the inbox is newest first and limit + nextCursor walk it all without duplicates', async () => {
    const full = await inbox(tokens.operator, '?limit=200');
    expect(full.body.nextCursor).toBeNull();
    const all = full.body.notifications;
    expect(all).toHaveLength(8);
    expectNewestFirst(all);
    for (const limit of [1, 3, 8]) {
      const walked = await walk(tokens.operator, limit);
      expect(walked.map((n) => n.id), `limit ${limit}`).toEqual(all.map((n) => n.id));
    }
    const firstPage = await inbox(tokens.operator, '?limit=3');
    expect(firstPage.body.notifications.map((n) => n.id)).toEqual(all.slice(0, 3).map((n) => n.id));
    expect(firstPage.body.nextCursor).toEqual(expect.any(String));
    expect(firstPage.body.unreadCount).toBe(8);
  });

  it('paging does not lose notifications created within the same millisecond', async () => {
    // Bursts (a user starting several runs at once, many completing together) put several notifications in
    // one millisecond; PostgreSQL keeps microseconds. Written as the service writes them, for one new user.
    const user = await env.services.tenants.createUser({ email: 'burst@acme.test', name: 'Burst', passwordHash: await testPasswordHash() });
    await env.services.tenants.addMember('acme', user.email, 'operator');
    await env.services.orm.em.fork().execute(
      `insert into notifications (user_id, tenant_id, run_id, level, title, body, url, created_at)
       select ?, ?, ?, 'info', 'Burst ' || i, 'One of a burst.', ?, date_trunc('milliseconds', now()) + make_interval(secs => i * 0.00005)
       from generate_series(1, 10) as i`,
      [user.id, acme.tenant.id, runIds[0], `/t/acme/operations/${runIds[0]}`],
    );
    const token = await login(app.baseUrl, user.email);
    const full = await inbox(token, '?limit=200');
    expect(full.body.notifications).toHaveLength(10);
    for (const limit of [1, 3, 4]) {
      const walked = await walk(token, limit);
      expect(walked.map((n) => n.title), `limit ${limit}`).toEqual(full.body.notifications.map((n) => n.title));
    }
    const unread = await walk(token, 3, 'unread=true');
    expect(unread).toHaveLength(10);
  });

  it('a bad cursor or limit is a 400, not a 500', async () => {
    for (const query of ['?cursor=nope', '?cursor=eyJ4IjoxfQ', '?limit=0', '?limit=abc', '?unread=maybe', '?bogus=1']) {
      expectError(await inbox(tokens.operator, query), 400, 'validation_failed', query);
    }
  });

  it('marking one read: 204, unreadCount drops, ?unread=true leaves it out, and the change is pushed', async () => {
    const { body } = await inbox(tokens.operator, '?limit=200');
    const target = body.notifications[2]!;
    const marked = await call(app.baseUrl, 'POST', `/api/notifications/${target.id}/read`, { token: tokens.operator });
    expect(marked.status).toBe(204);

    const after = await inbox(tokens.operator, '?limit=200');
    expect(after.body.unreadCount).toBe(7);
    const read = after.body.notifications.find((n) => n.id === target.id)!;
    expect(read.readAt).toEqual(expect.any(String));
    expect(after.body.notifications.filter((n) => n.readAt === null)).toHaveLength(7);

    const unread = await inbox(tokens.operator, '?unread=true&limit=200');
    expect(unread.body.unreadCount).toBe(7);
    expect(unread.body.notifications).toHaveLength(7);
    expect(unread.body.notifications.every((n) => n.readAt === null)).toBe(true);
    expect(unread.body.notifications.map((n) => n.id)).not.toContain(target.id);
    expectNewestFirst(unread.body.notifications);
    expect((await walk(tokens.operator, 2, 'unread=true')).map((n) => n.id)).toEqual(unread.body.notifications.map((n) => n.id));

    await feed.until(() => reads().some((e) => Array.isArray(e.ids) && e.ids.includes(target.id)), 5_000, 'notification:read');
    const event = reads().find((e) => Array.isArray(e.ids) && e.ids.includes(target.id))!;
    expect(event).toEqual({ userId: acme.users.operator.id, type: 'notification:read', ids: [target.id], unreadCount: 7 });
  });

  it("another user's notification cannot be read: 404, and it stays unread for its owner", async () => {
    const { body } = await inbox(tokens.operator, '?unread=true&limit=1');
    const target = body.notifications[0]!;
    const readsBefore = reads().length;
    for (const role of ['manager', 'owner'] as const) {
      const refused = await call(app.baseUrl, 'POST', `/api/notifications/${target.id}/read`, { token: tokens[role] });
      expectError(refused, 404, 'not_found', `${role} reads the operator's notification`);
    }
    for (const id of ['not-a-uuid', 'ffffffff-ffff-ffff-ffff-ffffffffffff']) {
      expectError(await call(app.baseUrl, 'POST', `/api/notifications/${id}/read`, { token: tokens.operator }), 404, 'not_found', id);
    }
    const after = await inbox(tokens.operator, '?limit=200');
    expect(after.body.notifications.find((n) => n.id === target.id)!.readAt).toBeNull();
    expect(after.body.unreadCount).toBe(7);
    // A read-all by someone else touches only their own (empty) inbox.
    expect((await call(app.baseUrl, 'POST', '/api/notifications/read-all', { token: tokens.manager })).status).toBe(204);
    expect((await inbox(tokens.operator)).body.unreadCount).toBe(7);
    expect(reads().slice(readsBefore).every((e) => e.userId === acme.users.manager.id)).toBe(true);
  });

  it('read-all: 204, unreadCount 0, pushed to the owner', async () => {
    const readAll = await call(app.baseUrl, 'POST', '/api/notifications/read-all', { token: tokens.operator });
    expect(readAll.status).toBe(204);
    const after = await inbox(tokens.operator, '?limit=200');
    expect(after.body.unreadCount).toBe(0);
    expect(after.body.notifications).toHaveLength(8);
    expect(after.body.notifications.every((n) => n.readAt !== null)).toBe(true);
    expect(await inbox(tokens.operator, '?unread=true')).toMatchObject({ status: 200, body: { notifications: [], unreadCount: 0, nextCursor: null } });

    const isMine = (e: ReadEvent) => e.userId === acme.users.operator.id && e.ids === 'all';
    await feed.until(() => reads().some(isMine), 5_000, 'notification:read all');
    expect(reads().filter(isMine)).toEqual([{ userId: acme.users.operator.id, type: 'notification:read', ids: 'all', unreadCount: 0 }]);
  });

  it('a new run after read-all counts from zero again', async () => {
    const answer = await start({ items: 1, itemMs: 1, key: 'n-after-read-all' });
    expect(answer.status).toBe(202);
    const runId = answer.body.run.id as string;
    await settled(runId);
    expect(createdFor(runId).map((e) => e.unreadCount).sort()).toEqual([1, 2]);
    const { body } = await inbox(tokens.operator, '?unread=true');
    expect(body.unreadCount).toBe(2);
    expect(body.notifications.map((n) => n.runId)).toEqual([runId, runId]);
  });
});
