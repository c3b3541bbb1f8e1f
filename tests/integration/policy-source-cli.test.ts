import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/app.ts';
import { createTestEnv, seedTenant, type Seeded, type TestEnv } from '../helpers/stack.ts';

// `npm run admin -- source:set …` (docs/api.md §10): sets a tenant's policy source without the UI.

type Result = { code: number | null; stdout: string; stderr: string };

const TOKEN = 'cli-bearer-SECRET-7aa1';
const CLIENT_SECRET = 'cli-client-SECRET-31f0';

describe('admin CLI: source:set', () => {
  let env: TestEnv;
  let acme: Seeded;
  let dir: string;
  const key = randomBytes(32).toString('base64');

  beforeAll(async () => {
    env = await createTestEnv();
    acme = await seedTenant(env.services, 'acme');
    dir = mkdtempSync(join(tmpdir(), 'runboard-cli-'));
    writeFileSync(join(dir, 'bearer.token'), `${TOKEN}\n`);
    writeFileSync(join(dir, 'client.json'), JSON.stringify({ tokenUrl: 'http://127.0.0.1:9/token', clientId: 'app', clientSecret: CLIENT_SECRET }));
    writeFileSync(join(dir, 'broken.json'), `{ "clientSecret": "${CLIENT_SECRET}"`);
  });

  afterAll(async () => {
    rmSync(dir, { recursive: true, force: true });
    await env?.cleanup();
  });

  const admin = (args: string[], extraEnv: Record<string, string> = {}) =>
    new Promise<Result>((resolve, reject) => {
      const child = spawn(process.execPath, ['--import', 'tsx', 'db/admin/cli.ts', ...args], {
        cwd: ROOT,
        env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env.env, ...extraEnv },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      const out: string[] = [];
      const err: string[] = [];
      child.stdout.on('data', (chunk: Buffer) => out.push(chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => err.push(chunk.toString()));
      const timer = setTimeout(() => reject(new Error(`admin ${args.join(' ')} did not finish`)), 60_000);
      child.once('exit', (code) => {
        clearTimeout(timer);
        const result = { code, stdout: out.join(''), stderr: err.join('') };
        for (const secret of [TOKEN, CLIENT_SECRET]) expect(result.stdout + result.stderr).not.toContain(secret);
        resolve(result);
      });
    });

  const oneLine = (result: Result) => {
    expect(result.stderr.trim().split('\n').filter(Boolean).length).toBeLessThanOrEqual(2);
    expect(result.stderr).not.toMatch(/\n\s+at |node_modules|\.ts:\d+/);
  };

  it('sets a simulated source with --policies and --revision', async () => {
    const result = await admin(['source:set', 'acme', 'simulated', '--policies', '120', '--revision', '3']);
    expect(result, result.stderr).toMatchObject({ code: 0, stdout: expect.stringContaining('simulated, 120 policies, revision 3') });
    expect((await env.services.sources.view(acme.tenant.id))!.simulated).toMatchObject({ policies: 120, revision: 3 });
  });

  it('sets a graph source with a bearer token file, and with a JSON client-credentials file', async () => {
    const allow = { SOURCE_CREDENTIALS_KEY: key, ALLOW_PRIVATE_TARGETS: 'true' };
    const bearer = await admin(['source:set', 'acme', 'graph', '--url', 'http://127.0.0.1:9/beta', '--collections', 'deviceManagement/deviceConfigurations, deviceManagement/deviceCompliancePolicies', '--credential-file', join(dir, 'bearer.token')], allow);
    expect(bearer, bearer.stderr).toMatchObject({ code: 0, stdout: expect.stringContaining('with a stored credential') });
    expect(await env.services.sources.view(acme.tenant.id)).toMatchObject({
      kind: 'graph',
      baseUrl: 'http://127.0.0.1:9/beta',
      collections: ['deviceManagement/deviceConfigurations', 'deviceManagement/deviceCompliancePolicies'],
      hasCredential: true,
    });
    const client = await admin(['source:set', 'acme', 'graph', '--url', 'http://127.0.0.1:9/beta', '--collections', 'c', '--credential-file', join(dir, 'client.json')], allow);
    expect(client, client.stderr).toMatchObject({ code: 0 });
  });

  it.each([
    { args: ['source:set', 'acme'], code: 2 },
    { args: ['source:set', 'acme', 'ldap'], code: 2 },
    { args: ['source:set', 'acme', 'graph', '--url', 'https://graph.example.com'], code: 2 },
    { args: ['source:set', 'acme', 'simulated', '--url', 'https://graph.example.com'], code: 2 },
    { args: ['source:set', 'acme', 'simulated', '--policies', 'lots'], code: 2 },
    { args: ['source:set', 'acme', 'simulated', '--password', 'x'], code: 2 },
    { args: ['source:set', 'nope', 'simulated'], code: 1 },
    { args: ['source:set', 'acme', 'simulated', '--policies', '0'], code: 1, says: 'simulated.policies' },
    { args: ['source:set', 'acme', 'graph', '--url', 'http://127.0.0.1:9/beta', '--collections', 'c'], code: 1, says: 'ALLOW_PRIVATE_TARGETS' },
    { args: ['source:set', 'acme', 'graph', '--url', 'https://graph.example.com', '--collections', 'c', '--credential-file', '/nonexistent/file'], code: 1, says: 'ENOENT' },
    { args: ['source:set', 'acme', 'graph', '--url', 'https://graph.example.com', '--collections', 'c', '--credential-file', '{dir}/bearer.token'], code: 1, says: 'SOURCE_CREDENTIALS_KEY' },
    { args: ['source:set', 'acme', 'graph', '--url', 'https://graph.example.com', '--collections', 'c', '--credential-file', '{dir}/broken.json'], code: 1, says: 'not valid JSON' },
  ])('refuses $args with exit $code and one clear line', async ({ args, code, says }) => {
    const result = await admin(args.map((a) => a.replace('{dir}', dir)));
    expect(result.code, result.stderr).toBe(code);
    oneLine(result);
    if (says) expect(result.stderr).toContain(says);
  });

  it('lists source:set in the help', async () => {
    const help = await admin(['help']);
    expect(help.stdout).toContain('source:set <tenant> simulated');
    expect(help.stdout).toContain('source:set <tenant> graph --url');
  });
});
