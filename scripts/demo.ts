// The demo of `npm run demo`: demo tenants and users with simulated policy sources (idempotent), and a gentle
// stream of work started through the HTTP API like any client would: demo batches, and now and then the policy
// operations (inventory syncs, the source moving on a revision, drift generations, backups).
import { setTimeout as sleep } from 'node:timers/promises';
import type { Role } from '../db/access/roles.ts';
import { hashPassword } from '../db/auth/passwords.ts';
import type { Config } from '../db/config.ts';
import { AppError } from '../db/errors.ts';
import { createLogger } from '../db/logger.ts';
import { createOrm } from '../db/orm.ts';
import { createServices } from '../db/services.ts';

export const DEMO_PASSWORD = 'runboard-demo';
const DEMO_TENANTS = [
  { slug: 'acme', name: 'Acme Corp', policies: 40, owner: 'owner@acme.test', operator: 'operator@acme.test' },
  { slug: 'globex', name: 'Globex Corporation', policies: 24, owner: 'owner@globex.test', operator: 'owner@globex.test' },
];
export const DEMO_USERS: { email: string; name: string; tenant: string; role: Role }[] = [
  { email: 'owner@acme.test', name: 'Olivia Owner', tenant: 'acme', role: 'owner' },
  { email: 'manager@acme.test', name: 'Max Manager', tenant: 'acme', role: 'manager' },
  { email: 'operator@acme.test', name: 'Oscar Operator', tenant: 'acme', role: 'operator' },
  { email: 'readonly@acme.test', name: 'Rita Readonly', tenant: 'acme', role: 'readonly' },
  { email: 'owner@globex.test', name: 'Gloria Globex', tenant: 'globex', role: 'owner' },
  // A NOC engineer who looks after both tenants (docs/api.md §12): the overview shows both; the demo's
  // multi-tenant wall token is theirs.
  { email: 'noc@example.test', name: 'Nora NOC', tenant: 'acme', role: 'manager' },
  { email: 'noc@example.test', name: 'Nora NOC', tenant: 'globex', role: 'manager' },
];
export const DEMO_RUNNER = 'operator@acme.test';
/** The demo stream starts no new run while this many of the tenant's runs are queued or running. */
const DEMO_MAX_ACTIVE = 3;

/**
 * Creates what is missing of the demo tenants and users; existing ones are kept. With `webhookUrl`, acme gets a
 * webhook for its failed and partially succeeded runs there (replacing the one of an earlier demo); its
 * signing secret is returned.
 */
export async function seedDemo(
  config: Config & { databaseUrl: string },
  options: { webhookUrl?: string } = {},
): Promise<{ webhookSecret: string | null; wallToken: string }> {
  const orm = await createOrm({ databaseUrl: config.databaseUrl, poolMax: 2 });
  const services = await createServices(config, orm, createLogger('silent'), { isWorker: false });
  try {
    for (const tenant of DEMO_TENANTS) {
      if (!(await services.tenants.findTenant(tenant.slug))) await services.tenants.createTenant(tenant.slug, tenant.name);
    }
    const passwordHash = await hashPassword(DEMO_PASSWORD);
    for (const user of DEMO_USERS) {
      try {
        await services.tenants.createUser({ email: user.email, name: user.name, passwordHash });
      } catch (error) {
        if (!(error instanceof AppError && error.status === 409)) throw error;
      }
      // Upsert: the demo promises one user of each role, whatever happened to the memberships since.
      await services.tenants.addMember(user.tenant, user.email, user.role);
    }
    // A simulated policy source per tenant, unless an owner has set one meanwhile.
    for (const { slug, policies } of DEMO_TENANTS) {
      const tenant = await services.tenants.findTenant(slug);
      if (tenant && !(await services.sources.view(tenant.id))) await services.sources.setSimulated(tenant.id, { policies });
    }
    // A kiosk token for a wall of both tenants, as Nora would make one (a new one per demo start).
    const tenantIds = await Promise.all(DEMO_TENANTS.map(async ({ slug }) => (await services.tenants.findTenant(slug))!.id));
    const nora = await services.tenants.memberId(tenantIds[0]!, 'noc@example.test');
    const { token: wallToken } = await services.auth.createKioskToken(tenantIds, 'NOC wall (demo)', nora);
    if (!options.webhookUrl) return { webhookSecret: null, wallToken };
    const acme = (await services.tenants.findTenant('acme'))!;
    const receiverPath = new URL(options.webhookUrl).pathname;
    for (const webhook of await services.webhooks.list(acme.id)) {
      if (new URL(webhook.url).pathname === receiverPath) await services.webhooks.delete(acme.id, webhook.id);
    }
    const created = await services.webhooks.create(acme.id, null, {
      url: options.webhookUrl,
      events: ['run.completed'],
      outcomes: ['failed', 'partially_succeeded'],
    });
    return { webhookSecret: created.secret, wallToken };
  } finally {
    await services.close();
    await orm.close();
  }
}

