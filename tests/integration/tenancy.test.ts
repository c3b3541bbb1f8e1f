import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Role } from '../../db/access/roles.ts';
import { tenantRoutes } from '../../server/http/routes/tenants.ts';
import { call, login, startApp, type ApiResponse, type RunningApp } from '../helpers/app.ts';
import { expectError } from '../helpers/instances.ts';
import { createTestEnv, seedTenant, type TestEnv } from '../helpers/stack.ts';

// CONTRACT §2–3: who may call which tenant route. No worker: starts are enqueue-only, so access checks
// need none (started runs simply stay queued).

/** Ids that live inside one tenant, so a route is addressed at something that really exists there. */
type Target = { runId: string; kioskId: string };

type TenantRoute = {
  method: 'GET' | 'POST' | 'DELETE';
  /** The Express path inside tenantRoutes(), checked against the router so no route escapes the matrix. */
  pattern: string;
  path: (target: Target) => string;
  body?: unknown;
  /** A kiosk token may call this on its own tenant (CONTRACT §2: read runs only). */
  kiosk: boolean;
};

const START = { type: 'demo.batch', scope: { items: 1, itemMs: 0, key: 'matrix' } };

const ROUTES: TenantRoute[] = [
  { method: 'GET', pattern: '/operation-types', path: () => '/operation-types', kiosk: false },
  { method: 'POST', pattern: '/runs', path: () => '/runs', body: START, kiosk: false },
  { method: 'GET', pattern: '/runs', path: () => '/runs', kiosk: true },
  { method: 'GET', pattern: '/runs/:id', path: (t) => `/runs/${t.runId}`, kiosk: true },
  { method: 'GET', pattern: '/stats', path: () => '/stats', kiosk: true },
  { method: 'POST', pattern: '/kiosk-tokens', path: () => '/kiosk-tokens', body: { label: 'matrix wall' }, kiosk: false },
  { method: 'DELETE', pattern: '/kiosk-tokens/:id', path: (t) => `/kiosk-tokens/${t.kioskId}`, kiosk: false },
];

const describeRoute = (r: TenantRoute) => `${r.method} ${r.pattern}`;

/**
 * Tenant routes whose callers are integration tokens (CONTRACT §9); their access matrix — anonymous,
 * other tenant, users, kiosks, revoked tokens — is in mirrored-runs.test.ts. Listed here so that every
 * served route is accounted for.
 */
const MIRRORED_ROUTES = ['POST /runs/:id/events', 'POST /integration-tokens', 'DELETE /integration-tokens/:id'];

