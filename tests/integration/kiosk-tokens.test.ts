// Kiosk tokens bound to several tenants (docs/api.md §12): who may create one (owner or manager in every tenant
// listed), what it reads and subscribes to (exactly those tenants), who may revoke it (an owner or manager of any
// of them), and that revocation disconnects its sockets on every gateway within 5 s. No worker: runs stay queued.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Role } from '../../db/access/roles.ts';
import { newToken } from '../../db/auth/tokens.ts';
import { createLogger } from '../../db/logger.ts';
import { createOrm } from '../../db/orm.ts';
import { createServices } from '../../db/services.ts';
import { call, startApp, type RunningApp } from '../helpers/app.ts';
import { createTestDatabase } from '../helpers/database.ts';
import { expectError } from '../helpers/instances.ts';
import { RecordingClient, refusal } from '../helpers/live.ts';
import { spawnGateway, stopAll, type GatewayProcess } from '../helpers/processes.ts';
import { issueSession } from '../helpers/sessions.ts';
import { createTestEnv, seedTenant, testPasswordHash, type Seeded, type TestEnv } from '../helpers/stack.ts';

const BOUND = ['acme', 'globex'] as const;
const READS = ['/runs', '/stats', '/failure-reasons', '/baselines', '/inventory', '/backup-sets', '/restores', '/drift/status'];

