import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemActor } from '../../db/access/actor.ts';
import type { Role } from '../../db/access/roles.ts';
import { socketHandlers } from '../../server/live/handlers/index.ts';
import { call, startApp, type ApiResponse, type RunningApp } from '../helpers/app.ts';
import { expectError, startSecondInstance } from '../helpers/instances.ts';
import { RecordingClient, refusal } from '../helpers/live.ts';
import { issueSession } from '../helpers/sessions.ts';
import { createTestEnv, seedTenant, testPasswordHash, type Seeded, type TestEnv } from '../helpers/stack.ts';


// docs/api.md §2–4, §9: who may call what. The matrix is every route the app serves (read from its own
// router) × every kind of caller × {own tenant, another tenant, an unknown tenant}, and every socket
// handler (read from the gateway's registry) × the same callers × tenants. Expected answers come from one
// small table per route; a served route or handler missing from the tables fails the first test.
// No worker: starts are enqueue-only, so the runs started here simply stay queued.

const OWN = 'acme';
const OTHER = 'globex';
const UNKNOWN = 'nope';
const TENANTS = [OWN, OTHER, UNKNOWN] as const;
type Tenant = (typeof TENANTS)[number];

// Principals ------------------------------------------------------------------------------------------------------

/**
 * Every kind of caller, all relative to acme ("own"). A kiosk of another tenant is the acme kiosk on globex,
 * a non-member is every acme user on globex and the user with no membership at all on acme. The multi-tenant
 * kiosk (docs/api.md §12) is bound to acme and globex: it reads both like a kiosk, and nothing else.
 */
const PRINCIPALS = [
  'anonymous',
  'forged', // well-formed, never issued
  'nonMember', // a signed-in user with no membership anywhere
  'owner',
  'manager',
  'operator',
  'readonly',
  'kiosk',
  'multiKiosk', // bound to acme and globex
  'integration',
  'revokedKiosk',
  'revokedIntegration',
  'loggedOut',
  'expiredSession',
] as const;
type Principal = (typeof PRINCIPALS)[number];

const ROLE: Partial<Record<Principal, Role>> = { owner: 'owner', manager: 'manager', operator: 'operator', readonly: 'readonly' };
/** Callers whose credentials do not authenticate at all: 401 on every authenticated route, refused handshake. */
const UNAUTHENTICATED: Principal[] = ['anonymous', 'forged', 'revokedKiosk', 'revokedIntegration', 'loggedOut', 'expiredSession'];
const isUser = (p: Principal) => p === 'nonMember' || ROLE[p] !== undefined;

// Routes ----------------------------------------------------------------------------------------------------------

/** Ids that exist inside one tenant, so each request addresses something real there. */
type Target = { runId: string; mirroredRunId: string; kioskId: string; integrationId: string; notificationId: string; webhookId: string; spareWebhookId: string } & RestoreTargets;
/** A backup set with a captured policy, and a discarded restore of it (every transition of which is a 409). */
type RestoreTargets = { backupSetId: string; discardedRestoreId: string };
/** acme's backup set, for the body of `POST …/restores` (bodies are built before any target exists). */
const ownBackupSet = { id: '' };
/** A spare kiosk token bound to acme and globex, for `DELETE /api/kiosk-tokens/:id`. */
const spareMultiKiosk = { id: '' };

type Access =
  /** Anyone; the answer does not depend on the caller. */
  | { public: number }
  /**
   * A signed-in person's own routes (inbox, /me, logout); kiosk and integration tokens get 403. `below`: users
   * whose role in acme is below `role` (non-members too) get `status` instead. `kiosk`: kiosk tokens may call it
   * too (their own tenants), answering this.
   */
  | { user: number; forOwner?: { principal: Principal; status: number }; below?: { role: Role; status: number }; kiosk?: number }
  /** A tenant route: which members (any, from a role, none), whether the tenant's kiosk / integration token may. */
  | { members: Role | 'any' | 'none'; kiosk: boolean; integration: boolean; ok: number };

type RouteSpec = {
  /** How the app's router names it: `METHOD /full/express/path`. */
  route: string;
  url: (tenant: Tenant, target: Target) => string;
  body?: () => unknown;
  access: Access;
  /** User principals call it with a fresh session of their own (the route ends the session it is called with). */
  freshSession?: boolean;
};

const tenantUrl = (path: string) => (tenant: Tenant) => `/api/tenants/${tenant}${path}`;

