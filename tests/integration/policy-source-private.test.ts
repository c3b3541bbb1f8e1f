import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PolicySourceService } from '../../db/sources/service.ts';
import { PolicySourceStore } from '../../db/sources/store.ts';
import { SourceError } from '../../db/sources/source.ts';
import { call, startApp, type RunningApp } from '../helpers/app.ts';
import { expectError } from '../helpers/instances.ts';
import { issueSession } from '../helpers/sessions.ts';
import { createTestEnv, seedTenant, type Seeded, type TestEnv } from '../helpers/stack.ts';

// docs/api.md §10 with the defaults of a production install: no ALLOW_PRIVATE_TARGETS, no SOURCE_CREDENTIALS_KEY.
// Private addresses are refused when a source is set (400) and again when it connects (the run fails).

describe('policy sources without ALLOW_PRIVATE_TARGETS or SOURCE_CREDENTIALS_KEY', () => {
  let env: TestEnv;
  let app: RunningApp;
  let acme: Seeded;
  let owner = '';
  let server: Server;
  let local = '';
  let hits = 0;

  const put = (body: unknown) => call(app.baseUrl, 'PUT', '/api/tenants/acme/policy-source', { token: owner, body });
  /** A service over the same database that may write what the API refuses (an install whose settings changed). */
  const permissive = (key?: Buffer) =>
    new PolicySourceService(new PolicySourceStore(env.services.orm), { allowPrivateTargets: true, sourceCredentialsKey: key, sourceTimeoutMs: 2_000 });

  beforeAll(async () => {
    env = await createTestEnv();
    expect(env.config.allowPrivateTargets).toBe(false);
    expect(env.config.sourceCredentialsKey).toBeUndefined();
    acme = await seedTenant(env.services, 'acme');
    app = await startApp(env);
    owner = await issueSession(env, acme.users.owner);
    server = createServer((_req, res) => {
      hits += 1;
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ value: [] }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    local = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    server?.closeAllConnections();
    await new Promise((resolve) => server?.close(resolve));
    await app?.close();
    await env?.cleanup();
  });

  it.each([
    () => `${local}/beta`,
    () => local.replace('127.0.0.1', 'localhost'),
    () => local.replace('127.0.0.1', '127.1'),
    () => local.replace('127.0.0.1', '2130706433'),
    () => 'http://[::1]/beta',
    () => 'http://[::ffff:127.0.0.1]/beta',
    () => 'http://169.254.169.254/metadata',
    () => 'http://10.1.2.3/graph',
    () => 'https://192.168.0.10/graph',
    () => 'http://[fd00::1]/graph',
    () => 'http://100.64.0.1/graph',
  ])('PUT refuses a private base URL with 400 at baseUrl (%#)', async (url) => {
    const answer = await put({ kind: 'graph', baseUrl: url(), collections: ['c'] });
    expectError(answer, 400, 'validation_failed', url());
    expect(answer.body.error.details).toEqual([{ path: 'baseUrl', message: expect.stringMatching(/^refused private address.*ALLOW_PRIVATE_TARGETS/) }]);
    expect(await env.services.sources.view(acme.tenant.id)).toBeNull();
  });

  it('a public base URL is accepted (names are checked again when connecting)', async () => {
    const answer = await put({ kind: 'graph', baseUrl: 'https://graph.example.com/beta', collections: ['deviceManagement/deviceConfigurations'] });
    expect(answer.status, JSON.stringify(answer.body)).toBe(200);
    expect(answer.body.source).toMatchObject({ kind: 'graph', hasCredential: false });
  });

  it('storing a credential without SOURCE_CREDENTIALS_KEY is refused with a message that names it', async () => {
    const before = await env.services.sources.view(acme.tenant.id);
    const answer = await put({ kind: 'graph', baseUrl: 'https://graph.example.com/beta', collections: ['c'], credential: { type: 'bearer', token: 'tok-123456' } });
    expectError(answer, 400, 'validation_failed', 'credential without key');
    expect(answer.body.error.message).toContain('SOURCE_CREDENTIALS_KEY');
    expect(answer.body.error.details).toEqual([{ path: 'credential', message: expect.stringContaining('SOURCE_CREDENTIALS_KEY') }]);
    expect(JSON.stringify(answer.body)).not.toContain('tok-123456');
    expect(await env.services.sources.view(acme.tenant.id)).toEqual(before);
  });

  it('a stored source on 127.0.0.1 is refused again when it connects: the run would fail source_unavailable', async () => {
    await permissive().set(acme.tenant.id, null, { kind: 'graph', baseUrl: `${local}/beta`, collections: ['c'] });
    const source = await env.services.sources.open(acme.tenant.id);
    const error = await (async () => {
      for await (const page of source.list()) void page;
    })().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SourceError);
    expect(error).toMatchObject({ code: 'source_unavailable', message: expect.stringContaining('refused private address') });
    await expect(source.get('x')).rejects.toMatchObject({ code: 'source_unavailable' });
    await expect(source.apply({ externalId: 'x', policyType: 't', name: 'n', settings: {} })).rejects.toMatchObject({ code: 'source_unavailable' });
    expect(hits).toBe(0);
  });

  it('a stored credential that cannot be decrypted (no key configured) fails with source_misconfigured', async () => {
    await permissive(randomBytes(32)).set(acme.tenant.id, null, { kind: 'graph', baseUrl: 'https://graph.example.com/beta', collections: ['c'], credential: { type: 'bearer', token: 'tok-abcdef' } });
    const error = await env.services.sources.open(acme.tenant.id).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'source_misconfigured', message: expect.stringContaining('SOURCE_CREDENTIALS_KEY') });
    expect((error as Error).message).not.toContain('tok-abcdef');
  });
});
