import { createHash } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Config } from '../../db/config.ts';
import { createApp } from '../../server/app.ts';
import { call, login, startApp, type RunningApp } from '../helpers/app.ts';
import { expectError, startSecondInstance } from '../helpers/instances.ts';
import { refusal } from '../helpers/live.ts';
import { metricValue } from '../helpers/processes.ts';
import { issueSession } from '../helpers/sessions.ts';
import {
  createTestEnv,
  deleteRedisKeys,
  seedTenant,
  testPasswordHash,
  TEST_PASSWORD,
  type Seeded,
  type TestEnv,
} from '../helpers/stack.ts';

// Session security (docs/api.md §3, §4, §8): login and its answer, the session cookie's attributes, logout,
// CSRF defence for cookie sessions, the live channel's Origin allowlist, the failed-login limit across two
// servers, credentials at rest, and unknown-user vs wrong-password logins, over real HTTP and sockets.

const MAX_FAILURES = 3;
const EVIL = 'https://evil.example';
/** Logins of each kind in the timing comparison (each costs one scrypt, ~0.2–1 s on a busy box). */
const TIMING_SAMPLES = 20;

type LoginBody = {
  token: string;
  user: { id: string; email: string; name: string };
  memberships: { tenant: { slug: string; name: string }; role: string }[];
};

const sessionCookie = (headers: Headers): string | undefined => headers.getSetCookie().find((c) => c.startsWith('rb_session='));
const attributesOf = (cookie: string) => cookie.split(';').slice(1).map((part) => part.trim().toLowerCase());

/**
 * The same services behind another app with some settings changed (ALLOWED_ORIGINS, COOKIE_SECURE,
 * METRICS_TOKEN): what a second deployment configured differently would serve.
 */