const ROUTES: RouteSpec[] = [
  { route: 'GET /healthz', url: () => '/healthz', access: { public: 200 } },
  { route: 'GET /readyz', url: () => '/readyz', access: { public: 200 } },
  { route: 'GET /metrics', url: () => '/metrics', access: { public: 200 } },
  // The API description and its reference page (docs/api.md §13): they describe, they reveal no data.
  { route: 'GET /api/openapi.json', url: () => '/api/openapi.json', access: { public: 200 } },
  { route: 'GET /api/asyncapi.json', url: () => '/api/asyncapi.json', access: { public: 200 } },
  { route: 'GET /api/docs', url: () => '/api/docs', access: { public: 200 } },
  { route: 'GET /api/docs/assets/:file', url: () => '/api/docs/assets/reference.js', access: { public: 200 } },
  // An empty body: refused by validation before any password work, whoever asks (the route is public).
  { route: 'POST /api/auth/login', url: () => '/api/auth/login', body: () => ({}), access: { public: 400 } },
  { route: 'POST /api/auth/logout', url: () => '/api/auth/logout', access: { user: 204 }, freshSession: true },
  { route: 'GET /api/me', url: () => '/api/me', access: { user: 200 } },
  { route: 'GET /api/notifications', url: () => '/api/notifications', access: { user: 200 } },
  // Many tenants on one screen (docs/api.md §12): the caller's own tenants (none for a non-member), or a kiosk's.
  { route: 'GET /api/overview', url: () => '/api/overview', access: { user: 200, kiosk: 200 } },
  { route: 'POST /api/notifications/read-all', url: () => '/api/notifications/read-all', access: { user: 204 } },
  {
    // The acme operator's own notification: theirs to mark read, a 404 for every other user.
    route: 'POST /api/notifications/:id/read',
    url: (_tenant, t) => `/api/notifications/${t.notificationId}/read`,
    access: { user: 404, forOwner: { principal: 'operator', status: 204 } },
  },
  { route: 'GET /api/tenants/:tenant/operation-types', url: tenantUrl('/operation-types'), access: { members: 'any', kiosk: false, integration: false, ok: 200 } },
  {
    // A mirrored type: the one kind of run an integration token may start, and members ≥ operator too.
    route: 'POST /api/tenants/:tenant/runs',
    url: tenantUrl('/runs'),
    body: () => ({ type: 'demo.external', scope: { key: randomUUID() } }),
    access: { members: 'operator', kiosk: false, integration: true, ok: 202 },
  },
  { route: 'GET /api/tenants/:tenant/runs', url: tenantUrl('/runs'), access: { members: 'any', kiosk: true, integration: false, ok: 200 } },
  {
    route: 'GET /api/tenants/:tenant/runs/:id',
    url: (tenant, t) => `/api/tenants/${tenant}/runs/${t.runId}`,
    access: { members: 'any', kiosk: true, integration: false, ok: 200 },
  },
  { route: 'GET /api/tenants/:tenant/stats', url: tenantUrl('/stats'), access: { members: 'any', kiosk: true, integration: false, ok: 200 } },
  // docs/api.md §11: read like runs, by every member and the tenant's kiosk (walls show reasons and "slower than usual").
  {
    route: 'GET /api/tenants/:tenant/runs/:id/history',
    url: (tenant, t) => `/api/tenants/${tenant}/runs/${t.runId}/history`,
    access: { members: 'any', kiosk: true, integration: false, ok: 200 },
  },
  { route: 'GET /api/tenants/:tenant/failure-reasons', url: tenantUrl('/failure-reasons'), access: { members: 'any', kiosk: true, integration: false, ok: 200 } },
  { route: 'GET /api/tenants/:tenant/baselines', url: tenantUrl('/baselines'), access: { members: 'any', kiosk: true, integration: false, ok: 200 } },
  // The tenant's policy source (docs/api.md §10): members read it (no kiosk: a wall needs no source), owners set it.
  { route: 'GET /api/tenants/:tenant/policy-source', url: tenantUrl('/policy-source'), access: { members: 'any', kiosk: false, integration: false, ok: 200 } },
  {
    route: 'PUT /api/tenants/:tenant/policy-source',
    url: tenantUrl('/policy-source'),
    body: () => ({ kind: 'simulated', simulated: { policies: 12 } }),
    access: { members: 'owner', kiosk: false, integration: false, ok: 200 },
  },
  // Read from the database only, like runs: every member and the tenant's kiosk (docs/api.md §10).
  { route: 'GET /api/tenants/:tenant/inventory', url: tenantUrl('/inventory'), access: { members: 'any', kiosk: true, integration: false, ok: 200 } },
  { route: 'GET /api/tenants/:tenant/drift/findings', url: tenantUrl('/drift/findings'), access: { members: 'any', kiosk: true, integration: false, ok: 200 } },
  { route: 'GET /api/tenants/:tenant/drift/status', url: tenantUrl('/drift/status'), access: { members: 'any', kiosk: true, integration: false, ok: 200 } },
  // Backup sets and restores (docs/api.md §10): read like runs; sets created by operators, restores changed by managers.
  {
    route: 'POST /api/tenants/:tenant/backup-sets',
    url: tenantUrl('/backup-sets'),
    body: () => ({ name: 'matrix set' }),
    access: { members: 'operator', kiosk: false, integration: false, ok: 201 },
  },
  { route: 'GET /api/tenants/:tenant/backup-sets', url: tenantUrl('/backup-sets'), access: { members: 'any', kiosk: true, integration: false, ok: 200 } },
  {
    route: 'GET /api/tenants/:tenant/backup-sets/:id',
    url: (tenant, t) => `/api/tenants/${tenant}/backup-sets/${t.backupSetId}`,
    access: { members: 'any', kiosk: true, integration: false, ok: 200 },
  },
  {
    route: 'POST /api/tenants/:tenant/restores',
    url: tenantUrl('/restores'),
    body: () => ({ backupSetId: ownBackupSet.id }),
    access: { members: 'manager', kiosk: false, integration: false, ok: 201 },
  },
  { route: 'GET /api/tenants/:tenant/restores', url: tenantUrl('/restores'), access: { members: 'any', kiosk: true, integration: false, ok: 200 } },
  {
    route: 'GET /api/tenants/:tenant/restores/:id',
    url: (tenant, t) => `/api/tenants/${tenant}/restores/${t.discardedRestoreId}`,
    access: { members: 'any', kiosk: true, integration: false, ok: 200 },
  },
  // A discarded restore moves no further: whoever may change restores gets 409, everyone else 403 first.
  ...(['preview', 'execute', 'discard'] as const).map((action): RouteSpec => ({
    route: `POST /api/tenants/:tenant/restores/:id/${action}`,
    url: (tenant, t) => `/api/tenants/${tenant}/restores/${t.discardedRestoreId}/${action}`,
    access: { members: 'manager', kiosk: false, integration: false, ok: 409 },
  })),
  {
    route: 'POST /api/tenants/:tenant/kiosk-tokens',
    url: tenantUrl('/kiosk-tokens'),
    body: () => ({ label: 'matrix wall' }),
    access: { members: 'manager', kiosk: false, integration: false, ok: 201 },
  },
  {
    // Revoking is idempotent (204 again), so every allowed caller can revoke the same spare token.
    route: 'DELETE /api/tenants/:tenant/kiosk-tokens/:id',
    url: (tenant, t) => `/api/tenants/${tenant}/kiosk-tokens/${t.kioskId}`,
    access: { members: 'manager', kiosk: false, integration: false, ok: 204 },
  },
  // Kiosk tokens for several tenants (docs/api.md §12), here for acme: created and revoked by its owners and managers.
  {
    route: 'POST /api/kiosk-tokens',
    url: () => '/api/kiosk-tokens',
    body: () => ({ label: 'matrix wall', tenants: [OWN] }),
    access: { user: 201, below: { role: 'manager', status: 403 } },
  },
  { route: 'GET /api/kiosk-tokens', url: () => '/api/kiosk-tokens', access: { user: 200 } },
  {
    // Idempotent like the tenant's own route; a token one cannot manage is not found.
    route: 'DELETE /api/kiosk-tokens/:id',
    url: () => `/api/kiosk-tokens/${spareMultiKiosk.id}`,
    access: { user: 204, below: { role: 'manager', status: 404 } },
  },
  {
    route: 'POST /api/tenants/:tenant/integration-tokens',
    url: tenantUrl('/integration-tokens'),
    body: () => ({ label: 'matrix service' }),
    access: { members: 'owner', kiosk: false, integration: false, ok: 201 },
  },
  {
    route: 'DELETE /api/tenants/:tenant/integration-tokens/:id',
    url: (tenant, t) => `/api/tenants/${tenant}/integration-tokens/${t.integrationId}`,
    access: { members: 'owner', kiosk: false, integration: false, ok: 204 },
  },
  // Outgoing webhooks (docs/api.md §13): owners only — they send the tenant's runs elsewhere. No worker here, so
  // nothing is delivered to the (closed) loopback port they name.
  {
    route: 'POST /api/tenants/:tenant/webhooks',
    url: tenantUrl('/webhooks'),
    body: () => ({ url: 'http://127.0.0.1:9/matrix', events: ['run.completed'] }),
    access: { members: 'owner', kiosk: false, integration: false, ok: 201 },
  },
  { route: 'GET /api/tenants/:tenant/webhooks', url: tenantUrl('/webhooks'), access: { members: 'owner', kiosk: false, integration: false, ok: 200 } },
  {
    route: 'GET /api/tenants/:tenant/webhooks/:id',
    url: (tenant, t) => `/api/tenants/${tenant}/webhooks/${t.webhookId}`,
    access: { members: 'owner', kiosk: false, integration: false, ok: 200 },
  },
  {
    route: 'GET /api/tenants/:tenant/webhooks/:id/deliveries',
    url: (tenant, t) => `/api/tenants/${tenant}/webhooks/${t.webhookId}/deliveries`,
    access: { members: 'owner', kiosk: false, integration: false, ok: 200 },
  },
  {
    // Only the owner may, once: a spare webhook, so the reads above keep theirs.
    route: 'DELETE /api/tenants/:tenant/webhooks/:id',
    url: (tenant, t) => `/api/tenants/${tenant}/webhooks/${t.spareWebhookId}`,
    access: { members: 'owner', kiosk: false, integration: false, ok: 204 },
  },
  {
    // Reported by the owning system only: no member, not even the owner, reports events. A repeated eventId is a 200.
    route: 'POST /api/tenants/:tenant/runs/:id/events',
    url: (tenant, t) => `/api/tenants/${tenant}/runs/${t.mirroredRunId}/events`,
    body: () => ({ kind: 'started', eventId: 'matrix-started' }),
    access: { members: 'none', kiosk: false, integration: true, ok: 200 },
  },
];