class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

async function api<T>(baseUrl: string, method: string, route: string, options: { token?: string; body?: unknown; signal: AbortSignal }): Promise<T> {
  const response = await fetch(`${baseUrl}${route}`, {
    method,
    headers: {
      ...(options.body !== undefined ? { 'content-type': 'application/json' } : {}),
      ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
    },
    body: options.body !== undefined ? JSON.stringify(options.body) : null,
    signal: AbortSignal.any([options.signal, AbortSignal.timeout(10_000)]),
  });
  const body = (await response.json().catch(() => ({}))) as T & { error?: { message?: string } };
  if (!response.ok) throw new ApiError(response.status, body.error?.message ?? `HTTP ${response.status}`);
  return body;
}

const randomInt = (min: number, max: number) => min + Math.floor(Math.random() * (max - min + 1));

/** Item failures of the demo's partial runs: a few reasons, so "Top reasons" has something to rank. */
const ITEM_FAILURES: [string, string][] = [
  ['item_failed', 'The item could not be processed.'],
  ['throttled', 'The policy service throttled the request (HTTP 429); retry later.'],
  ['permission_denied', 'The service account may not change this policy.'],
  ['policy_conflict', 'The policy was changed by someone else meanwhile.'],
];

/** A demo.batch scope (docs/api.md §7), mixing the outcomes; the key makes each identity unique. */
function demoScope(n: number): { scope: Record<string, unknown>; describe: string } {
  const key = `demo-${Date.now().toString(36)}-${n}`;
  const items = randomInt(12, 60);
  const itemMs = randomInt(60, 250);
  const roll = Math.random();
  if (roll < 0.44) return { scope: { items, itemMs, key }, describe: `${items} items` };
  // Now and then a run that takes far longer than usual: the board and the wall call it "slower than usual".
  if (roll < 0.5) return { scope: { items: 60, itemMs: 900, key }, describe: '60 slow items' };
  if (roll < 0.75) {
    const failEvery = randomInt(4, 9);
    const [failCode, failMessage] = ITEM_FAILURES[randomInt(0, ITEM_FAILURES.length - 1)]!;
    return { scope: { items, itemMs, failEvery, failCode, failMessage, key }, describe: `${items} items, every ${failEvery}th fails (${failCode})` };
  }
  if (roll < 0.9) {
    return {
      scope: {
        items: randomInt(5, 15),
        itemMs,
        failEvery: 1,
        failCode: 'upstream_unavailable',
        failMessage: 'The inventory service did not answer (HTTP 503).',
        key,
      },
      describe: 'every item fails',
    };
  }
  return { scope: { items: randomInt(5, 20), abort: true, key }, describe: 'aborts' };
}

