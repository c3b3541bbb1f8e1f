import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, login, startApp, type RunningApp } from '../helpers/app.ts';
import { expectError, startSecondInstance } from '../helpers/instances.ts';
import { createTestEnv, seedTenant, testPasswordHash, TEST_PASSWORD, type Seeded, type TestEnv } from '../helpers/stack.ts';

// CONTRACT §3 authentication, sessions, CSRF defence and the operator endpoints, over real HTTP.

const MAX_FAILURES = 3;
const EVIL = 'https://evil.example';

type LoginBody = {
  token: string;
  user: { id: string; email: string; name: string };
  memberships: { tenant: { slug: string; name: string }; role: string }[];
};

const sessionCookie = (headers: Headers): string | undefined => headers.getSetCookie().find((c) => c.startsWith('rb_session='));

describe('authentication and sessions', () => {
  let env: TestEnv;
  let app: RunningApp;
  let acme: Seeded;
  let globex: Seeded;

  const post = (path: string, body: unknown) => call<LoginBody>(app.baseUrl, 'POST', path, { body });
  const cookieOf = (token: string) => ({ cookie: `rb_session=${token}` });
  const runCount = async () => {
    const [row] = await env.services.orm.em.fork().execute<{ n: string }[]>('select count(*) as n from operation_runs');
    return Number(row?.n);
  };
  const addUser = async (email: string, tenant = 'acme', role: 'operator' | 'manager' = 'operator') => {
    const user = await env.services.tenants.createUser({ email, name: email.split('@')[0]!, passwordHash: await testPasswordHash() });
    await env.services.tenants.addMember(tenant, email, role);
    return user;
  };

  beforeAll(async () => {
    env = await createTestEnv({ LOGIN_MAX_FAILURES: String(MAX_FAILURES) });
    acme = await seedTenant(env.services, 'acme');
    globex = await seedTenant(env.services, 'globex');
    await env.services.tenants.addMember('globex', acme.users.owner.email, 'readonly');
    app = await startApp(env);
  });

  afterAll(async () => {
    await app?.close();
    await env?.cleanup();
  });

  it('login answers the token, the user and the memberships, and sets the session cookie', async () => {
    const response = await post('/api/auth/login', { email: 'owner@acme.test', password: TEST_PASSWORD });
    expect(response.status).toBe(200);
    const { token, user, memberships, ...rest } = response.body;
    expect(rest).toEqual({});
    expect(token).toEqual(expect.any(String));
    expect(user).toEqual({ id: acme.users.owner.id, email: 'owner@acme.test', name: acme.users.owner.name });
    expect(memberships).toHaveLength(2);
    expect(memberships).toEqual(
      expect.arrayContaining([
        { tenant: { slug: 'acme', name: acme.tenant.name }, role: 'owner' },
        { tenant: { slug: 'globex', name: globex.tenant.name }, role: 'readonly' },
      ]),
    );

    const cookie = sessionCookie(response.headers);
    expect(cookie, response.headers.getSetCookie().join(' | ')).toBeDefined();
    const [pair, ...attributes] = cookie!.split(';').map((part) => part.trim());
    expect(pair).toBe(`rb_session=${token}`);
    expect(attributes.map((a) => a.toLowerCase())).toEqual(expect.arrayContaining(['httponly', 'samesite=lax', 'path=/']));
  });

  it('the session cookie alone authenticates, and /api/me answers the user and memberships', async () => {
    const token = await login(app.baseUrl, 'owner@acme.test');
    for (const options of [{ headers: cookieOf(token) }, { token }]) {
      const me = await call(app.baseUrl, 'GET', '/api/me', options);
      expect(me.status).toBe(200);
      expect(me.body).toEqual({
        user: { id: acme.users.owner.id, email: 'owner@acme.test', name: acme.users.owner.name },
        memberships: expect.arrayContaining([
          { tenant: { slug: 'acme', name: acme.tenant.name }, role: 'owner' },
          { tenant: { slug: 'globex', name: globex.tenant.name }, role: 'readonly' },
        ]),
      });
      expect(me.body.memberships).toHaveLength(2);
    }
    const runs = await call(app.baseUrl, 'GET', '/api/tenants/acme/runs', { headers: cookieOf(token) });
    expect(runs.status).toBe(200);
  });

  it('an unknown user and a wrong password get the same 401', async () => {
    const unknown = await post('/api/auth/login', { email: 'nobody@acme.test', password: TEST_PASSWORD });
    const wrong = await post('/api/auth/login', { email: 'readonly@globex.test', password: `${TEST_PASSWORD}!` });
    expectError(unknown, 401, 'unauthorized', 'unknown user');
    expectError(wrong, 401, 'unauthorized', 'wrong password');
    expect(unknown.body).toEqual(wrong.body);
    expect(sessionCookie(unknown.headers)).toBeUndefined();
    expect(sessionCookie(wrong.headers)).toBeUndefined();
  });

  it('the email is case-insensitive', async () => {
    const response = await post('/api/auth/login', { email: 'Operator@ACME.Test', password: TEST_PASSWORD });
    expect(response.status).toBe(200);
    expect(response.body.user).toEqual({ id: acme.users.operator.id, email: 'operator@acme.test', name: acme.users.operator.name });
  });

  it('malformed login input is a 400, never a 500', async () => {
    for (const body of [{}, { email: 'owner@acme.test' }, { email: 42, password: TEST_PASSWORD }, { email: 'a', password: 'b', extra: 1 }]) {
      expectError(await post('/api/auth/login', body), 400, 'validation_failed', JSON.stringify(body));
    }
    expectError(await call(app.baseUrl, 'POST', '/api/auth/login', { raw: '{"email":' }), 400, 'validation_failed', 'broken JSON');
  });

  it(`after ${MAX_FAILURES} failures the account is locked (429) on every server sharing the Redis prefix`, async () => {
    const second = await startSecondInstance(env);
    try {
      const victim = await addUser('victim@acme.test');
      const bystander = await addUser('bystander@acme.test');
      const servers = [app.baseUrl, second.baseUrl];
      for (let i = 0; i < MAX_FAILURES; i++) {
        const failed = await call(servers[i % 2]!, 'POST', '/api/auth/login', { body: { email: victim.email, password: 'wrong password' } });
        expectError(failed, 401, 'unauthorized', `failure ${i + 1}`);
      }
      for (const [baseUrl, email] of [
        [second.baseUrl, victim.email],
        [app.baseUrl, victim.email],
        [second.baseUrl, 'VICTIM@acme.test'],
      ] as const) {
        const locked = await call(baseUrl, 'POST', '/api/auth/login', { body: { email, password: TEST_PASSWORD } });
        expectError(locked, 429, 'rate_limited', `right password for ${email} on ${baseUrl}`);
        expect(sessionCookie(locked.headers)).toBeUndefined();
      }
      // The lock is per account: someone else on the same address signs in fine, on either server.
      for (const baseUrl of servers) {
        expect((await call(baseUrl, 'POST', '/api/auth/login', { body: { email: bystander.email, password: TEST_PASSWORD } })).status).toBe(200);
      }
    } finally {
      await second.close();
    }
  });

  it('logout revokes the session at once, for the bearer and the cookie alike, and clears the cookie', async () => {
    const token = await login(app.baseUrl, 'manager@acme.test');
    expect((await call(app.baseUrl, 'GET', '/api/me', { token })).status).toBe(200);
    const out = await call(app.baseUrl, 'POST', '/api/auth/logout', { token });
    expect(out.status).toBe(204);
    const cleared = sessionCookie(out.headers);
    expect(cleared).toBeDefined();
    expect(cleared!.startsWith('rb_session=;')).toBe(true);
    expectError(await call(app.baseUrl, 'GET', '/api/me', { token }), 401, 'unauthorized', 'bearer after logout');
    expectError(await call(app.baseUrl, 'GET', '/api/me', { headers: cookieOf(token) }), 401, 'unauthorized', 'cookie after logout');
    expectError(await call(app.baseUrl, 'POST', '/api/auth/logout', { token }), 401, 'unauthorized', 'second logout');
  });

  it('a cookie session logs out from its own origin', async () => {
    const token = await login(app.baseUrl, 'manager@acme.test');
    const out = await call(app.baseUrl, 'POST', '/api/auth/logout', { headers: { ...cookieOf(token), origin: app.baseUrl } });
    expect(out.status).toBe(204);
    expectError(await call(app.baseUrl, 'GET', '/api/me', { headers: cookieOf(token) }), 401, 'unauthorized', 'cookie after logout');
  });

  it('a cookie-authenticated write from a foreign origin is refused and changes nothing', async () => {
    const operator = await login(app.baseUrl, 'operator@acme.test');
    const manager = await login(app.baseUrl, 'manager@acme.test');
    const kiosk = await call(app.baseUrl, 'POST', '/api/tenants/acme/kiosk-tokens', { token: manager, body: { label: 'csrf target' } });
    expect(kiosk.status).toBe(201);
    const before = await runCount();
    const start = { type: 'demo.batch', scope: { items: 1, key: 'csrf' } };

    const forged: [string, string, string, unknown?][] = [
      [operator, 'POST', '/api/tenants/acme/runs', start],
      [manager, 'POST', '/api/tenants/acme/kiosk-tokens', { label: 'evil wall' }],
      [manager, 'DELETE', `/api/tenants/acme/kiosk-tokens/${kiosk.body.id}`],
      [operator, 'POST', '/api/notifications/read-all'],
      [operator, 'POST', '/api/auth/logout'],
    ];
    const tokensBefore = await env.services.orm.em.fork().execute('select id, revoked_at from auth_tokens order by id');
    for (const [token, method, path, body] of forged) {
      const refused = await call(app.baseUrl, method, path, { headers: { ...cookieOf(token), origin: EVIL }, ...(body ? { body } : {}) });
      expectError(refused, 403, 'forbidden', `${method} ${path} from ${EVIL}`);
    }
    expect(await runCount()).toBe(before);
    expect(await env.services.orm.em.fork().execute('select id, revoked_at from auth_tokens order by id')).toEqual(tokensBefore);
    expect((await call(app.baseUrl, 'GET', '/api/me', { headers: cookieOf(operator) })).status).toBe(200);
    expect((await call(app.baseUrl, 'GET', '/api/tenants/acme/runs', { token: kiosk.body.token })).status).toBe(200);

    // The same request from the dashboard's own origin goes through.
    const allowed = await call(app.baseUrl, 'POST', '/api/tenants/acme/runs', { headers: { ...cookieOf(operator), origin: app.baseUrl }, body: start });
    expect(allowed.status, JSON.stringify(allowed.body)).toBe(202);
    expect(await runCount()).toBe(before + 1);
  });

  it('bearer writes carry no ambient authority and are not origin-checked', async () => {
    const operator = await login(app.baseUrl, 'operator@acme.test');
    const started = await call(app.baseUrl, 'POST', '/api/tenants/acme/runs', {
      token: operator,
      headers: { origin: EVIL },
      body: { type: 'demo.batch', scope: { items: 1, key: 'bearer-from-elsewhere' } },
    });
    expect(started.status, JSON.stringify(started.body)).toBe(202);
    const readAll = await call(app.baseUrl, 'POST', '/api/notifications/read-all', { token: operator, headers: { origin: EVIL } });
    expect(readAll.status).toBe(204);
  });

  it('a bearer logout is not origin-checked either', async () => {
    const operator = await login(app.baseUrl, 'operator@acme.test');
    const out = await call(app.baseUrl, 'POST', '/api/auth/logout', { token: operator, headers: { origin: EVIL } });
    expect(out.status, `bearer logout with a foreign Origin → ${out.status} ${JSON.stringify(out.body)}`).toBe(204);
    expectError(await call(app.baseUrl, 'GET', '/api/me', { token: operator }), 401, 'unauthorized', 'after bearer logout');
  });

  it('tokens are stored only as their sha-256', async () => {
    const session = await login(app.baseUrl, 'owner@acme.test');
    const kiosk = await call(app.baseUrl, 'POST', '/api/tenants/acme/kiosk-tokens', { token: session, body: { label: 'hash check' } });
    expect(kiosk.status).toBe(201);
    const em = env.services.orm.em.fork();
    const hashes = (await em.execute<{ token_hash: string }[]>('select token_hash from auth_tokens')).map((r) => r.token_hash);
    const everything = JSON.stringify(await em.execute('select * from auth_tokens'));
    for (const raw of [session, kiosk.body.token as string]) {
      expect(hashes).not.toContain(raw);
      expect(everything).not.toContain(raw);
      expect(hashes).toContain(createHash('sha256').update(raw).digest('hex'));
    }
    expect(hashes.every((h) => /^[0-9a-f]{64}$/.test(h))).toBe(true);
  });

  it('/healthz, /readyz and /metrics answer anyone', async () => {
    const health = await call(app.baseUrl, 'GET', '/healthz');
    expect(health.status).toBe(200);
    const ready = await call(app.baseUrl, 'GET', '/readyz');
    expect(ready.status).toBe(200);
    expect(ready.body.checks).toEqual({ postgres: 'ok', redis: 'ok', queue: 'ok' });
    const metrics = await call<string>(app.baseUrl, 'GET', '/metrics');
    expect(metrics.status).toBe(200);
    expect(metrics.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(metrics.body).toContain('# TYPE runboard_http_request_duration_seconds histogram');
    expect(metrics.body).toMatch(/^runboard_http_request_duration_seconds_count\{.*method="POST".*\} [1-9]/m);
  });
});