/** What a call should answer: the status, and the error code for 4xx. */
function expected(spec: RouteSpec, principal: Principal, tenant: Tenant): number {
  const { access } = spec;
  if ('public' in access) return access.public;
  if (UNAUTHENTICATED.includes(principal)) return 401;
  if ('user' in access) {
    if (!isUser(principal)) return (principal === 'kiosk' || principal === 'multiKiosk') && access.kiosk !== undefined ? access.kiosk : 403;
    if (access.forOwner?.principal === principal) return access.forOwner.status;
    const role = ROLE[principal];
    if (access.below && (!role || ROLES_RANK[role] < ROLES_RANK[access.below.role])) return access.below.status;
    return access.user;
  }
  // Bound to acme and globex: a kiosk on both; the unknown tenant is refused like any other.
  if (principal === 'multiKiosk') return tenant !== UNKNOWN && access.kiosk ? access.ok : 403;
  if (tenant !== OWN) return 403; // another tenant, or one that does not exist: the same answer (no probing)
  if (principal === 'kiosk') return access.kiosk ? access.ok : 403;
  if (principal === 'integration') return access.integration ? access.ok : 403;
  const role = ROLE[principal];
  if (!role || access.members === 'none') return 403;
  return access.members === 'any' || ROLES_RANK[role] >= ROLES_RANK[access.members] ? access.ok : 403;
}
const ROLES_RANK: Record<Role, number> = { readonly: 0, operator: 1, manager: 2, owner: 3 };