/** Every 3-8 s, a demo.batch run through the HTTP API as the demo operator, while few runs are active. */
export async function demoStream(
  baseUrl: string,
  signal: AbortSignal,
  log: { say: (line: string) => void; complain: (line: string) => void },
): Promise<void> {
  const { say, complain } = log;
  let token: string | undefined;
  let lastProblem = '';
  for (let n = 1; !signal.aborted; ) {
    try {
      await sleep(randomInt(3_000, 8_000), undefined, { signal });
      token ??= (
        await api<{ token: string }>(baseUrl, 'POST', '/api/auth/login', {
          body: { email: DEMO_RUNNER, password: DEMO_PASSWORD },
          signal,
        })
      ).token;
      const active = await api<{ runs: unknown[] }>(baseUrl, 'GET', '/api/tenants/acme/runs?bucket=queued&bucket=running&limit=50', {
        token,
        signal,
      });
      if (active.runs.length >= DEMO_MAX_ACTIVE) continue;
      const { scope, describe } = demoScope(n++);
      const started = await api<{ run: { id: string }; url: string }>(baseUrl, 'POST', '/api/tenants/acme/runs', {
        token,
        body: { type: 'demo.batch', scope },
        signal,
      });
      say(`demo run started (${describe}): ${started.url}`);
      lastProblem = '';
    } catch (error) {
      if (signal.aborted) return;
      if (error instanceof ApiError && error.status === 401) token = undefined;
      const problem = (error as Error).message;
      // Once per distinct problem, not every few seconds.
      if (problem !== lastProblem) complain(`demo run could not start: ${problem}`);
      lastProblem = problem;
    }
  }
}


type DemoTenant = (typeof DEMO_TENANTS)[number];
type Log = { say: (line: string) => void; complain: (line: string) => void };
type RunAnswer = { run: { id: string; status: string; outcome: string }; url: string };

/** Signs in once per user and keeps the token (signing in again after a 401). */
class Sessions {
  readonly #tokens = new Map<string, string>();
  constructor(
    private readonly baseUrl: string,
    private readonly signal: AbortSignal,
  ) {}

  async call<T>(email: string, method: string, route: string, body?: unknown): Promise<T> {
    let token = this.#tokens.get(email);
    if (!token) {
      const login = await api<{ token: string }>(this.baseUrl, 'POST', '/api/auth/login', { body: { email, password: DEMO_PASSWORD }, signal: this.signal });
      token = login.token;
      this.#tokens.set(email, token);
    }
    try {
      return await api<T>(this.baseUrl, method, route, { token, body, signal: this.signal });
    } catch (error) {
      if (error instanceof ApiError && error.status === 401) this.#tokens.delete(email);
      throw error;
    }
  }
}

/** Starts a run as `email` and waits (bounded) until it has completed; the demo client reads its state over HTTP. */
async function runToEnd(sessions: Sessions, email: string, tenant: string, type: string, scope: Record<string, unknown>, signal: AbortSignal): Promise<RunAnswer> {
  const started = await sessions.call<RunAnswer>(email, 'POST', `/api/tenants/${tenant}/runs`, { type, scope });
  for (let waited = 0; started.run.status !== 'completed' && waited < 120_000; waited += 500) {
    await sleep(500, undefined, { signal });
    const { run } = await sessions.call<RunAnswer>(email, 'GET', `/api/tenants/${tenant}/runs/${started.run.id}`);
    if (run.status === 'completed') return { ...started, run };
  }
  return started;
}

/** The simulated source moves on one revision: a policy added, one removed, two changed (so drift appears). */
async function moveRevision(sessions: Sessions, tenant: DemoTenant): Promise<number> {
  const { source } = await sessions.call<{ source: { kind: string; simulated?: Record<string, unknown> & { revision?: number } } | null }>(
    tenant.owner, 'GET', `/api/tenants/${tenant.slug}/policy-source`);
  if (source?.kind !== 'simulated') return -1;
  const revision = (source.simulated?.revision ?? 0) + 1;
  await sessions.call(tenant.owner, 'PUT', `/api/tenants/${tenant.slug}/policy-source`, { kind: 'simulated', simulated: { ...source.simulated, revision } });
  return revision;
}

