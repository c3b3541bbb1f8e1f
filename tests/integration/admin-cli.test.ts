import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, login, ROOT, startApp, type RunningApp } from '../helpers/app.ts';
import { createTestEnv, type TestEnv } from '../helpers/stack.ts';

type Result = { code: number | null; stdout: string; stderr: string };

describe('admin CLI', () => {
  let env: TestEnv;
  let app: RunningApp;

  beforeAll(async () => {
    env = await createTestEnv();
    app = await startApp(env);
  });

  afterAll(async () => {
    await app?.close();
    await env?.cleanup();
  });

  const admin = (...args: string[]) =>
    new Promise<Result>((resolve, reject) => {
      const child = spawn(process.execPath, ['--import', 'tsx', 'db/admin/cli.ts', ...args], {
        cwd: ROOT,
        env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env.env },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      const out: string[] = [];
      const err: string[] = [];
      child.stdout.on('data', (chunk: Buffer) => out.push(chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => err.push(chunk.toString()));
      const timer = setTimeout(() => reject(new Error(`admin ${args.join(' ')} did not finish`)), 60_000);
      child.once('exit', (code) => {
        clearTimeout(timer);
        resolve({ code, stdout: out.join(''), stderr: err.join('') });
      });
    });

  const oneLineError = (result: Result) => {
    const lines = result.stderr.trim().split('\n').filter(Boolean);
    expect(lines.length).toBeLessThanOrEqual(2); // the message, and at most the usage hint
    expect(result.stderr).not.toMatch(/\n\s+at |node_modules|\.ts:\d+/);
  };

  it('creates a tenant, a user, a membership and a kiosk token that works', async () => {
    expect(await admin('db:migrate')).toMatchObject({ code: 0, stdout: expect.stringContaining('up to date') });
    expect(await admin('tenant:create', 'initech', 'Initech LLC')).toMatchObject({ code: 0 });
    expect(await admin('user:create', 'peter@initech.test', '--password', 'tps-reports-2026', '--name', 'Peter Gibbons')).toMatchObject({ code: 0 });
    expect(await admin('member:add', 'initech', 'peter@initech.test', 'operator')).toMatchObject({ code: 0 });

    const token = await login(app.baseUrl, 'peter@initech.test', 'tps-reports-2026');
    const me = await call(app.baseUrl, 'GET', '/api/me', { token });
    expect(me.body.memberships).toEqual([{ tenant: { slug: 'initech', name: 'Initech LLC' }, role: 'operator' }]);

    const kiosk = await admin('kiosk:create', 'initech', 'NOC wall 1');
    expect(kiosk.code).toBe(0);
    const printed = kiosk.stdout.split('\n').find((l) => /^rbk_/.test(l.trim()))?.trim();
    expect(printed).toBeDefined();
    expect((await call(app.baseUrl, 'GET', '/api/tenants/initech/runs', { token: printed })).status).toBe(200);
    expect((await call(app.baseUrl, 'GET', '/api/notifications', { token: printed })).status).toBe(403);

    expect(await admin('member:remove', 'initech', 'peter@initech.test')).toMatchObject({ code: 0 });
    expect((await call(app.baseUrl, 'GET', '/api/tenants/initech/runs', { token })).status).toBe(403);
  }, 90_000); // seven CLI processes, each starting Node and connecting: bounded, but past 30 s on a busy machine

  it('creates a kiosk token for several tenants (docs/api.md §12) that reads each of them and no other', async () => {
    expect(await admin('tenant:create', 'initrode', 'Initrode')).toMatchObject({ code: 0 });
    const kiosk = await admin('kiosk:create', 'initech, initrode,initech', 'NOC wall');
    expect(kiosk.code, kiosk.stderr).toBe(0);
    expect(kiosk.stdout).toContain('for initech, initrode');
    expect(kiosk.stdout).toContain('/wall?kiosk=<token>');
    const printed = kiosk.stdout.split('\n').filter((l) => /^rbk_/.test(l.trim()));
    expect(printed).toHaveLength(1);
    for (const tenant of ['initech', 'initrode']) expect((await call(app.baseUrl, 'GET', `/api/tenants/${tenant}/runs`, { token: printed[0]!.trim() })).status).toBe(200);
    expect((await call(app.baseUrl, 'GET', '/api/tenants/umbrella/runs', { token: printed[0]!.trim() })).status).toBe(403);
  }, 60_000);

  it('an unknown tenant among several is one line, exit 1, and no token', async () => {
    const count = async () => Number((await env.services.orm.em.fork().execute<{ n: string }[]>(`select count(*) as n from auth_tokens where kind = 'kiosk'`))[0]?.n);
    const before = await count();
    const result = await admin('kiosk:create', 'initech,no-such-tenant', 'NOC wall');
    expect(result.code).toBe(1);
    expect(result.stderr.trim()).toBe('Tenant "no-such-tenant" was not found.');
    oneLineError(result);
    expect(await count()).toBe(before);
  }, 30_000);

  it.each([
    { args: [], code: 2 },
    { args: ['nope:nope'], code: 2 },
    { args: ['tenant:create'], code: 2 },
    { args: ['tenant:create', 'Bad Slug!', 'x'], code: 1 },
    { args: ['member:add', 'initech', 'peter@initech.test', 'emperor'], code: 2 },
    { args: ['member:add', 'no-such-tenant', 'peter@initech.test', 'operator'], code: 1 },
    { args: ['user:create', 'short@initech.test', '--password', 'x', '--name', 'Short'], code: 1 },
    { args: ['kiosk:create', 'initech', ''], code: 2 },
    { args: ['kiosk:create', ',', 'NOC wall'], code: 2 },
    { args: ['kiosk:create', Array.from({ length: 51 }, (_, i) => `t${i}`).join(','), 'NOC wall'], code: 2 },
    { args: ['kiosk:create', 'initech,initrode'], code: 2 },
  ])('refuses $args with exit $code and one clear line', async ({ args, code }) => {
    const result = await admin(...args);
    expect(result.code).toBe(code);
    oneLineError(result);
  });

  it('a duplicate tenant is one line and exit 1', async () => {
    await admin('tenant:create', 'umbrella', 'Umbrella');
    const again = await admin('tenant:create', 'umbrella', 'Umbrella');
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('already exists');
    oneLineError(again);
  });
});