const CODES: Record<number, string> = { 400: 'validation_failed', 401: 'unauthorized', 403: 'forbidden', 404: 'not_found', 409: 'invalid_transition' };
const describeAnswer = (status: number, code?: unknown) => (status >= 400 ? `${status} ${String(code)}` : String(status));

// Express internals, loosely typed: route layers, and nested routers with the path they are mounted on.
type Layer = { route?: { path: string; methods: Record<string, boolean> }; handle?: { stack?: Layer[] }; rawPath?: unknown };

/** Every `METHOD /path` the app serves, walking nested routers (so no route can hide in one). */
function servedRoutes(stack: Layer[], prefix = ''): string[] {
  return stack.flatMap((layer) => {
    // A router's own '/' route is the mount path itself ('/api/me/' is served as '/api/me').
    const path = (route: string) => `${prefix}${route}`.replace(/(.)\/$/, '$1');
    if (layer.route) return Object.keys(layer.route.methods).map((m) => `${m.toUpperCase()} ${path(layer.route!.path)}`);
    if (!layer.handle?.stack) return [];
    const mount = typeof layer.rawPath === 'string' && layer.rawPath !== '/' ? layer.rawPath : '';
    return servedRoutes(layer.handle.stack, prefix + mount);
  });
}

/** Runs `task` over `items` with at most `limit` in flight. */
async function inPool<T>(items: T[], limit: number, task: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < items.length) await task(items[next++]!);
    }),
  );
}