/** Sync, move the source on, sync again and generate drift: the Inventory and Drift pages have data at once. */
async function warmUp(sessions: Sessions, tenant: DemoTenant, signal: AbortSignal, { say }: Log): Promise<void> {
  const syncs = await sessions.call<{ runs: unknown[] }>(tenant.operator, 'GET', `/api/tenants/${tenant.slug}/runs?type=inventory.sync&bucket=succeeded&bucket=partially_succeeded&limit=2`);
  if (syncs.runs.length < 2) {
    await runToEnd(sessions, tenant.operator, tenant.slug, 'inventory.sync', {}, signal);
    await moveRevision(sessions, tenant);
    await runToEnd(sessions, tenant.operator, tenant.slug, 'inventory.sync', {}, signal);
    const drift = await runToEnd(sessions, tenant.operator, tenant.slug, 'drift.generate', {}, signal);
    say(`${tenant.slug}: inventory synced twice and drift generated: ${drift.url}`);
  }
  const sets = await sessions.call<{ backupSets: { id: string; itemCount: number }[] }>(tenant.operator, 'GET', `/api/tenants/${tenant.slug}/backup-sets`);
  if (sets.backupSets.length === 0) {
    const { backupSet } = await sessions.call<{ backupSet: { id: string } }>(tenant.operator, 'POST', `/api/tenants/${tenant.slug}/backup-sets`, { name: 'Weekly baseline' });
    await backUp(sessions, tenant, backupSet.id, signal);
    say(`${tenant.slug}: backup set "Weekly baseline" created with the first policies of the inventory`);
  }
}

/** Captures the first dozen policies of the inventory into the set (unchanged ones are skipped by the run). */
async function backUp(sessions: Sessions, tenant: DemoTenant, backupSetId: string, signal: AbortSignal): Promise<void> {
  const inventory = await sessions.call<{ policies: { externalId: string }[] }>(tenant.operator, 'GET', `/api/tenants/${tenant.slug}/inventory?limit=12`);
  const policyIds = inventory.policies.map((p) => p.externalId);
  if (policyIds.length > 0) await runToEnd(sessions, tenant.operator, tenant.slug, 'backup_set.add_policies', { backupSetId, policyIds }, signal);
}

/** One step of policy work, in turn: a sync; the source moving on with a sync and drift; a backup. */
async function policyStep(sessions: Sessions, tenant: DemoTenant, step: number, signal: AbortSignal, { say }: Log): Promise<void> {
  switch (step % 3) {
    case 0: {
      const sync = await runToEnd(sessions, tenant.operator, tenant.slug, 'inventory.sync', {}, signal);
      say(`${tenant.slug}: inventory sync ${sync.run.outcome}: ${sync.url}`);
      return;
    }
    case 1: {
      const revision = await moveRevision(sessions, tenant);
      await runToEnd(sessions, tenant.operator, tenant.slug, 'inventory.sync', {}, signal);
      const drift = await runToEnd(sessions, tenant.operator, tenant.slug, 'drift.generate', {}, signal);
      say(`${tenant.slug}: the policy source moved to revision ${revision}; drift generated: ${drift.url}`);
      return;
    }
    default: {
      const sets = await sessions.call<{ backupSets: { id: string }[] }>(tenant.operator, 'GET', `/api/tenants/${tenant.slug}/backup-sets`);
      if (sets.backupSets[0]) await backUp(sessions, tenant, sets.backupSets[0].id, signal);
    }
  }
}

/**
 * The policy operations of the demo: a warm-up (two syncs, drift, a backup set) so every page has data within a
 * minute, then a step every 45-90 s per tenant in turn.
 */
export async function demoPolicyWork(baseUrl: string, signal: AbortSignal, log: Log): Promise<void> {
  const sessions = new Sessions(baseUrl, signal);
  let lastProblem = '';
  const attempt = async (work: () => Promise<void>) => {
    try {
      await work();
      lastProblem = '';
    } catch (error) {
      if (signal.aborted) return;
      const problem = (error as Error).message;
      if (problem !== lastProblem) log.complain(`demo policy work: ${problem}`);
      lastProblem = problem;
    }
  };
  for (const tenant of DEMO_TENANTS) await attempt(() => warmUp(sessions, tenant, signal, log));
  for (let step = 0; !signal.aborted; step++) {
    await sleep(randomInt(45_000, 90_000), undefined, { signal }).catch(() => undefined);
    if (signal.aborted) return;
    const tenant = DEMO_TENANTS[step % DEMO_TENANTS.length]!;
    await attempt(() => policyStep(sessions, tenant, Math.floor(step / DEMO_TENANTS.length), signal, log));
  }
}