describe('kiosk tokens for several tenants', () => {
  let env: TestEnv;
  let app: RunningApp;
  const seeded = {} as Record<'acme' | 'globex' | 'initech', Seeded>;
  /** Sessions: seeded users by `<tenant>.<role>`, and people with memberships in several tenants. */
  const s: Record<string, string> = {};
  const session = (who: string): string => s[who] ?? expect.unreachable(`no session ${who}`);
  const runs = {} as Record<'acme' | 'globex' | 'initech', string>;

  const kioskCount = async () =>
    Number((await env.services.orm.em.fork().execute<{ n: string }[]>(`select count(*) as n from auth_tokens where kind = 'kiosk'`))[0]?.n);
  const create = (token: string | undefined, body: unknown) => call(app.baseUrl, 'POST', '/api/kiosk-tokens', { ...(token ? { token } : {}), body });
  const revoke = (token: string, id: string) => call(app.baseUrl, 'DELETE', `/api/kiosk-tokens/${id}`, { token });
  const list = async (token: string) => {
    const answer = await call(app.baseUrl, 'GET', '/api/kiosk-tokens', { token });
    expect(answer.status).toBe(200);
    return answer.body.tokens as { id: string; label: string; tenants: { slug: string }[]; otherTenants: number }[];
  };
  /** A multi-tenant kiosk token made by `both` (manager of acme, owner of globex). */
  const multi = async (label = 'NOC wall', tenants: string[] = [...BOUND]) => {
    const created = await create(session('both'), { label, tenants });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    return created.body as { id: string; token: string };
  };

  beforeAll(async () => {
    env = await createTestEnv();
    for (const slug of ['acme', 'globex', 'initech'] as const) seeded[slug] = await seedTenant(env.services, slug);
    app = await startApp(env);
    for (const [slug, tenant] of Object.entries(seeded)) {
      for (const role of ['owner', 'manager', 'operator', 'readonly'] as const) s[`${slug}.${role}`] = await issueSession(env, tenant.users[role]);
    }
    // People in several tenants: the roles each holds, by tenant.
    const people: Record<string, Partial<Record<'acme' | 'globex', Role>>> = {
      both: { acme: 'manager', globex: 'owner' },
      mixed: { acme: 'manager', globex: 'operator' },
      solo: { acme: 'manager' },
    };
    const passwordHash = await testPasswordHash();
    for (const [name, roles] of Object.entries(people)) {
      const user = await env.services.tenants.createUser({ email: `${name}@multi.test`, name, passwordHash });
      for (const [tenant, role] of Object.entries(roles)) await env.services.tenants.addMember(tenant, user.email, role);
      s[name] = await issueSession(env, user);
    }
    for (const slug of ['acme', 'globex', 'initech'] as const) {
      const started = await call(app.baseUrl, 'POST', `/api/tenants/${slug}/runs`, { token: session(`${slug}.operator`), body: { type: 'demo.batch', scope: { items: 1, key: slug } } });
      expect(started.status).toBe(202);
      runs[slug] = started.body.run.id;
    }
  });

  afterAll(async () => {
    await app?.close();
    await env?.cleanup();
  });

  describe('creation', () => {
    it('an owner or manager of every tenant listed creates it; its token is shown once and reads both', async () => {
      const { id, token } = await multi();
      expect(id).toMatch(/^[0-9a-f-]{36}$/);
      expect(token).toMatch(/^rbk_[A-Za-z0-9_-]{43}$/);
      for (const tenant of BOUND) expect((await call(app.baseUrl, 'GET', `/api/tenants/${tenant}/runs`, { token })).status).toBe(200);
      // Listed by its creator with both tenants; never with the token itself.
      const listed = (await list(session('both'))).find((t) => t.id === id);
      expect(listed).toMatchObject({ label: 'NOC wall', tenants: [{ slug: 'acme', name: 'acme Corp' }, { slug: 'globex', name: 'globex Corp' }], otherTenants: 0 });
      expect(JSON.stringify(await list(session('both')))).not.toContain(token);
    });

    it('a tenant named twice counts once', async () => {
      const { id } = await multi('twice', ['acme', 'globex', 'acme']);
      const listed = (await list(session('both'))).find((t) => t.id === id);
      expect(listed?.tenants.map((t) => t.slug)).toEqual(['acme', 'globex']);
    });

    it.each([
      { who: 'manager of acme, operator of globex', as: 'mixed', tenants: ['acme', 'globex'] },
      { who: 'manager of acme, no member of globex', as: 'solo', tenants: ['acme', 'globex'] },
      { who: 'a tenant that does not exist', as: 'both', tenants: ['acme', 'nope'] },
      { who: 'a tenant neither is a member of', as: 'both', tenants: ['acme', 'initech'] },
      { who: 'an operator (manages nothing) with a valid body', as: 'acme.operator', tenants: ['acme'] },
      { who: 'a readonly member', as: 'acme.readonly', tenants: ['acme'] },
      { who: "another tenant's owner", as: 'initech.owner', tenants: ['acme'] },
    ])('403 for $who, and nothing is created', async ({ as, tenants }) => {
      const before = await kioskCount();
      expectError(await create(session(as), { label: 'refused', tenants }), 403, 'forbidden', `${as} ${tenants.join(',')}`);
      expect(await kioskCount()).toBe(before);
    });

    it('a non-member, an unknown and a foreign tenant get the same answer (tenants cannot be probed)', async () => {
      const answers = await Promise.all([['acme', 'nope'], ['acme', 'initech']].map((tenants) => create(session('solo'), { label: 'probe', tenants })));
      expect(answers.map((a) => [a.status, a.body])).toEqual([
        [403, { error: { code: 'forbidden', message: 'You do not have access to this.' } }],
        [403, { error: { code: 'forbidden', message: 'You do not have access to this.' } }],
      ]);
    });

    it.each([
      { what: 'no tenants', body: { label: 'wall', tenants: [] } },
      { what: 'no tenants key', body: { label: 'wall' } },
      { what: 'no label', body: { tenants: ['acme'] } },
      { what: 'an empty label', body: { label: '   ', tenants: ['acme'] } },
      { what: 'a label over 200 characters', body: { label: 'x'.repeat(201), tenants: ['acme'] } },
      { what: 'tenants as a string', body: { label: 'wall', tenants: 'acme,globex' } },
      { what: 'a slug that is not one', body: { label: 'wall', tenants: ['Acme Corp'] } },
      { what: 'more than 50 tenants', body: { label: 'wall', tenants: Array.from({ length: 51 }, (_, i) => `t${i}`) } },
      { what: 'an unknown key', body: { label: 'wall', tenants: ['acme'], expiresAt: '2030-01-01' } },
      { what: 'not an object', body: ['acme'] },
    ])('400 for $what', async ({ body }) => {
      const before = await kioskCount();
      expectError(await create(session('both'), body), 400, 'validation_failed');
      expect(await kioskCount()).toBe(before);
    });

    it('kiosk and integration tokens get 403, no token 401', async () => {
      const { token: kiosk } = await multi();
      const integration = (await env.services.auth.createTenantToken('integration', seeded.acme.tenant.id, 'service', null)).token;
      for (const token of [kiosk, integration]) {
        expectError(await create(token, { label: 'x', tenants: ['acme'] }), 403, 'forbidden');
        expectError(await call(app.baseUrl, 'GET', '/api/kiosk-tokens', { token }), 403, 'forbidden');
      }
      expectError(await create(undefined, { label: 'x', tenants: ['acme'] }), 401, 'unauthorized');
    });
  });

  describe('reading', () => {
    it('reads runs, stats, failure reasons and the other read routes of each bound tenant; 403 on any other', async () => {
      const { token } = await multi();
      for (const tenant of BOUND) {
        for (const path of READS) expect((await call(app.baseUrl, 'GET', `/api/tenants/${tenant}${path}`, { token })).status, `${tenant}${path}`).toBe(200);
        const detail = await call(app.baseUrl, 'GET', `/api/tenants/${tenant}/runs/${runs[tenant]}`, { token });
        expect(detail.body.run.tenant).toBe(tenant);
        const listed = await call(app.baseUrl, 'GET', `/api/tenants/${tenant}/runs?limit=500`, { token });
        expect(listed.body.runs.map((r: { id: string }) => r.id)).toContain(runs[tenant]);
        expect(listed.body.runs.every((r: { tenant: string }) => r.tenant === tenant)).toBe(true);
      }
      for (const tenant of ['initech', 'nope']) {
        for (const path of READS) expectError(await call(app.baseUrl, 'GET', `/api/tenants/${tenant}${path}`, { token }), 403, 'forbidden', `${tenant}${path}`);
      }
      // Another bound tenant's run under a bound tenant's path is not there; a foreign tenant's run is 404 too.
      expectError(await call(app.baseUrl, 'GET', `/api/tenants/acme/runs/${runs.globex}`, { token }), 404, 'not_found');
      expectError(await call(app.baseUrl, 'GET', `/api/tenants/acme/runs/${runs.initech}`, { token }), 404, 'not_found');
    });

    it('member-only, integration-only and user-only routes are 403 on its own tenants', async () => {
      const { token } = await multi();
      for (const tenant of BOUND) {
        for (const path of ['/operation-types', '/policy-source', '/webhooks']) {
          expectError(await call(app.baseUrl, 'GET', `/api/tenants/${tenant}${path}`, { token }), 403, 'forbidden', `GET ${tenant}${path}`);
        }
        const writes: [string, unknown][] = [
          ['/runs', { type: 'demo.batch', scope: {} }],
          [`/runs/${runs[tenant]}/events`, { kind: 'started' }],
          ['/kiosk-tokens', { label: 'x' }],
          ['/integration-tokens', { label: 'x' }],
          ['/backup-sets', { name: 'x' }],
        ];
        for (const [path, body] of writes) expectError(await call(app.baseUrl, 'POST', `/api/tenants/${tenant}${path}`, { token, body }), 403, 'forbidden', `POST ${tenant}${path}`);
      }
      for (const path of ['/api/me', '/api/notifications']) expectError(await call(app.baseUrl, 'GET', path, { token }), 403, 'forbidden', path);
    });
  });

  describe('revocation', () => {
    it('a manager of either tenant revokes it; then it is 401 everywhere and its handshake is refused', async () => {
      for (const by of ['acme.manager', 'globex.manager', 'globex.owner']) {
        const { id, token } = await multi(`revoked by ${by}`);
        expect(await refusal(app.baseUrl, { token })).toBe('connected');
        expect((await revoke(session(by), id)).status, by).toBe(204);
        for (const tenant of BOUND) expectError(await call(app.baseUrl, 'GET', `/api/tenants/${tenant}/runs`, { token }), 401, 'unauthorized', `${by}: ${tenant}`);
        expect(await refusal(app.baseUrl, { token })).toBe('unauthorized');
        // Idempotent, like the tenant's own route; gone from the list.
        expect((await revoke(session(by), id)).status).toBe(204);
        expect((await list(session('both'))).map((t) => t.id)).not.toContain(id);
      }
    });

    it('404 for whoever cannot manage it: an operator of its tenants, another tenant, a made-up or malformed id', async () => {
      const { id, token } = await multi();
      for (const by of ['acme.operator', 'globex.readonly', 'initech.owner', 'initech.manager']) expectError(await revoke(session(by), id), 404, 'not_found', by);
      for (const bad of ['ffffffff-ffff-ffff-ffff-ffffffffffff', 'not-a-uuid', `${id}x`]) expectError(await revoke(session('both'), encodeURIComponent(bad)), 404, 'not_found', bad);
      expectError(await call(app.baseUrl, 'DELETE', `/api/kiosk-tokens/${id}`, { token }), 403, 'forbidden', 'the kiosk itself');
      // Still working.
      expect((await call(app.baseUrl, 'GET', '/api/tenants/acme/runs', { token })).status).toBe(200);
    });

    it("the tenant's own DELETE revokes a token bound to it and others; another tenant's path does not find it", async () => {
      const { id, token } = await multi();
      expectError(await call(app.baseUrl, 'DELETE', `/api/tenants/initech/kiosk-tokens/${id}`, { token: session('initech.manager') }), 404, 'not_found');
      expect((await call(app.baseUrl, 'DELETE', `/api/tenants/globex/kiosk-tokens/${id}`, { token: session('globex.manager') })).status).toBe(204);
      expectError(await call(app.baseUrl, 'GET', '/api/tenants/acme/runs', { token }), 401, 'unauthorized');
      expect((await call(app.baseUrl, 'DELETE', `/api/tenants/acme/kiosk-tokens/${id}`, { token: session('acme.manager') })).status).toBe(204);
    });

    it("a tenant's own kiosk token is a token bound to one tenant: listed, and revoked through /api/kiosk-tokens too", async () => {
      const created = await call(app.baseUrl, 'POST', '/api/tenants/acme/kiosk-tokens', { token: session('acme.manager'), body: { label: 'acme only' } });
      expect(created.status).toBe(201);
      const { id, token } = created.body as { id: string; token: string };
      expect((await list(session('acme.manager'))).find((t) => t.id === id)).toMatchObject({ tenants: [{ slug: 'acme' }], otherTenants: 0 });
      expectError(await call(app.baseUrl, 'GET', '/api/tenants/globex/runs', { token }), 403, 'forbidden');
      expectError(await revoke(session('globex.manager'), id), 404, 'not_found');
      expect((await revoke(session('acme.manager'), id)).status).toBe(204);
      expectError(await call(app.baseUrl, 'GET', '/api/tenants/acme/runs', { token }), 401, 'unauthorized');
    });
  });

  it("the list: each manager sees the tokens of their tenants, naming only tenants they belong to; others see none", async () => {
    const { id } = await multi('listed');
    expect((await list(session('solo'))).find((t) => t.id === id)).toMatchObject({ tenants: [{ slug: 'acme' }], otherTenants: 1 });
    expect((await list(session('globex.manager'))).find((t) => t.id === id)).toMatchObject({ tenants: [{ slug: 'globex' }], otherTenants: 1 });
    expect((await list(session('mixed'))).find((t) => t.id === id)).toMatchObject({ tenants: [{ slug: 'acme' }, { slug: 'globex' }], otherTenants: 0 });
    for (const by of ['acme.operator', 'acme.readonly', 'initech.owner']) expect((await list(session(by))).map((t) => t.id), by).not.toContain(id);
  });

  it('deleting a tenant takes it off its tokens; a token left with no tenant authenticates no more', async () => {
    for (const slug of ['hooli', 'pied-piper']) await env.services.tenants.createTenant(slug, slug);
    const ids = async (...slugs: string[]) => Promise.all(slugs.map(async (slug) => (await env.services.tenants.findTenant(slug))!.id));
    const lonely = await env.services.auth.createKioskToken(await ids('hooli'), 'hooli wall', null);
    const shared = await env.services.auth.createKioskToken(await ids('acme', 'pied-piper'), 'shared wall', null);
    expect((await call(app.baseUrl, 'GET', '/api/tenants/hooli/runs', { token: lonely.token })).status).toBe(200);
    expect((await call(app.baseUrl, 'GET', '/api/tenants/pied-piper/runs', { token: shared.token })).status).toBe(200);
    await env.services.orm.em.fork().execute(`delete from tenants where slug in ('hooli', 'pied-piper')`);
    expectError(await call(app.baseUrl, 'GET', '/api/tenants/hooli/runs', { token: lonely.token }), 401, 'unauthorized');
    expect(await refusal(app.baseUrl, { token: lonely.token })).toBe('unauthorized');
    expect((await call(app.baseUrl, 'GET', '/api/tenants/acme/runs', { token: shared.token })).status).toBe(200);
    expectError(await call(app.baseUrl, 'GET', '/api/tenants/pied-piper/runs', { token: shared.token }), 403, 'forbidden');
  });

  it("the migration moves each existing kiosk token's tenant to its list; it reads exactly what it read before", async () => {
    const database = await createTestDatabase();
    const orm = await createOrm({ databaseUrl: database.url, poolMax: 2 });
    try {
      await orm.migrator.up({ to: 'Migration20261204000000Webhooks' });
      const em = orm.em.fork();
      const [tenant] = await em.execute<{ id: string }[]>(`insert into tenants (slug, name) values ('acme', 'Acme') returning id`);
      await em.execute(`insert into tenants (slug, name) values ('globex', 'Globex')`);
      const kiosk = newToken('kiosk');
      const integration = newToken('integration');
      for (const [kind, token] of [['kiosk', kiosk], ['integration', integration]] as const) {
        await em.execute(`insert into auth_tokens (token_hash, kind, tenant_id, label) values (?, ?, ?, 'before')`, [token.hash, kind, tenant!.id]);
      }
      await orm.migrator.up();
      expect(await em.execute(`select a.kind, a.tenant_id, k.tenant_id as bound from auth_tokens a left join kiosk_token_tenants k on k.token_id = a.id order by a.kind`)).toEqual([
        { kind: 'integration', tenant_id: tenant!.id, bound: null },
        { kind: 'kiosk', tenant_id: null, bound: tenant!.id },
      ]);
      const services = await createServices(env.config, orm, createLogger('silent'), { isWorker: false });
      try {
        expect(await services.auth.authenticate(kiosk.token)).toMatchObject({ kind: 'kiosk', tenants: [{ id: tenant!.id, slug: 'acme', name: 'Acme' }] });
        expect(await services.auth.authenticate(integration.token)).toMatchObject({ kind: 'integration', tenant: { slug: 'acme' } });
      } finally {
        await services.close();
      }
    } finally {
      await orm.close();
      await database.drop();
    }
  });

  it('its socket subscribes to each bound tenant and no other, and receives changes of those only', async () => {
    const { token } = await multi();
    const client = await RecordingClient.connect(app.baseUrl, { token });
    try {
      for (const tenant of BOUND) expect(await client.subscribe({ tenant }), tenant).toEqual({ ok: true });
      for (const tenant of ['initech', 'nope']) expect(await client.subscribe({ tenant }), tenant).toEqual({ ok: false, error: 'forbidden' });
      for (const slug of ['acme', 'globex', 'initech'] as const) {
        const run = await env.services.runs.get(seeded[slug].tenant.id, runs[slug]);
        await env.services.changefeed.runChanged('progress', run!);
      }
      // Published after the run changes on the same connection, so it arrives after them.
      await env.services.changefeed.control({ type: 'resync' });
      await client.until(() => client.of('resync').length > 0, 10_000, 'resync');
      expect(client.of('run:update').map((u) => [u.tenant, u.run.id])).toEqual([
        ['acme', runs.acme],
        ['globex', runs.globex],
      ]);
    } finally {
      client.close();
    }
  });

  it('revoked through gateway A, its socket on gateway B is disconnected within 5 s', async () => {
    let gateways: GatewayProcess[] = [];
    let wall: RecordingClient | undefined;
    try {
      const spawned = await Promise.allSettled([spawnGateway(env), spawnGateway(env)]);
      gateways = spawned.flatMap((p) => (p.status === 'fulfilled' ? [p.value] : []));
      const failed = spawned.find((p) => p.status === 'rejected');
      if (failed) throw failed.reason;
      const [a, b] = gateways as [GatewayProcess, GatewayProcess];
      const created = await call(a.baseUrl, 'POST', '/api/kiosk-tokens', { token: session('both'), body: { label: 'NOC wall on B', tenants: [...BOUND] } });
      expect(created.status).toBe(201);
      wall = await RecordingClient.connect(b.baseUrl, { token: created.body.token });
      for (const tenant of BOUND) expect(await wall.subscribe({ tenant })).toEqual({ ok: true });

      const t0 = Date.now();
      const gone = wall.disconnected(5_000);
      expect((await call(a.baseUrl, 'DELETE', `/api/kiosk-tokens/${created.body.id}`, { token: session('globex.manager') })).status).toBe(204);
      expect(await gone).toBe('io server disconnect');
      const ms = Date.now() - t0;
      console.log(`[kiosk-tokens] multi-tenant kiosk on gateway B disconnected ${ms} ms after its revocation through gateway A`);
      expect(ms).toBeLessThanOrEqual(5_000);
      expect(await refusal(b.baseUrl, { token: created.body.token })).toBe('unauthorized');
    } finally {
      wall?.close();
      await stopAll(gateways);
    }
  }, 120_000);
});
