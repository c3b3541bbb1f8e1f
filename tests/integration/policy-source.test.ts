import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { SIMULATED_LIMITS } from '../../db/sources/schema.ts';
import { simulatedExternalId } from '../../db/sources/simulated.ts';
import { SourceError, type ListedItem, type PolicySourceClient } from '../../db/sources/source.ts';
import type { PolicySourceAnswer } from '../../server/http/contract.ts';
import { call, startApp, type ApiResponse, type RunningApp } from '../helpers/app.ts';
import { expectError } from '../helpers/instances.ts';
import { issueSession } from '../helpers/sessions.ts';
import { createTestEnv, seedTenant, type Seeded, type TestEnv } from '../helpers/stack.ts';

// docs/api.md §10, policy sources: who may read and set them, what a PUT accepts, that the credential is
// stored encrypted and never shown, and that workers open what owners set. Private targets are allowed here
// (the Graph-like server is on 127.0.0.1); policy-source-private.test.ts covers the rule itself.

const TOKEN = 'graph-bearer-SECRET-0d9f3c';
const CLIENT_SECRET = 'oauth-client-SECRET-5e1a';
const CONFIGS = 'deviceManagement/deviceConfigurations';

describe('policy sources: API, service and storage', () => {
  let env: TestEnv;
  let app: RunningApp;
  let acme: Seeded;
  let globex: Seeded;
  const tokens: Record<string, string> = {};
  let graph: Server;
  let graphOrigin = '';
  let graphRequests: IncomingMessage[] = [];
  const answers: string[] = [];

  const path = (tenant = 'acme') => `/api/tenants/${tenant}/policy-source`;
  const request = async (method: string, as: string, body?: unknown, tenant = 'acme'): Promise<ApiResponse<PolicySourceAnswer>> => {
    const response = await call<PolicySourceAnswer>(app.baseUrl, method, path(tenant), { token: tokens[as]!, ...(body !== undefined ? { body } : {}) });
    answers.push(JSON.stringify(response.body));
    return response;
  };
  const put = (body: unknown, as = 'owner', tenant = 'acme') => request('PUT', as, body, tenant);
  const get = (as = 'owner', tenant = 'acme') => request('GET', as, undefined, tenant);
  const row = async (tenantId: string) =>
    (await env.services.orm.em.fork().execute<{ credential_ciphertext: string | null; updated_by_id: string | null; base_url: string | null }[]>(
      'select credential_ciphertext, updated_by_id, base_url from policy_sources where tenant_id = ?',
      [tenantId],
    ))[0];
  const graphBody = (extra: Record<string, unknown> = {}) => ({ kind: 'graph', baseUrl: `${graphOrigin}/beta`, collections: [CONFIGS], ...extra });

  async function listAll(source: PolicySourceClient): Promise<ListedItem[]> {
    const items: ListedItem[] = [];
    for await (const page of source.list()) items.push(...page);
    return items;
  }

  beforeAll(async () => {
    env = await createTestEnv({ SOURCE_CREDENTIALS_KEY: randomBytes(32).toString('base64'), ALLOW_PRIVATE_TARGETS: 'true', SOURCE_TIMEOUT_MS: '2000' });
    acme = await seedTenant(env.services, 'acme');
    globex = await seedTenant(env.services, 'globex');
    app = await startApp(env);
    for (const role of ['owner', 'manager', 'operator', 'readonly'] as const) tokens[role] = await issueSession(env, acme.users[role]);
    tokens.globexOwner = await issueSession(env, globex.users.owner);
    tokens.kiosk = (await env.services.auth.createTenantToken('kiosk', acme.tenant.id, 'wall', null)).token;
    tokens.integration = (await env.services.auth.createTenantToken('integration', acme.tenant.id, 'svc', null)).token;

    // A Graph-like API: one page of two policies for the right bearer token; OAuth tokens at /token.
    graph = createServer((req, res) => {
      graphRequests.push(req);
      req.resume();
      req.on('end', () => {
        res.setHeader('content-type', 'application/json');
        if (req.url === '/token') return res.end(JSON.stringify({ access_token: 'issued-token-abc', expires_in: 3600 }));
        const ok = req.headers.authorization === `Bearer ${TOKEN}` || req.headers.authorization === 'Bearer issued-token-abc';
        if (!ok) {
          res.statusCode = 401;
          return res.end(JSON.stringify({ error: { code: 'InvalidAuthenticationToken' } }));
        }
        const item = (n: number) => ({ id: `p${n}`, displayName: `Policy ${n}`, '@odata.type': '#microsoft.graph.macOSCompliancePolicy', firewallEnabled: true });
        res.end(JSON.stringify({ value: [item(1), item(2)] }));
      });
    });
    await new Promise<void>((resolve) => graph.listen(0, '127.0.0.1', resolve));
    graphOrigin = `http://127.0.0.1:${(graph.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    graph?.closeAllConnections();
    await new Promise((resolve) => graph?.close(resolve));
    await app?.close();
    await env?.cleanup();
    // No answer of this file ever carried a credential or its ciphertext.
    const all = answers.join('\n');
    for (const secret of [TOKEN, CLIENT_SECRET]) expect(all).not.toContain(secret);
    expect(all).not.toMatch(/v1\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]{22}\./); // a ciphertext
  });

  beforeEach(() => {
    graphRequests = [];
  });

  it('before an owner sets one, members read `source: null`', async () => {
    for (const role of ['owner', 'readonly']) {
      const answer = await get(role);
      expect(answer.status).toBe(200);
      expect(answer.body).toEqual({ source: null });
    }
  });

  it('members read it, owners set it; operators, managers, kiosks, integrations and other tenants are refused', async () => {
    const valid = { kind: 'simulated', simulated: { policies: 12 } };
    for (const as of ['operator', 'manager', 'readonly', 'kiosk', 'integration']) expectError(await put(valid, as), 403, 'forbidden', `${as} PUT`);
    for (const as of ['kiosk', 'integration']) expectError(await get(as), 403, 'forbidden', `${as} GET`);
    // A member of another tenant: refused on acme, whatever the body; acme's owner is refused on globex.
    expectError(await put(valid, 'globexOwner'), 403, 'forbidden', 'globex owner PUT acme');
    expectError(await put({ bogus: true }, 'globexOwner'), 403, 'forbidden', 'globex owner PUT acme (bad body)');
    expectError(await get('globexOwner'), 403, 'forbidden', 'globex owner GET acme');
    expectError(await put(valid, 'owner', 'globex'), 403, 'forbidden', 'acme owner PUT globex');
    expectError(await put(valid, 'owner', 'nope'), 403, 'forbidden', 'unknown tenant');
    expect(await env.services.sources.view(acme.tenant.id)).toBeNull();
    expect(await env.services.sources.view(globex.tenant.id)).toBeNull();
  });

  it('an owner sets a simulated source; the view fills in the defaults', async () => {
    const answer = await put({ kind: 'simulated', simulated: { policies: 12, failItems: ['x'] } });
    expect(answer.status, JSON.stringify(answer.body)).toBe(200);
    expect(answer.body.source).toEqual({
      kind: 'simulated',
      baseUrl: null,
      collections: [],
      hasCredential: false,
      simulated: { policies: 12, revision: 0, failItems: ['x'], unavailable: false },
      updatedAt: expect.any(String),
    });
    expect((await get('readonly')).body).toEqual(answer.body);
    expect((await row(acme.tenant.id))!.updated_by_id).toBe(acme.users.owner.id);
    const minimal = await put({ kind: 'simulated' });
    expect(minimal.body.source!.simulated).toEqual({ policies: SIMULATED_LIMITS.policies.default, revision: 0, failItems: [], unavailable: false });
  });

  it('a graph source with a bearer token: stored encrypted, shown as hasCredential only, opened by workers', async () => {
    const answer = await put(graphBody({ credential: { type: 'bearer', token: TOKEN } }));
    expect(answer.status, JSON.stringify(answer.body)).toBe(200);
    expect(answer.body.source).toEqual({ kind: 'graph', baseUrl: `${graphOrigin}/beta`, collections: [CONFIGS], hasCredential: true, updatedAt: expect.any(String) });
    const got = await get('readonly');
    expect(got.body).toEqual(answer.body);
    expect(JSON.stringify(got.body)).not.toContain(TOKEN);
    const stored = (await row(acme.tenant.id))!;
    expect(stored.credential_ciphertext).toMatch(/^v1\./);
    expect(stored.credential_ciphertext).not.toContain(TOKEN);

    const source = await env.services.sources.open(acme.tenant.id);
    const items = await listAll(source);
    expect(items.map((i) => (i.ok ? i.policy.externalId : i.code))).toEqual(['p1', 'p2']);
    expect(graphRequests.map((r) => r.headers.authorization)).toEqual([`Bearer ${TOKEN}`]);
  });

  it('omitting the credential keeps it on the same origin; another origin needs it again; null removes it', async () => {
    await put(graphBody({ credential: { type: 'bearer', token: TOKEN } }));
    const kept = await put(graphBody({ baseUrl: `${graphOrigin}/v1.0/`, collections: [CONFIGS, 'deviceManagement/deviceCompliancePolicies'] }));
    expect(kept.status, JSON.stringify(kept.body)).toBe(200);
    expect(kept.body.source).toMatchObject({ baseUrl: `${graphOrigin}/v1.0`, hasCredential: true, collections: [CONFIGS, 'deviceManagement/deviceCompliancePolicies'] });

    const before = (await get()).body;
    const moved = await put(graphBody({ baseUrl: 'http://127.0.0.2:1/beta' }));
    expectError(moved, 400, 'validation_failed', 'credential kept for another origin');
    expect(moved.body).toMatchObject({ error: { details: [{ path: 'credential' }] } });
    expect((await get()).body).toEqual(before);

    const cleared = await put(graphBody({ credential: null }));
    expect(cleared.body.source).toMatchObject({ hasCredential: false });
    expect((await row(acme.tenant.id))!.credential_ciphertext).toBeNull();
    // With none stored, a graph source without a credential is fine (an API that needs no token).
    expect((await put(graphBody({ baseUrl: 'http://127.0.0.2:1/beta' }))).status).toBe(200);
  });

  it('switching to simulated removes the credential', async () => {
    await put(graphBody({ credential: { type: 'bearer', token: TOKEN } }));
    const answer = await put({ kind: 'simulated' });
    expect(answer.body.source).toMatchObject({ kind: 'simulated', hasCredential: false, baseUrl: null, collections: [] });
    const stored = (await row(acme.tenant.id))!;
    expect(stored.credential_ciphertext).toBeNull();
    expect(stored.base_url).toBeNull();
  });

  it('OAuth client credentials are stored encrypted and used by the opened source', async () => {
    const credential = { type: 'client_credentials', tokenUrl: `${graphOrigin}/token`, clientId: 'app', clientSecret: CLIENT_SECRET, scope: 'https://graph.example/.default' };
    const answer = await put(graphBody({ credential }));
    expect(answer.status, JSON.stringify(answer.body)).toBe(200);
    expect((await row(acme.tenant.id))!.credential_ciphertext).not.toContain(CLIENT_SECRET);
    const items = await listAll(await env.services.sources.open(acme.tenant.id));
    expect(items).toHaveLength(2);
    expect(graphRequests.map((r) => `${r.method} ${r.url}`)).toEqual(['POST /token', `GET /beta/${CONFIGS}`]);
  });

  it.each([
    { body: {}, path: 'kind' },
    { body: { kind: 'nope' }, path: 'kind' },
    { body: { kind: 'graph' }, path: 'baseUrl' },
    { body: { kind: 'graph', baseUrl: 'https://graph.example.com/beta' }, path: 'collections' },
    { body: { kind: 'graph', baseUrl: 'https://graph.example.com/beta', collections: [] }, path: 'collections' },
    { body: { kind: 'graph', baseUrl: 'https://graph.example.com/beta', collections: Array.from({ length: 21 }, (_, i) => `c${i}`) }, path: 'collections' },
    ...['../secrets', 'a/../b', 'a//b', '/abs', 'trailing/', '.', 'a b', 'x'.repeat(201), 'é'].map((c) => ({ body: { kind: 'graph', baseUrl: 'https://graph.example.com', collections: [c] }, path: 'collections.0' })),
    { body: { kind: 'graph', baseUrl: 'https://graph.example.com', collections: ['a', 'a'] }, path: 'collections' },
    ...[
      'ftp://graph.example.com/beta',
      'graph.example.com/beta',
      'https://graph.example.com/beta?tenant=x',
      'https://graph.example.com/beta#x',
      'https://user:pw@graph.example.com/beta',
      `https://graph.example.com/${'a'.repeat(2_000)}`,
      'javascript:alert(1)',
      '',
    ].map((baseUrl) => ({ body: { kind: 'graph', baseUrl, collections: ['c'] }, path: 'baseUrl' })),
    { body: { kind: 'graph', baseUrl: 'https://graph.example.com', collections: ['c'], credential: { type: 'bearer' } }, path: 'credential.token' },
    { body: { kind: 'graph', baseUrl: 'https://graph.example.com', collections: ['c'], credential: { type: 'bearer', token: 'a\r\nX-Injected: 1' } }, path: 'credential.token' },
    { body: { kind: 'graph', baseUrl: 'https://graph.example.com', collections: ['c'], credential: { type: 'password', token: 'x' } }, path: 'credential.type' },
    { body: { kind: 'graph', baseUrl: 'https://graph.example.com', collections: ['c'], credential: { type: 'client_credentials', tokenUrl: 'file:///x', clientId: 'a', clientSecret: 'b' } }, path: 'credential.tokenUrl' },
    { body: { kind: 'graph', baseUrl: 'https://graph.example.com', collections: ['c'], extra: 1 }, path: '' },
    { body: { kind: 'simulated', simulated: { policies: 0 } }, path: 'simulated.policies' },
    { body: { kind: 'simulated', simulated: { policies: 20_001 } }, path: 'simulated.policies' },
    { body: { kind: 'simulated', simulated: { revision: 100_001 } }, path: 'simulated.revision' },
    { body: { kind: 'simulated', simulated: { unknown: true } }, path: 'simulated' },
    { body: { kind: 'simulated', baseUrl: 'https://graph.example.com' }, path: '' },
    { body: [], path: '' },
  ].map((c) => ({ ...c, what: JSON.stringify(c.body).slice(0, 90) })))('refuses $what with 400 validation_failed at "$path", changing nothing', async ({ body, path: detailPath }) => {
    const before = (await get()).body;
    const answer = await put(body);
    expectError(answer, 400, 'validation_failed', JSON.stringify(body).slice(0, 100));
    const details = (answer.body as unknown as { error: { details: { path: string }[] } }).error.details;
    if (detailPath) expect(details.map((d) => d.path), JSON.stringify(details)).toContain(detailPath);
    expect((await get()).body).toEqual(before);
  });

  it('a body that is not JSON is a 400 as well', async () => {
    const answer = await call(app.baseUrl, 'PUT', path(), { token: tokens.owner, raw: '{"kind":' });
    expect(answer.status).toBe(400);
  });

  it('open(): source_not_configured without a source; the simulated content derives from the tenant slug', async () => {
    const none = await env.services.sources.open(globex.tenant.id).catch((error: unknown) => error);
    expect(none).toBeInstanceOf(SourceError);
    expect(none).toMatchObject({ code: 'source_not_configured' });

    await env.services.sources.setSimulated(globex.tenant.id, { policies: 5 });
    const items = await listAll(await env.services.sources.open(globex.tenant.id));
    expect(items.map((i) => (i.ok ? i.policy.externalId : i.externalId))).toEqual([0, 1, 2, 3, 4].map((n) => simulatedExternalId('globex', n)));
  });

  it('setSimulated validates like the API; moveRevision moves, clamps, and is null for a graph source', async () => {
    await expect(env.services.sources.setSimulated(globex.tenant.id, { policies: -1 })).rejects.toMatchObject({ status: 400, code: 'validation_failed' });
    await env.services.sources.setSimulated(globex.tenant.id, { policies: 5, revision: 2 });
    expect(await env.services.sources.moveRevision(globex.tenant.id)).toBe(3);
    expect(await env.services.sources.moveRevision(globex.tenant.id, 4)).toBe(7);
    expect(await env.services.sources.moveRevision(globex.tenant.id, -100)).toBe(0);
    expect(await env.services.sources.moveRevision(globex.tenant.id, 10_000_000)).toBe(SIMULATED_LIMITS.revision.max);
    expect((await env.services.sources.view(globex.tenant.id))!.simulated).toMatchObject({ policies: 5, revision: SIMULATED_LIMITS.revision.max });
    await env.services.sources.set(globex.tenant.id, null, graphBody());
    expect(await env.services.sources.moveRevision(globex.tenant.id)).toBeNull();
  });

  it("a ciphertext copied to another tenant's row does not decrypt: source_misconfigured", async () => {
    await put(graphBody({ credential: { type: 'bearer', token: TOKEN } }));
    await env.services.sources.set(globex.tenant.id, null, graphBody());
    await env.services.orm.em
      .fork()
      .execute('update policy_sources set credential_ciphertext = (select credential_ciphertext from policy_sources where tenant_id = ?) where tenant_id = ?', [acme.tenant.id, globex.tenant.id]);
    const error = await env.services.sources.open(globex.tenant.id).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'source_misconfigured' });
    expect((error as Error).message).not.toContain(TOKEN);
  });
});