describe('tenancy and access matrix', () => {
  let env: TestEnv;
  let app: RunningApp;
  const tokens = {} as Record<`${'acme' | 'globex'}:${Role}`, string>;
  const targets = {} as Record<'acme' | 'globex', Target>;
  const kiosks = {} as Record<'acme' | 'globex', { id: string; token: string }>;

  const url = (tenant: string, route: TenantRoute, target: Target) => `/api/tenants/${tenant}${route.path(target)}`;
  const hit = (tenant: string, route: TenantRoute, target: Target, options: { token?: string; headers?: Record<string, string> } = {}) =>
    call(app.baseUrl, route.method, url(tenant, route, target), {
      ...options,
      ...(route.body !== undefined ? { body: route.body } : {}),
    });

  /** What the routes could change: runs and tenant tokens (created or revoked). */
  const footprint = async () => {
    const [row] = await env.services.orm.em.fork().execute<{ runs: string; tokens: string; revoked: string }[]>(
      `select (select count(*) from operation_runs) as runs,
              (select count(*) from auth_tokens where kind <> 'user') as tokens,
              (select count(*) from auth_tokens where revoked_at is not null) as revoked`,
    );
    return row;
  };

  const newKiosk = async (tenant: 'acme' | 'globex', label = 'wall') => {
    const created = await call(app.baseUrl, 'POST', `/api/tenants/${tenant}/kiosk-tokens`, {
      token: tokens[`${tenant}:manager`],
      body: { label },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    return created.body as { id: string; token: string };
  };

  const kioskWorks = async (tenant: 'acme' | 'globex', token: string) =>
    (await call(app.baseUrl, 'GET', `/api/tenants/${tenant}/runs`, { token })).status;

  beforeAll(async () => {
    env = await createTestEnv();
    await seedTenant(env.services, 'acme');
    await seedTenant(env.services, 'globex');
    app = await startApp(env);
    for (const tenant of ['acme', 'globex'] as const) {
      for (const role of ['owner', 'manager', 'operator', 'readonly'] as const) {
        tokens[`${tenant}:${role}`] = await login(app.baseUrl, `${role}@${tenant}.test`);
      }
      const started = await call(app.baseUrl, 'POST', `/api/tenants/${tenant}/runs`, {
        token: tokens[`${tenant}:operator`],
        body: { type: 'demo.batch', scope: { items: 3, key: `seed-${tenant}` } },
      });
      expect(started.status, JSON.stringify(started.body)).toBe(202);
      kiosks[tenant] = await newKiosk(tenant, `${tenant} NOC`);
      targets[tenant] = { runId: started.body.run.id, kioskId: kiosks[tenant].id };
    }
  });

  afterAll(async () => {
    await app?.close();
    await env?.cleanup();
  });

  it('the matrix lists every tenant route the API serves', () => {
    // Built the way the app builds it (loosely typed, so new constructor arguments do not break this file).
    type Layer = { route?: { path: string; methods: Record<string, boolean> }; handle?: { stack?: Layer[] } };
    const build = tenantRoutes as unknown as (...args: unknown[]) => { stack: Layer[] };
    // Nested routers (router.use(otherRouter)) are walked too, so no route can hide in one.
    const routesOf = (stack: Layer[]): string[] =>
      stack.flatMap((layer) =>
        layer.route
          ? Object.keys(layer.route.methods).map((m) => `${m.toUpperCase()} ${layer.route!.path}`)
          : layer.handle?.stack
            ? routesOf(layer.handle.stack)
            : [],
      );
    const served = routesOf(build(env.services, app.metrics).stack);
    expect(served.sort()).toEqual([...ROUTES.map(describeRoute), ...MIRRORED_ROUTES].sort());
  });

  it('members get through on every route (positive control for the denials below)', async () => {
    for (const route of ROUTES) {
      const target = route.method === 'DELETE' ? { ...targets.acme, kioskId: (await newKiosk('acme')).id } : targets.acme;
      const response = await hit('acme', route, target, { token: tokens['acme:owner'] });
      expect([200, 201, 202, 204], `${describeRoute(route)} → ${response.status} ${JSON.stringify(response.body)}`).toContain(
        response.status,
      );
    }
  });

  it('anonymous callers and bad credentials get 401 on every route, existing tenant or not', async () => {
    const credentials: Record<string, string>[] = [
      {},
      { authorization: 'Bearer not-a-token' },
      { authorization: `Bearer rbu_${'A'.repeat(43)}` }, // well-formed but never issued
      { authorization: 'Basic b3duZXJAYWNtZS50ZXN0OnB3' },
      { cookie: 'rb_session=rbu_forged' },
    ];
    for (const headers of credentials) {
      for (const tenant of ['acme', 'nope']) {
        for (const route of ROUTES) {
          const response = await hit(tenant, route, targets.acme, { headers });
          expectError(response, 401, 'unauthorized', `${JSON.stringify(headers)} ${tenant} ${describeRoute(route)}`);
        }
      }
    }
  });

  it('a non-member gets 403 on every route of an existing tenant, and nothing changes', async () => {
    const before = await footprint();
    for (const route of ROUTES) {
      const response = await hit('acme', route, targets.acme, { token: tokens['globex:owner'] });
      expectError(response, 403, 'forbidden', `globex owner on acme ${describeRoute(route)}`);
    }
    expect(await footprint()).toEqual(before);
    expect(await kioskWorks('acme', kiosks.acme.token)).toBe(200);
  });

  it('an unknown tenant answers exactly like a tenant one is not a member of (no probing)', async () => {
    for (const route of ROUTES) {
      const unknown = await hit('nope', route, targets.acme, { token: tokens['acme:owner'] });
      expectError(unknown, 403, 'forbidden', `acme owner on nope ${describeRoute(route)}`);
      const foreign = await hit('acme', route, targets.acme, { token: tokens['globex:owner'] });
      expect(unknown.body, describeRoute(route)).toEqual(foreign.body);
    }
  });

  it("another tenant's run id under one's own tenant path is 404, for members and kiosks", async () => {
    const path = `/api/tenants/acme/runs/${targets.globex.runId}`;
    for (const token of [tokens['acme:owner'], tokens['acme:readonly'], kiosks.acme.token]) {
      expectError(await call(app.baseUrl, 'GET', path, { token }), 404, 'not_found', path);
    }
    // The run itself is fine where it belongs.
    const own = await call(app.baseUrl, 'GET', `/api/tenants/globex/runs/${targets.globex.runId}`, { token: tokens['globex:readonly'] });
    expect(own.status).toBe(200);
    expect(own.body.run).toMatchObject({ id: targets.globex.runId, tenant: 'globex' });
    // Nor does it appear in acme's list.
    const list = await call(app.baseUrl, 'GET', '/api/tenants/acme/runs?limit=500', { token: tokens['acme:owner'] });
    expect(list.body.runs.map((r: { id: string }) => r.id)).not.toContain(targets.globex.runId);
    expect(list.body.runs.every((r: { tenant: string }) => r.tenant === 'acme')).toBe(true);
  });

  it('a non-UUID run or token id is 404, never 400 or 500', async () => {
    const ids = ['not-a-uuid', '123', `${targets.acme.runId}x`, "1' or '1'='1", '%00', 'ffffffff-ffff-ffff-ffff-ffffffffffff'];
    for (const id of ids) {
      expectError(
        await call(app.baseUrl, 'GET', `/api/tenants/acme/runs/${encodeURIComponent(id)}`, { token: tokens['acme:operator'] }),
        404,
        'not_found',
        `run ${id}`,
      );
      expectError(
        await call(app.baseUrl, 'DELETE', `/api/tenants/acme/kiosk-tokens/${encodeURIComponent(id)}`, { token: tokens['acme:manager'] }),
        404,
        'not_found',
        `kiosk token ${id}`,
      );
    }
  });

  it.each([
    { who: 'a non-member', tenant: 'acme', as: () => tokens['globex:owner'] },
    { who: 'a member of another tenant on an unknown one', tenant: 'nope', as: () => tokens['acme:owner'] },
    { who: 'a kiosk on its own tenant', tenant: 'acme', as: () => kiosks.acme.token },
  ])('access is decided before the input is looked at: $who gets 403 whatever the body', async ({ who, tenant, as }) => {
    const before = await footprint();
    const token = as();
    const bodies = [{ type: 'nope.nope', scope: {} }, { type: 'demo.batch', scope: { items: -1 } }, {}, { bogus: true }];
    for (const body of bodies) {
      const started = await call(app.baseUrl, 'POST', `/api/tenants/${tenant}/runs`, { token, body });
      expectError(started, 403, 'forbidden', `${who}: POST runs ${JSON.stringify(body)}`);
      const kiosk = await call(app.baseUrl, 'POST', `/api/tenants/${tenant}/kiosk-tokens`, { token, body });
      expectError(kiosk, 403, 'forbidden', `${who}: POST kiosk-tokens ${JSON.stringify(body)}`);
    }
    if (!who.includes('kiosk')) {
      const listed = await call(app.baseUrl, 'GET', `/api/tenants/${tenant}/runs?limit=nope&bucket=nope`, { token });
      expectError(listed, 403, 'forbidden', `${who}: GET runs with a bad query`);
    }
    expect(await footprint()).toEqual(before);
  });

  it('readonly members can read but start nothing', async () => {
    const before = await footprint();
    const token = tokens['acme:readonly'];
    expect((await call(app.baseUrl, 'GET', '/api/tenants/acme/runs', { token })).status).toBe(200);
    const types = await call(app.baseUrl, 'GET', '/api/tenants/acme/operation-types', { token });
    expect(types.status).toBe(200);
    expect(types.body.types.every((t: { canStart: boolean }) => t.canStart === false)).toBe(true);
    for (const type of ['demo.batch', 'runs.purge']) {
      const started = await call(app.baseUrl, 'POST', '/api/tenants/acme/runs', { token, body: { type, scope: {} } });
      expectError(started, 403, 'forbidden', `readonly starts ${type}`);
    }
    expect(await footprint()).toEqual(before);
  });

  it("an operator cannot start runs.purge (minRole owner); the owner can", async () => {
    const operatorTypes = await call(app.baseUrl, 'GET', '/api/tenants/acme/operation-types', { token: tokens['acme:operator'] });
    expect(operatorTypes.body.types).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ type: 'runs.purge', minRole: 'owner', canStart: false }),
        expect.objectContaining({ type: 'demo.batch', minRole: 'operator', canStart: true }),
      ]),
    );
    const purge = { type: 'runs.purge', scope: {} };
    for (const role of ['operator', 'manager'] as const) {
      const refused = await call(app.baseUrl, 'POST', '/api/tenants/acme/runs', { token: tokens[`acme:${role}`], body: purge });
      expectError(refused, 403, 'forbidden', `${role} starts runs.purge`);
    }
    const none = await call(app.baseUrl, 'GET', '/api/tenants/acme/runs?type=runs.purge', { token: tokens['acme:owner'] });
    expect(none.body.runs).toEqual([]);

    const started = await call(app.baseUrl, 'POST', '/api/tenants/acme/runs', { token: tokens['acme:owner'], body: purge });
    expect(started.status, JSON.stringify(started.body)).toBe(202);
    expect(started.body).toMatchObject({ reused: false, run: { type: 'runs.purge', tenant: 'acme', status: 'queued' } });
    expect(started.body.url).toBe(`/t/acme/operations/${started.body.run.id}`);
  });

  it('only managers and owners create kiosk tokens', async () => {
    for (const role of ['operator', 'readonly'] as const) {
      const before = await footprint();
      const refused = await call(app.baseUrl, 'POST', '/api/tenants/acme/kiosk-tokens', { token: tokens[`acme:${role}`], body: { label: 'x' } });
      expectError(refused, 403, 'forbidden', `${role} creates a kiosk token`);
      expect(await footprint()).toEqual(before);
      const revoke = await call(app.baseUrl, 'DELETE', `/api/tenants/acme/kiosk-tokens/${kiosks.acme.id}`, { token: tokens[`acme:${role}`] });
      expectError(revoke, 403, 'forbidden', `${role} revokes a kiosk token`);
    }
    expect(await kioskWorks('acme', kiosks.acme.token)).toBe(200);
    for (const role of ['manager', 'owner'] as const) {
      const created = await call(app.baseUrl, 'POST', '/api/tenants/acme/kiosk-tokens', { token: tokens[`acme:${role}`], body: { label: `${role} wall` } });
      expect(created.status, JSON.stringify(created.body)).toBe(201);
      expect(created.body).toEqual({ id: expect.stringMatching(/^[0-9a-f-]{36}$/), token: expect.any(String) });
      expect(await kioskWorks('acme', created.body.token)).toBe(200);
    }
  });

  it("a kiosk token reads its own tenant's runs and nothing else", async () => {
    const before = await footprint();
    for (const route of ROUTES) {
      const own = await hit('acme', route, targets.acme, { token: kiosks.acme.token });
      if (route.kiosk) expect(own.status, `kiosk ${describeRoute(route)} ${JSON.stringify(own.body)}`).toBe(200);
      else expectError(own, 403, 'forbidden', `kiosk on own ${describeRoute(route)}`);
      expectError(await hit('globex', route, targets.globex, { token: kiosks.acme.token }), 403, 'forbidden', `acme kiosk on globex ${describeRoute(route)}`);
      expectError(await hit('nope', route, targets.acme, { token: kiosks.acme.token }), 403, 'forbidden', `acme kiosk on nope ${describeRoute(route)}`);
    }
    expect(await footprint()).toEqual(before);

    const detail = await call(app.baseUrl, 'GET', `/api/tenants/acme/runs/${targets.acme.runId}`, { token: kiosks.acme.token });
    expect(detail.body.run).toMatchObject({ id: targets.acme.runId, tenant: 'acme' });
    const stats = await call(app.baseUrl, 'GET', '/api/tenants/acme/stats', { token: kiosks.acme.token });
    expect(stats.body).toMatchObject({ window: '24h', buckets: expect.any(Object), types: expect.any(Array) });

    const personal: [string, string][] = [
      ['GET', '/api/notifications'],
      ['POST', '/api/notifications/read-all'],
      ['GET', '/api/me'],
    ];
    for (const [method, path] of personal) {
      expectError(await call(app.baseUrl, method, path, { token: kiosks.acme.token }), 403, 'forbidden', `kiosk ${method} ${path}`);
    }
  });

  it('a revoked kiosk token is refused everywhere at once', async () => {
    const kiosk = await newKiosk('acme', 'short-lived');
    expect(await kioskWorks('acme', kiosk.token)).toBe(200);
    const revoked = await call(app.baseUrl, 'DELETE', `/api/tenants/acme/kiosk-tokens/${kiosk.id}`, { token: tokens['acme:manager'] });
    expect(revoked.status).toBe(204);
    for (const route of ROUTES) {
      expectError(await hit('acme', route, targets.acme, { token: kiosk.token }), 401, 'unauthorized', `revoked kiosk ${describeRoute(route)}`);
    }
    expectError(await call(app.baseUrl, 'GET', '/api/me', { token: kiosk.token }), 401, 'unauthorized', 'revoked kiosk /api/me');
    // Other kiosks of the tenant are untouched.
    expect(await kioskWorks('acme', kiosks.acme.token)).toBe(200);
  });

  it('a logged-out session is refused everywhere at once', async () => {
    const token = await login(app.baseUrl, 'operator@acme.test');
    expect((await call(app.baseUrl, 'GET', '/api/tenants/acme/runs', { token })).status).toBe(200);
    expect((await call(app.baseUrl, 'POST', '/api/auth/logout', { token })).status).toBe(204);
    for (const route of ROUTES) {
      expectError(await hit('acme', route, targets.acme, { token }), 401, 'unauthorized', `logged-out ${describeRoute(route)}`);
    }
    for (const [method, path] of [['GET', '/api/me'], ['GET', '/api/notifications'], ['POST', '/api/auth/logout']] as const) {
      expectError(await call(app.baseUrl, method, path, { token }), 401, 'unauthorized', `logged-out ${method} ${path}`);
    }
    // Only that session ended: the operator's other session still works.
    expect((await call(app.baseUrl, 'GET', '/api/tenants/acme/runs', { token: tokens['acme:operator'] })).status).toBe(200);
  });

  it("a manager of one tenant cannot revoke another tenant's kiosk token", async () => {
    const before = await footprint();
    const attempts: [string, ApiResponse][] = [
      ['under acme', await call(app.baseUrl, 'DELETE', `/api/tenants/acme/kiosk-tokens/${kiosks.globex.id}`, { token: tokens['acme:manager'] })],
      ['under globex', await call(app.baseUrl, 'DELETE', `/api/tenants/globex/kiosk-tokens/${kiosks.globex.id}`, { token: tokens['acme:manager'] })],
      ['as the owner', await call(app.baseUrl, 'DELETE', `/api/tenants/acme/kiosk-tokens/${kiosks.globex.id}`, { token: tokens['acme:owner'] })],
    ];
    for (const [what, response] of attempts) {
      expect([403, 404], `${what}: ${response.status}`).toContain(response.status);
      expectError(response, response.status, response.status === 404 ? 'not_found' : 'forbidden', what);
    }
    expect(await footprint()).toEqual(before);
    expect(await kioskWorks('globex', kiosks.globex.token)).toBe(200);
    // And the other way round: the acme kiosk survives a globex manager.
    expectError(
      await call(app.baseUrl, 'DELETE', `/api/tenants/globex/kiosk-tokens/${kiosks.acme.id}`, { token: tokens['globex:manager'] }),
      404,
      'not_found',
      'globex manager revokes the acme kiosk under globex',
    );
    expect(await kioskWorks('acme', kiosks.acme.token)).toBe(200);
  });
});