describe('access matrix: every route and socket handler × every caller × own, other and unknown tenant', () => {
  let env: TestEnv;
  let app: RunningApp;
  const tokens = {} as Record<Principal, string | undefined>;
  /** Credentials of the other tenant, for the cross-tenant checks. */
  const other = { owner: '', integration: '' };
  const userIds = {} as Record<Principal, string>;
  const targets = {} as Record<Tenant, Target>;
  const tenantIds = {} as Record<typeof OWN | typeof OTHER, string>;

  const issue = (userId: string, expiresAt?: Date) => issueSession(env, { id: userId }, expiresAt);

  /** A backup set holding one captured policy (no worker here: captured through the service) and a discarded restore of it. */
  const restoreTargets = async (tenant: Seeded['tenant'], runId: string): Promise<RestoreTargets> => {
    const set = await env.services.backups.create(tenant, 'matrix', null);
    await env.services.backups.capture(set.id, { externalId: 'matrix-policy', name: 'Matrix policy', policyType: 'matrix', lastModified: null, settings: { on: true } }, runId);
    const restore = await env.services.restores.create(tenant, null, { backupSetId: set.id });
    await env.services.restores.discard(systemActor(tenant, 'test'), tenant, restore.id);
    if (tenant.slug === OWN) ownBackupSet.id = set.id;
    return { backupSetId: set.id, discardedRestoreId: restore.id };
  };

  const tenantToken = (kind: 'kiosk' | 'integration', tenantId: string, label: string) =>
    env.services.auth.createTenantToken(kind, tenantId, label, null);
  const webhook = (tenantId: string) => env.services.webhooks.create(tenantId, null, { url: 'http://127.0.0.1:9/target', events: ['run.completed'] });

  const count = async (sql: string) => Number((await env.services.orm.em.fork().execute<{ n: string }[]>(sql))[0]?.n);
  const footprint = async () => ({
    runs: await count('select count(*) as n from operation_runs'),
    tenantTokens: await count(`select count(*) as n from auth_tokens where kind <> 'user'`),
    webhooks: await count('select count(*) as n from webhooks'),
  });

  beforeAll(async () => {
    // A key for webhook secrets, and private targets allowed (the matrix's webhooks name a closed loopback port).
    env = await createTestEnv({ SOURCE_CREDENTIALS_KEY: Buffer.alloc(32, 3).toString('base64'), ALLOW_PRIVATE_TARGETS: 'true' });
    const acme = await seedTenant(env.services, OWN);
    const globex = await seedTenant(env.services, OTHER);
    app = await startApp(env);
    tenantIds[OWN] = acme.tenant.id;
    tenantIds[OTHER] = globex.tenant.id;
    const loner = await env.services.tenants.createUser({ email: 'loner@nowhere.test', name: 'Loner', passwordHash: await testPasswordHash() });

    for (const role of ['owner', 'manager', 'operator', 'readonly'] as const) {
      userIds[role] = acme.users[role].id;
      tokens[role] = await issue(acme.users[role].id);
    }
    userIds.nonMember = loner.id;
    tokens.nonMember = await issue(loner.id);
    tokens.forged = `rbu_${'A'.repeat(43)}`;
    tokens.expiredSession = await issue(acme.users.readonly.id, new Date(Date.now() - 60_000));
    tokens.loggedOut = await issue(acme.users.operator.id);
    expect((await call(app.baseUrl, 'POST', '/api/auth/logout', { token: tokens.loggedOut })).status).toBe(204);

    const make = async (kind: 'kiosk' | 'integration', label: string) => tenantToken(kind, acme.tenant.id, label);
    tokens.kiosk = (await make('kiosk', 'NOC wall')).token;
    tokens.multiKiosk = (await env.services.auth.createKioskToken([acme.tenant.id, globex.tenant.id], 'NOC wall of two', null)).token;
    spareMultiKiosk.id = (await env.services.auth.createKioskToken([acme.tenant.id, globex.tenant.id], 'spare wall of two', null)).id;
    tokens.integration = (await make('integration', 'restore service')).token;
    for (const [principal, kind] of [['revokedKiosk', 'kiosk'], ['revokedIntegration', 'integration']] as const) {
      const made = await make(kind, 'short-lived');
      await env.services.auth.revokeTenantToken(kind, acme.tenant.id, made.id);
      tokens[principal] = made.token;
    }

    // Per tenant: a queued run (with its initiator's notification), a mirrored run, spare tokens to revoke.
    const globexOperator = await issue(globex.users.operator.id);
    const globexIntegration = (await tenantToken('integration', globex.tenant.id, 'globex service')).token;
    other.owner = await issue(globex.users.owner.id);
    other.integration = globexIntegration;
    for (const [tenant, seeded, operator, integration] of [
      [OWN, acme, tokens.operator!, tokens.integration],
      [OTHER, globex, globexOperator, globexIntegration],
    ] as const) {
      const run = await call(app.baseUrl, 'POST', `/api/tenants/${tenant}/runs`, { token: operator, body: { type: 'demo.batch', scope: { items: 1, key: 'matrix' } } });
      expect(run.status, JSON.stringify(run.body)).toBe(202);
      const external = await call(app.baseUrl, 'POST', `/api/tenants/${tenant}/runs`, { token: integration, body: { type: 'demo.external', scope: { key: 'matrix' } } });
      expect(external.status, JSON.stringify(external.body)).toBe(202);
      const [notification] = await env.services.orm.em
        .fork()
        .execute<{ id: string }[]>('select id from notifications where run_id = ?', [run.body.run.id]);
      targets[tenant] = {
        runId: run.body.run.id,
        mirroredRunId: external.body.run.id,
        kioskId: (await tenantToken('kiosk', seeded.tenant.id, 'spare wall')).id,
        integrationId: (await tenantToken('integration', seeded.tenant.id, 'spare service')).id,
        notificationId: notification!.id,
        webhookId: (await webhook(seeded.tenant.id)).id,
        spareWebhookId: (await webhook(seeded.tenant.id)).id,
        ...(await restoreTargets(seeded.tenant, run.body.run.id)),
      };
    }
    // An unknown tenant is addressed with acme's ids: they exist, just not there.
    targets[UNKNOWN] = targets[OWN];
  });

  afterAll(async () => {
    await app?.close();
    await env?.cleanup();
  });

  it('the tables list exactly the routes the app serves and the socket events the gateway handles', () => {
    const router = (app.app as unknown as { router: { stack: Layer[] } }).router;
    expect(servedRoutes(router.stack).sort()).toEqual(ROUTES.map((r) => r.route).sort());
    expect(Object.keys(socketHandlers).sort()).toEqual(Object.keys(SOCKET_TABLE).sort());
  });

  it(`HTTP: ${ROUTES.length} routes × ${PRINCIPALS.length} callers × tenants answer exactly as the tables say`, async () => {
    const cells = ROUTES.flatMap((spec) => {
      const tenanted = spec.route.includes(':tenant');
      return PRINCIPALS.flatMap((principal) => (tenanted ? [...TENANTS] : [OWN as Tenant]).map((tenant) => ({ spec, principal, tenant })));
    });
    const before = await footprint();
    const mismatches: string[] = [];
    const answers: Record<string, number> = {};
    await inPool(cells, 6, async ({ spec, principal, tenant }) => {
      let token = tokens[principal];
      if (spec.freshSession && isUser(principal)) token = await issue(userIds[principal]);
      const [method, path] = spec.route.split(' ') as [string, string];
      const response: ApiResponse = await call(app.baseUrl, method, spec.url(tenant, targets[tenant]), {
        ...(token ? { token } : {}),
        ...(spec.body ? { body: spec.body() } : {}),
      });
      const want = expected(spec, principal, tenant);
      const got = describeAnswer(response.status, response.body?.error?.code);
      answers[got] = (answers[got] ?? 0) + 1;
      if (got !== describeAnswer(want, CODES[want])) {
        mismatches.push(`${principal} ${method} ${path.replace(':tenant', tenant)} → ${got}, expected ${describeAnswer(want, CODES[want])}`);
      }
    });
    console.log(`[access-matrix] HTTP: ${cells.length} cells`, answers);
    expect(mismatches).toEqual([]);

    // Nothing a refused call could have created exists: only the allowed cells made runs and tokens.
    const allowed = (route: string) => cells.filter((c) => c.spec.route === route && expected(c.spec, c.principal, c.tenant) < 300).length;
    expect(await footprint()).toEqual({
      runs: before.runs + allowed('POST /api/tenants/:tenant/runs'),
      tenantTokens:
        before.tenantTokens +
        allowed('POST /api/tenants/:tenant/kiosk-tokens') +
        allowed('POST /api/tenants/:tenant/integration-tokens') +
        allowed('POST /api/kiosk-tokens'),
      webhooks: before.webhooks + allowed('POST /api/tenants/:tenant/webhooks') - allowed('DELETE /api/tenants/:tenant/webhooks/:id'),
    });
    // The kiosk and integration principals survived a logout attempt of their own (it is a user route).
    expect((await call(app.baseUrl, 'GET', `/api/tenants/${OWN}/runs`, { token: tokens.kiosk })).status).toBe(200);
  }, 90_000);

  it(`sockets: ${Object.keys(SOCKET_TABLE).length} handlers × ${PRINCIPALS.length} callers × tenants; only granted rooms deliver`, async () => {
    const clients = new Map<Principal, RecordingClient>();
    const mismatches: string[] = [];
    let cells = 0;
    try {
      await inPool([...PRINCIPALS], 4, async (principal) => {
        const token = tokens[principal];
        const handshake = await refusal(app.baseUrl, token ? { token } : {});
        const wantHandshake = UNAUTHENTICATED.includes(principal) || principal === 'integration' ? 'unauthorized' : 'connected';
        cells += 1;
        if (handshake !== wantHandshake) mismatches.push(`${principal} handshake → ${handshake}, expected ${wantHandshake}`);
        if (wantHandshake !== 'connected') return;
        clients.set(principal, await RecordingClient.connect(app.baseUrl, { token: token! }));
      });
      // subscribe before unsubscribe, so the delivery check below runs while granted rooms are joined.
      for (const event of ['subscribe', 'unsubscribe'] as const) {
        for (const [principal, client] of clients) {
          for (const tenant of TENANTS) {
            const ack = await client.socket.timeout(10_000).emitWithAck(event, { tenant });
            const want = SOCKET_TABLE[event](principal, tenant);
            cells += 1;
            if (JSON.stringify(ack) !== JSON.stringify(want)) mismatches.push(`${principal} ${event} ${tenant} → ${JSON.stringify(ack)}, expected ${JSON.stringify(want)}`);
          }
        }
        if (event === 'subscribe') await expectDeliveriesAsGranted(clients);
      }
      console.log(`[access-matrix] sockets: ${cells} cells (handshakes + acks)`);
      expect(mismatches).toEqual([]);
    } finally {
      for (const client of clients.values()) client.close();
    }
  }, 60_000);

  /** A run change in each tenant, then `resync` to everyone as a barrier: each socket got exactly its granted tenants. */
  async function expectDeliveriesAsGranted(clients: Map<Principal, RecordingClient>): Promise<void> {
    for (const tenant of [OWN, OTHER] as const) {
      const run = await env.services.runs.get(tenantIds[tenant], targets[tenant].runId);
      await env.services.changefeed.runChanged('progress', run!);
    }
    // Published after the run changes on the same connection, so it arrives after them on every socket.
    await env.services.changefeed.control({ type: 'resync' });
    for (const [principal, client] of clients) {
      await client.until(() => client.of('resync').length > 0, 10_000, `resync for ${principal}`);
      const got = [...new Set(client.of('run:update').map((u) => u.tenant))].sort();
      const granted = TENANTS.filter((t) => SOCKET_TABLE.subscribe(principal, t).ok).sort();
      expect(got, `${principal} received run:update of`).toEqual(granted);
    }
  }

  // The matrix's neighbours: what the table cannot say in one status.

  it("another tenant's run id under one's own tenant path is 404, for members and kiosks; lists hold only own runs", async () => {
    const path = `/api/tenants/${OWN}/runs/${targets[OTHER].runId}`;
    for (const principal of ['owner', 'readonly', 'kiosk'] as const) {
      expectError(await call(app.baseUrl, 'GET', path, { token: tokens[principal] }), 404, 'not_found', `${principal} ${path}`);
      expectError(await call(app.baseUrl, 'GET', `${path}/history`, { token: tokens[principal] }), 404, 'not_found', `${principal} ${path}/history`);
    }
    const list = await call(app.baseUrl, 'GET', `/api/tenants/${OWN}/runs?limit=500`, { token: tokens.owner });
    expect(list.body.runs.map((r: { id: string }) => r.id)).not.toContain(targets[OTHER].runId);
    expect(list.body.runs.every((r: { tenant: string }) => r.tenant === OWN)).toBe(true);
    // A manager cannot revoke another tenant's kiosk by naming it under their own tenant either.
    expectError(
      await call(app.baseUrl, 'DELETE', `/api/tenants/${OWN}/kiosk-tokens/${targets[OTHER].kioskId}`, { token: tokens.manager }),
      404,
      'not_found',
      'globex kiosk under acme',
    );
  });

  it("search, failure reasons, history and baselines never show another tenant's runs", async () => {
    // globex: a mirrored run with a word and a failure code no acme run has, reported to completion.
    const word = 'globexonlyword';
    const code = 'globex_only_code';
    const started = await call(app.baseUrl, 'POST', `/api/tenants/${OTHER}/runs`, { token: other.integration, body: { type: 'demo.external', scope: { key: `${word} 50%_off` } } });
    expect(started.status).toBe(202);
    const foreign: string = started.body.run.id;
    for (const event of [{ kind: 'started' }, { kind: 'progress', failed: 1, failures: [{ code, message: 'only in globex' }] }, { kind: 'completed' }]) {
      expect((await call(app.baseUrl, 'POST', `/api/tenants/${OTHER}/runs/${foreign}/events`, { token: other.integration, body: event })).status).toBe(200);
    }
    const runIds = async (tenant: string, query: string, token: string) => {
      const answer = await call(app.baseUrl, 'GET', `/api/tenants/${tenant}/runs?limit=500&${query}`, { token });
      expect(answer.status, `${tenant} ${query}`).toBe(200);
      return answer.body.runs.map((r: { id: string }) => r.id) as string[];
    };
    const reasonCodes = async (tenant: string, token: string) => {
      const answer = await call(app.baseUrl, 'GET', `/api/tenants/${tenant}/failure-reasons?window=30d&limit=100`, { token });
      expect(answer.status).toBe(200);
      return answer.body.reasons.map((r: { code: string }) => r.code) as string[];
    };
    const queries = [`q=${foreign}`, `q=${foreign.slice(0, 8)}`, `q=${foreign.toUpperCase()}`, `q=${word}`, `q=${code}`, `failureCode=${code}`, `q=${word}&failureCode=${code}`];
    // Its own tenant finds it every way (so the data is there to be found)…
    for (const query of queries) expect(await runIds(OTHER, query, other.owner), `globex ${query}`).toEqual([foreign]);
    expect(await reasonCodes(OTHER, other.owner)).toContain(code);
    // …acme, whoever asks, never.
    for (const principal of ['owner', 'readonly', 'kiosk'] as const) {
      const token = tokens[principal]!;
      for (const query of queries) expect(await runIds(OWN, query, token), `${principal} ${query}`).toEqual([]);
      expect(await reasonCodes(OWN, token), principal).not.toContain(code);
      // The overview (docs/api.md §12) holds acme's tile only: not globex's run, reason or name.
      const overview = await call(app.baseUrl, 'GET', '/api/overview?window=30d', { token });
      expect(overview.body.tenants.map((t: { tenant: { slug: string } }) => t.tenant.slug), `${principal} overview`).toEqual([OWN]);
      expect(JSON.stringify(overview.body), `${principal} overview`).not.toMatch(new RegExp(`${foreign}|${code}|${OTHER}`));
      expectError(await call(app.baseUrl, 'GET', `/api/tenants/${OWN}/runs/${foreign}/history`, { token }), 404, 'not_found', `${principal} globex history under acme`);
    }
    // Baselines are measured per tenant: globex's completed mirrored run counts there only. Asked of a second
    // instance, whose baselines are measured now: this one's were read (and kept for 30 s) by the matrix above.
    const fresh = await startSecondInstance(env);
    try {
      const runs30d = async (tenant: string, token: string) => {
        const answer = await call(fresh.baseUrl, 'GET', `/api/tenants/${tenant}/baselines`, { token });
        expect(answer.status).toBe(200);
        return answer.body.types.find((t: { type: string }) => t.type === 'demo.external').runs30d as number;
      };
      expect(await runs30d(OTHER, other.owner)).toBe(1);
      expect(await runs30d(OWN, tokens.kiosk!)).toBe(0);
    } finally {
      await fresh.close();
    }
  });

  it('a non-UUID run or token id is 404, never 400 or 500', async () => {
    const ids = ['not-a-uuid', '123', `${targets[OWN].runId}x`, "1' or '1'='1", '%00', 'ffffffff-ffff-ffff-ffff-ffffffffffff'];
    for (const id of ids) {
      const encoded = encodeURIComponent(id);
      expectError(await call(app.baseUrl, 'GET', `/api/tenants/${OWN}/runs/${encoded}`, { token: tokens.operator }), 404, 'not_found', `run ${id}`);
      expectError(await call(app.baseUrl, 'GET', `/api/tenants/${OWN}/runs/${encoded}/history`, { token: tokens.kiosk }), 404, 'not_found', `history ${id}`);
      expectError(await call(app.baseUrl, 'DELETE', `/api/tenants/${OWN}/kiosk-tokens/${encoded}`, { token: tokens.manager }), 404, 'not_found', `kiosk ${id}`);
      expectError(await call(app.baseUrl, 'GET', `/api/tenants/${OWN}/webhooks/${encoded}/deliveries`, { token: tokens.owner }), 404, 'not_found', `webhook ${id}`);
      expectError(await call(app.baseUrl, 'DELETE', `/api/tenants/${OWN}/webhooks/${encoded}`, { token: tokens.owner }), 404, 'not_found', `webhook ${id}`);
    }
  });

  it.each([
    { who: 'a member of another tenant', tenant: OTHER, as: 'owner' },
    { who: 'a member on an unknown tenant', tenant: UNKNOWN, as: 'owner' },
    { who: 'a kiosk on its own tenant', tenant: OWN, as: 'kiosk' },
    { who: 'a readonly member on its own tenant', tenant: OWN, as: 'readonly' },
  ] as const)('access is decided before the input is read: $who gets 403 whatever the body', async ({ who, tenant, as }) => {
    const before = await footprint();
    for (const body of [{ type: 'nope.nope', scope: {} }, { type: 'demo.batch', scope: { items: -1 } }, {}, { bogus: true }]) {
      const started = await call(app.baseUrl, 'POST', `/api/tenants/${tenant}/runs`, { token: tokens[as], body });
      expectError(started, 403, 'forbidden', `${who}: POST runs ${JSON.stringify(body)}`);
      const kiosk = await call(app.baseUrl, 'POST', `/api/tenants/${tenant}/kiosk-tokens`, { token: tokens[as], body });
      expectError(kiosk, 403, 'forbidden', `${who}: POST kiosk-tokens ${JSON.stringify(body)}`);
      const webhook = await call(app.baseUrl, 'POST', `/api/tenants/${tenant}/webhooks`, { token: tokens[as], body });
      expectError(webhook, 403, 'forbidden', `${who}: POST webhooks ${JSON.stringify(body)}`);
    }
    expect(await footprint()).toEqual(before);
  });

  it("each type's minimum role: readonly can start nothing; runs.purge (owner) is refused to operators and managers", async () => {
    const types = await call(app.baseUrl, 'GET', `/api/tenants/${OWN}/operation-types`, { token: tokens.readonly });
    expect(types.body.types.every((t: { canStart: boolean }) => t.canStart === false)).toBe(true);
    const asOperator = await call(app.baseUrl, 'GET', `/api/tenants/${OWN}/operation-types`, { token: tokens.operator });
    expect(asOperator.body.types).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ type: 'runs.purge', minRole: 'owner', canStart: false }),
        expect.objectContaining({ type: 'demo.batch', minRole: 'operator', canStart: true }),
      ]),
    );
    const before = await footprint();
    const purge = { type: 'runs.purge', scope: {} };
    for (const principal of ['readonly', 'operator', 'manager', 'integration'] as const) {
      expectError(await call(app.baseUrl, 'POST', `/api/tenants/${OWN}/runs`, { token: tokens[principal], body: purge }), 403, 'forbidden', `${principal} starts runs.purge`);
    }
    // Integration tokens start mirrored types only (docs/api.md §9).
    const batch = { type: 'demo.batch', scope: { items: 1, key: 'integration' } };
    expectError(await call(app.baseUrl, 'POST', `/api/tenants/${OWN}/runs`, { token: tokens.integration, body: batch }), 403, 'forbidden', 'integration starts demo.batch');
    expect(await footprint()).toEqual(before);
    const started = await call(app.baseUrl, 'POST', `/api/tenants/${OWN}/runs`, { token: tokens.owner, body: purge });
    expect(started.status, JSON.stringify(started.body)).toBe(202);
    expect(started.body.url).toBe(`/t/${OWN}/operations/${started.body.run.id}`);
  });
});

// Socket table -------------------------------------------------------------------------------------------------------

type Ack = { ok: true } | { ok: false; error: string };

/** Per handler: the ack a connected caller gets for a tenant. Connected callers are users and kiosks. */
const SOCKET_TABLE: Record<keyof typeof socketHandlers, (principal: Principal, tenant: Tenant) => Ack> = {
  // The same check as reading runs over HTTP: any member of the tenant, or a kiosk bound to it (the multi-tenant
  // one is bound to globex as well).
  subscribe: (principal, tenant) =>
    (tenant === OWN && (ROLE[principal] !== undefined || principal === 'kiosk')) || (principal === 'multiKiosk' && tenant !== UNKNOWN)
      ? { ok: true }
      : { ok: false, error: 'forbidden' },
  // Leaving a room needs no access: it can only reduce what a socket receives.
  unsubscribe: () => ({ ok: true }),
};
