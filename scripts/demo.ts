// The demo of `npm run demo`: demo tenants and users (idempotent), and a gentle stream of demo runs started
// through the HTTP API like any client would.
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
  { slug: 'acme', name: 'Acme Corp' },
  { slug: 'globex', name: 'Globex Corporation' },
];
export const DEMO_USERS: { email: string; name: string; tenant: string; role: Role }[] = [
  { email: 'owner@acme.test', name: 'Olivia Owner', tenant: 'acme', role: 'owner' },
  { email: 'manager@acme.test', name: 'Max Manager', tenant: 'acme', role: 'manager' },
  { email: 'operator@acme.test', name: 'Oscar Operator', tenant: 'acme', role: 'operator' },
  { email: 'readonly@acme.test', name: 'Rita Readonly', tenant: 'acme', role: 'readonly' },
  { email: 'owner@globex.test', name: 'Gloria Globex', tenant: 'globex', role: 'owner' },
];
export const DEMO_RUNNER = 'operator@acme.test';
/** The demo stream starts no new run while this many of the tenant's runs are queued or running. */
const DEMO_MAX_ACTIVE = 3;

/** Creates what is missing of the demo tenants and users; existing ones are kept. */
export async function seedDemo(config: Config & { databaseUrl: string }): Promise<void> {
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

/** A demo.batch scope (docs/api.md §7), mixing the outcomes; the key makes each identity unique. */
function demoScope(n: number): { scope: Record<string, unknown>; describe: string } {
  const key = `demo-${Date.now().toString(36)}-${n}`;
  const items = randomInt(12, 60);
  const itemMs = randomInt(60, 250);
  const roll = Math.random();
  if (roll < 0.5) return { scope: { items, itemMs, key }, describe: `${items} items` };
  if (roll < 0.75) {
    const failEvery = randomInt(4, 9);
    return { scope: { items, itemMs, failEvery, key }, describe: `${items} items, every ${failEvery}th fails` };
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