async function startConfigured(env: TestEnv, overrides: Partial<Config>): Promise<RunningApp> {
  const app = createApp({ ...env.services, config: { ...env.config, ...overrides } });
  await app.ready;
  await new Promise<void>((resolve) => app.httpServer.listen(0, '127.0.0.1', resolve));
  const { port } = app.httpServer.address() as AddressInfo;
  return { ...app, baseUrl: `http://127.0.0.1:${port}` };
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

// Real logins run scrypt (N=2^17): seconds each when the machine is busy, hence the generous timeouts.
describe('session security', { timeout: 120_000 }, () => {
  let env: TestEnv;
  let app: RunningApp;
  let acme: Seeded;
  let globex: Seeded;

  const post = (path: string, body: unknown, headers: Record<string, string> = {}) => call<LoginBody>(app.baseUrl, 'POST', path, { body, headers });
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
  const signedIn = (email: string) => issueSession(env, { email });
  /** Forgets failed logins (the limiter's keys), so a measurement is not cut short by the lock. */
  const clearLoginFailures = () => deleteRedisKeys(env.config.redisUrl, `${env.config.redisPrefix}:login`);

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
    const token = await signedIn('owner@acme.test');
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
    const token = await signedIn('manager@acme.test');
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
    const token = await signedIn('manager@acme.test');
    const out = await call(app.baseUrl, 'POST', '/api/auth/logout', { headers: { ...cookieOf(token), origin: app.baseUrl } });
    expect(out.status).toBe(204);
    expectError(await call(app.baseUrl, 'GET', '/api/me', { headers: cookieOf(token) }), 401, 'unauthorized', 'cookie after logout');
  });

  it('a cookie-authenticated write from a foreign origin is refused and changes nothing', async () => {
    const operator = await signedIn('operator@acme.test');
    const manager = await signedIn('manager@acme.test');
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
    const operator = await signedIn('operator@acme.test');
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
    const operator = await signedIn('operator@acme.test');
    const out = await call(app.baseUrl, 'POST', '/api/auth/logout', { token: operator, headers: { origin: EVIL } });
    expect(out.status, `bearer logout with a foreign Origin → ${out.status} ${JSON.stringify(out.body)}`).toBe(204);
    expectError(await call(app.baseUrl, 'GET', '/api/me', { token: operator }), 401, 'unauthorized', 'after bearer logout');
  });

  it('tokens are stored only as their sha-256, passwords only as salted scrypt hashes', async () => {
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

    const passwords = (await em.execute<{ password_hash: string }[]>('select password_hash from users')).map((r) => r.password_hash);
    expect(passwords.length).toBeGreaterThan(0);
    for (const stored of passwords) {
      expect(stored).toMatch(/^scrypt\$131072\$8\$1\$[A-Za-z0-9_-]{22}\$[A-Za-z0-9_-]{43}$/);
      expect(stored).not.toContain(TEST_PASSWORD);
    }
    // Salted: the same password hashes differently for a new user.
    const fresh = await env.services.tenants.createUser({ email: 'salt@acme.test', name: 'Salt', password: TEST_PASSWORD });
    const [row] = await em.execute<{ password_hash: string }[]>('select password_hash from users where id = ?', [fresh.id]);
    expect(row!.password_hash).not.toBe(await testPasswordHash());
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

  it('the session cookie is Secure behind an HTTPS proxy and with COOKIE_SECURE=true, never readable by scripts', async () => {
    // Plain HTTP (local development): HttpOnly and SameSite=Lax, but a Secure cookie would never be sent back.
    const plain = sessionCookie((await post('/api/auth/login', { email: 'operator@acme.test', password: TEST_PASSWORD })).headers)!;
    expect(attributesOf(plain)).toEqual(expect.arrayContaining(['httponly', 'samesite=lax', 'path=/']));
    expect(attributesOf(plain)).not.toContain('secure');

    // Behind a TLS-terminating proxy on the same host ('trust proxy' is loopback): X-Forwarded-Proto decides.
    const proxied = await post('/api/auth/login', { email: 'operator@acme.test', password: TEST_PASSWORD }, { 'x-forwarded-proto': 'https' });
    expect(proxied.status).toBe(200);
    expect(attributesOf(sessionCookie(proxied.headers)!)).toEqual(expect.arrayContaining(['httponly', 'samesite=lax', 'secure']));

    // COOKIE_SECURE=true forces it (a proxy that does not say X-Forwarded-Proto); =false never sets it.
    for (const [cookieSecure, secure] of [[true, true], [false, false]] as const) {
      const configured = await startConfigured(env, { cookieSecure });
      try {
        const answer = await call(configured.baseUrl, 'POST', '/api/auth/login', {
          body: { email: 'operator@acme.test', password: TEST_PASSWORD },
          headers: { 'x-forwarded-proto': 'https' },
        });
        expect(answer.status).toBe(200);
        expect(attributesOf(sessionCookie(answer.headers)!).includes('secure'), `COOKIE_SECURE=${cookieSecure}`).toBe(secure);
      } finally {
        await configured.close();
      }
    }
  });

  it('the live channel refuses a foreign Origin, with a token or riding on the session cookie (cross-site WebSocket hijacking)', async () => {
    const token = await signedIn('readonly@acme.test');
    const refusedBefore = metricValue((await call(app.baseUrl, 'GET', '/metrics')).body, 'runboard_live_refused_handshakes_total', 'reason="origin"');
    const attempts: NonNullable<Parameters<typeof refusal>[1]>[] = [
      { headers: { origin: EVIL, ...cookieOf(token) } },
      { token, headers: { origin: 'http://127.0.0.1.evil.example' } },
      { token, headers: { origin: 'null' } },
    ];
    for (const attempt of attempts) expect(await refusal(app.baseUrl, attempt), JSON.stringify(attempt.headers)).not.toBe('connected');
    const refusedAfter = metricValue((await call(app.baseUrl, 'GET', '/metrics')).body, 'runboard_live_refused_handshakes_total', 'reason="origin"');
    expect(refusedAfter - refusedBefore).toBe(3);
    // Its own origin, and clients that send no Origin (API clients, the watch CLI), are let in.
    expect(await refusal(app.baseUrl, { headers: { origin: new URL(app.baseUrl).origin, ...cookieOf(token) } })).toBe('connected');
    expect(await refusal(app.baseUrl, { token })).toBe('connected');
  });

  it('ALLOWED_ORIGINS is the whole allowlist for cookie writes and sockets', async () => {
    const dashboard = 'https://runboard.example';
    const configured = await startConfigured(env, { allowedOrigins: [dashboard] });
    try {
      const token = await signedIn('operator@acme.test');
      const start = (origin: string) =>
        call(configured.baseUrl, 'POST', '/api/tenants/acme/runs', {
          headers: { ...cookieOf(token), origin },
          body: { type: 'demo.batch', scope: { items: 1, key: `allowlist ${origin}` } },
        });
      expect((await start(dashboard)).status).toBe(202);
      for (const origin of [EVIL, new URL(configured.baseUrl).origin]) expectError(await start(origin), 403, 'forbidden', `cookie write from ${origin}`);
      expect(await refusal(configured.baseUrl, { headers: { origin: dashboard, ...cookieOf(token) } })).toBe('connected');
      expect(await refusal(configured.baseUrl, { headers: { origin: EVIL, ...cookieOf(token) } })).not.toBe('connected');
    } finally {
      await configured.close();
    }
  });

  it('METRICS_TOKEN restricts /metrics to its bearer', async () => {
    const secret = 'metrics-token-0123456789';
    const configured = await startConfigured(env, { metricsToken: secret });
    try {
      expectError(await call(configured.baseUrl, 'GET', '/metrics'), 401, 'unauthorized', 'no token');
      expectError(await call(configured.baseUrl, 'GET', '/metrics', { token: `${secret}x` }), 401, 'unauthorized', 'wrong token');
      const session = await signedIn('owner@acme.test');
      expectError(await call(configured.baseUrl, 'GET', '/metrics', { token: session }), 401, 'unauthorized', 'a session is not the metrics token');
      expect((await call(configured.baseUrl, 'GET', '/metrics', { token: secret })).status).toBe(200);
      // Liveness and readiness stay open for load balancers.
      expect((await call(configured.baseUrl, 'GET', '/healthz')).status).toBe(200);
    } finally {
      await configured.close();
    }
  });

  it('an unknown user and a wrong password take the same time (medians within 0.5–2×)', async () => {
    // The structural proof is the code path: AuthService.login verifies against DUMMY_HASH when the user does
    // not exist, so both kinds run one scrypt with the same parameters. This measures what a caller sees.
    const unknown: number[] = [];
    const wrong: number[] = [];
    const timed = async (email: string, into: number[]) => {
      const started = performance.now();
      const answer = await post('/api/auth/login', { email, password: 'not the password' });
      into.push(performance.now() - started);
      expectError(answer, 401, 'unauthorized', email);
    };
    for (let i = 0; i < TIMING_SAMPLES; i++) {
      await clearLoginFailures();
      // Interleaved, order alternating, so drift in the machine's load hits both kinds alike.
      const pair: [string, number[]][] = [[`nobody-${i}@acme.test`, unknown], ['readonly@globex.test', wrong]];
      for (const [email, into] of i % 2 ? pair.reverse() : pair) await timed(email, into);
    }
    await clearLoginFailures();
    const ratio = median(unknown) / median(wrong);
    console.log(
      `[session] login timing over ${TIMING_SAMPLES} each: unknown user median ${median(unknown).toFixed(1)} ms, ` +
        `wrong password median ${median(wrong).toFixed(1)} ms, ratio ${ratio.toFixed(2)}`,
    );
    expect(ratio).toBeGreaterThan(0.5);
    expect(ratio).toBeLessThan(2);
  }, 400_000);
});
