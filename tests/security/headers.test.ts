import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { request as httpRequest, type IncomingMessage, type Server } from 'node:http';
import { createServer as createHttpsServer, request as httpsRequest } from 'node:https';
import { connect, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import express from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Config } from '../../db/config.ts';
import { createLogger } from '../../db/logger.ts';
import { createApp } from '../../server/app.ts';
import { DASHBOARD_BUILD_DIR, dashboardHandler } from '../../server/http/dashboard.ts';
import { HSTS_MAX_AGE_SECONDS, securityHeaders } from '../../server/http/security.ts';
import { login, startApp, type RunningApp } from '../helpers/app.ts';
import { createTestEnv, seedTenant, type TestEnv } from '../helpers/stack.ts';

// Security headers on every answer, pages and API alike (docs/api.md §13): one Content-Security-Policy per
// answer (SvelteKit's nonce policy on pages, `default-src 'none'` on everything else), nosniff, framing refused
// or limited to FRAME_ANCESTORS, and HSTS only for requests that came over HTTPS. Raw HTTP so that duplicate
// headers are seen as such (fetch would join them).

type Raw = { status: number; headers: [string, string][]; body: string };

const EMBEDDER = 'https://grafana.example.com';
const LOCAL_EMBEDDER = 'http://127.0.0.1:3999';

function rawRequest(url: string, options: { method?: string; headers?: Record<string, string>; body?: string; ca?: string } = {}): Promise<Raw> {
  const send = url.startsWith('https:') ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = send(url, { method: options.method ?? 'GET', headers: options.headers, agent: false, timeout: 10_000, ca: options.ca }, (res: IncomingMessage) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        const pairs: [string, string][] = [];
        for (let i = 0; i < res.rawHeaders.length; i += 2) pairs.push([res.rawHeaders[i]!.toLowerCase(), res.rawHeaders[i + 1]!]);
        resolve({ status: res.statusCode ?? 0, headers: pairs, body: Buffer.concat(chunks).toString() });
      });
    });
    req.on('timeout', () => req.destroy(new Error(`no answer from ${url}`)));
    req.on('error', reject);
    req.end(options.body);
  });
}

/** A request Node cannot parse (a 17 KB header): the answer comes straight off the socket, headers and all. */
function oversizedHeadRequest(baseUrl: string): Promise<Raw> {
  const { port } = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.setTimeout(10_000, () => socket.destroy(new Error('no answer to the oversized request')));
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', reject);
    socket.on('close', () => {
      const [head = '', body = ''] = Buffer.concat(chunks).toString().split('\r\n\r\n');
      const [statusLine = '', ...lines] = head.split('\r\n');
      resolve({
        status: Number(statusLine.split(' ')[1]),
        headers: lines.map((line) => [line.slice(0, line.indexOf(':')).toLowerCase(), line.slice(line.indexOf(':') + 1).trim()]),
        body,
      });
    });
    socket.write(`GET /api/me HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Padding: ${'a'.repeat(17 * 1024)}\r\n\r\n`);
  });
}

const all = (raw: Raw, name: string) => raw.headers.filter(([n]) => n === name).map(([, v]) => v);

/** The one Content-Security-Policy of an answer, as directive → sources. Fails on none, two, or two in one. */
function policyOf(raw: Raw, what: string): Map<string, string[]> {
  const values = all(raw, 'content-security-policy');
  expect(values, `${what}: exactly one Content-Security-Policy header`).toHaveLength(1);
  expect(values[0], `${what}: one policy (a comma would start a second)`).not.toContain(',');
  expect(all(raw, 'content-security-policy-report-only'), what).toEqual([]);
  const directives = new Map<string, string[]>();
  for (const part of values[0]!.split(';')) {
    const [name, ...sources] = part.trim().split(/\s+/);
    if (!name) continue;
    expect(directives.has(name), `${what}: ${name} given twice`).toBe(false);
    directives.set(name.toLowerCase(), sources);
  }
  return directives;
}

type Expected = { page: boolean; ancestors: readonly string[]; frameOptions: string | null; hsts: boolean };

/** What every answer must carry; `page` answers carry SvelteKit's nonce policy, the rest the default one. */
function expectSecurityHeaders(raw: Raw, what: string, expected: Expected): void {
  const policy = policyOf(raw, what);
  expect(policy.get('frame-ancestors'), `${what}: frame-ancestors`).toEqual(expected.ancestors);
  if (expected.page) {
    expect(policy.get('default-src'), what).toEqual(["'self'"]);
    expect(policy.get('script-src')?.some((s) => /^'nonce-[A-Za-z0-9+/=]{16,}'$/.test(s)), `${what}: script nonce`).toBe(true);
    expect(policy.get('object-src'), what).toEqual(["'none'"]);
    expect(policy.get('base-uri'), what).toEqual(["'self'"]);
  } else {
    expect([...policy.keys()].sort(), `${what}: only default-src and frame-ancestors`).toEqual(['default-src', 'frame-ancestors']);
    expect(policy.get('default-src'), what).toEqual(["'none'"]);
  }
  expect(all(raw, 'x-content-type-options'), what).toEqual(['nosniff']);
  expect(all(raw, 'x-frame-options'), `${what}: X-Frame-Options`).toEqual(expected.frameOptions ? [expected.frameOptions] : []);
  expect(all(raw, 'referrer-policy'), what).toEqual(['same-origin']);
  expect(all(raw, 'cross-origin-opener-policy'), what).toEqual(['same-origin']);
  expect(all(raw, 'cross-origin-resource-policy'), what).toEqual(['same-origin']);
  expect(all(raw, 'strict-transport-security'), `${what}: HSTS`).toEqual(expected.hsts ? [`max-age=${HSTS_MAX_AGE_SECONDS}`] : []);
  expect(all(raw, 'x-powered-by'), what).toEqual([]);
}

const DENY: Omit<Expected, 'page'> = { ancestors: ["'none'"], frameOptions: 'DENY', hsts: false };

function firstFile(dir: string, extension: string): string {
  const name = readdirSync(path.join(DASHBOARD_BUILD_DIR, 'client', dir)).find((file) => file.endsWith(extension));
  if (!name) throw new Error(`no ${extension} file in the build's ${dir}`);
  return `/${dir}/${name}`;
}

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return String((server.address() as AddressInfo).port);
}

describe('security headers', () => {
  let env: TestEnv;
  let app: RunningApp;
  let operator: string;
  let kiosk: string;
  const started: RunningApp[] = [];

  /** The same services behind another app with other settings: what a deployment configured so would serve. */
  async function startConfigured(overrides: Partial<Config>): Promise<RunningApp> {
    const configured = createApp({ ...env.services, config: { ...env.config, ...overrides } });
    await configured.ready;
    const port = await listen(configured.httpServer);
    const running = { ...configured, baseUrl: `http://127.0.0.1:${port}` };
    started.push(running);
    return running;
  }

  beforeAll(async () => {
    if (!existsSync(path.join(DASHBOARD_BUILD_DIR, 'handler.js'))) throw new Error('The dashboard is not built: run `npm run build` first.');
    env = await createTestEnv();
    await seedTenant(env.services, 'acme');
    app = await startApp(env);
    operator = await login(app.baseUrl, 'operator@acme.test');
    const manager = await login(app.baseUrl, 'manager@acme.test');
    const created = await rawRequest(`${app.baseUrl}/api/tenants/acme/kiosk-tokens`, {
      method: 'POST',
      headers: { authorization: `Bearer ${manager}`, 'content-type': 'application/json' },
      body: JSON.stringify({ label: 'headers wall' }),
    });
    kiosk = (JSON.parse(created.body) as { token: string }).token;
  });

  afterAll(async () => {
    await Promise.all(started.map((s) => s.close()));
    await app?.close();
    await env?.cleanup();
  });

  /** A representative answer of every kind the server gives: JSON, each error, metrics, pages, files, Socket.IO's. */
  const answers = () => {
    const bearer = { authorization: `Bearer ${operator}` };
    const json = { ...bearer, 'content-type': 'application/json' };
    return [
      { what: 'JSON 200 (/api/me)', path: '/api/me', headers: bearer, status: 200, page: false },
      { what: '400 malformed JSON', path: '/api/tenants/acme/runs', method: 'POST', headers: json, body: '{"type":', status: 400, page: false },
      { what: '400 invalid body', path: '/api/tenants/acme/runs', method: 'POST', headers: json, body: '{"type":"demo.batch","scope":{"items":-1}}', status: 400, page: false },
      { what: '401 without a token', path: '/api/me', status: 401, page: false },
      { what: '403 another tenant', path: '/api/tenants/globex/runs', headers: bearer, status: 403, page: false },
      { what: '404 unknown run', path: '/api/tenants/acme/runs/00000000-0000-4000-8000-000000000000', headers: bearer, status: 404, page: false },
      { what: '404 unknown /api path', path: '/api/no-such-endpoint', headers: bearer, status: 404, page: false },
      { what: '/healthz', path: '/healthz', status: 200, page: false },
      { what: '/readyz', path: '/readyz', status: 200, page: false },
      { what: '/metrics', path: '/metrics', status: 200, page: false },
      { what: 'page /', path: '/', status: 200, page: true },
      { what: 'page /login', path: '/login', status: 200, page: true },
      { what: 'page /t/acme/operations', path: '/t/acme/operations', status: 200, page: true },
      { what: 'page /t/acme/wall (kiosk link)', path: `/t/acme/wall?kiosk=${kiosk}`, status: 200, page: true },
      { what: 'page 404', path: '/no-such-page', status: 404, page: true },
      { what: 'script under /_app/', path: firstFile('_app/immutable/entry', '.js'), status: 200, page: false },
      { what: 'stylesheet under /_app/', path: firstFile('_app/immutable/assets', '.css'), status: 200, page: false },
      { what: 'static file (favicon)', path: '/favicon.svg', status: 200, page: false },
      // WebSocket only by default: Socket.IO itself refuses the polling transport.
      { what: 'Socket.IO polling refused', path: '/socket.io/?EIO=4&transport=polling', status: 400, page: false },
    ];
  };

  async function expectAll(baseUrl: string, expected: Omit<Expected, 'page'>, extraHeaders: Record<string, string> = {}) {
    for (const answer of answers()) {
      const raw = await rawRequest(`${baseUrl}${answer.path}`, { method: answer.method, headers: { ...answer.headers, ...extraHeaders }, body: answer.body });
      expect(raw.status, `${answer.what}: ${raw.body.slice(0, 200)}`).toBe(answer.status);
      expectSecurityHeaders(raw, answer.what, { ...expected, page: answer.page });
    }
  }

  it('every kind of answer has one policy, nosniff and framing refused; no HSTS over plain HTTP', async () => {
    await expectAll(app.baseUrl, DENY);
    // A client that says it is plain HTTP is believed, and gets no HSTS either.
    await expectAll(app.baseUrl, DENY, { 'x-forwarded-proto': 'http' });
  });

  it('Socket.IO’s handshake answer (long-polling enabled) and a request Node cannot parse carry them too', async () => {
    const polling = await startConfigured({ livePolling: true });
    const handshake = await rawRequest(`${polling.baseUrl}/socket.io/?EIO=4&transport=polling`);
    expect(handshake.status).toBe(200);
    expect(handshake.body).toMatch(/^0\{"sid":/);
    expectSecurityHeaders(handshake, 'Socket.IO handshake', { ...DENY, page: false });
    const refused = await rawRequest(`${polling.baseUrl}/socket.io/?EIO=4&transport=polling`, { headers: { origin: 'https://evil.example' } });
    expect(refused.status).toBe(403);
    expectSecurityHeaders(refused, 'Socket.IO foreign Origin refused', { ...DENY, page: false });

    const oversized = await oversizedHeadRequest(app.baseUrl);
    expect(oversized.status).toBe(431);
    expect(JSON.parse(oversized.body)).toEqual({ error: { code: 'headers_too_large', message: expect.any(String) } });
    expectSecurityHeaders(oversized, '431 written to the socket', { ...DENY, page: false });
  });

  it('FRAME_ANCESTORS: every policy, pages included, lists the origins, and X-Frame-Options (which cannot) is gone', async () => {
    const framed = await startConfigured({ frameAncestors: [EMBEDDER, LOCAL_EMBEDDER] });
    await expectAll(framed.baseUrl, { ancestors: [EMBEDDER, LOCAL_EMBEDDER], frameOptions: null, hsts: false });
    // 'self' alone is what SAMEORIGIN says, so X-Frame-Options stays, consistent with the policy.
    const self = await startConfigured({ frameAncestors: ["'self'"] });
    for (const path of ['/api/me', '/t/acme/operations']) {
      expectSecurityHeaders(await rawRequest(`${self.baseUrl}${path}`), path, { ancestors: ["'self'"], frameOptions: 'SAMEORIGIN', hsts: false, page: path !== '/api/me' });
    }
  });

  it('HSTS when the request came over HTTPS: a TLS-terminating proxy on loopback, or TLS on the server itself', async () => {
    await expectAll(app.baseUrl, { ...DENY, hsts: true }, { 'x-forwarded-proto': 'https' });
    // The first value counts when a chain of proxies appended theirs (as Express reads it for req.secure).
    const chained = await rawRequest(`${app.baseUrl}/api/me`, { headers: { 'x-forwarded-proto': 'https, http' } });
    expect(all(chained, 'strict-transport-security')).toEqual([`max-age=${HSTS_MAX_AGE_SECONDS}`]);

    const dir = await mkdtemp(path.join(tmpdir(), 'runboard-tls-'));
    try {
      execFileSync('openssl', [
        'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1',
        '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', path.join(dir, 'key.pem'), '-out', path.join(dir, 'cert.pem'),
      ], { stdio: 'ignore', timeout: 10_000 });
      const [key, cert] = await Promise.all([readFile(path.join(dir, 'key.pem'), 'utf8'), readFile(path.join(dir, 'cert.pem'), 'utf8')]);
      const tls = createHttpsServer({ key, cert }, app.app);
      const port = await listen(tls);
      try {
        for (const [what, url, page] of [['JSON over TLS', '/api/me', false], ['page over TLS', '/t/acme/operations', true]] as const) {
          const raw = await rawRequest(`https://127.0.0.1:${port}${url}`, { ca: cert });
          expectSecurityHeaders(raw, what, { ...DENY, hsts: true, page });
        }
      } finally {
        await new Promise((resolve) => tls.close(resolve));
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('a peer that is not a trusted proxy cannot claim HTTPS with X-Forwarded-Proto', () => {
    const trustProxy = express().set('trust proxy', 'loopback').get('trust proxy fn') as (address: string, hop: number) => boolean;
    const middleware = securityHeaders({ frameAncestors: [], trustProxy });
    const headersFor = (remoteAddress: string) => {
      const set = new Map<string, string>();
      const res = { setHeader: (n: string, v: string) => void set.set(n.toLowerCase(), v), removeHeader: () => undefined, getHeader: () => undefined };
      let nexted = false;
      middleware({ headers: { 'x-forwarded-proto': 'https' }, socket: { remoteAddress } } as never, res as never, () => void (nexted = true));
      expect(nexted).toBe(true);
      return set;
    };
    expect(headersFor('203.0.113.7').has('strict-transport-security')).toBe(false);
    expect(headersFor('::ffff:10.1.2.3').has('strict-transport-security')).toBe(false);
    expect(headersFor('127.0.0.1').get('strict-transport-security')).toBe(`max-age=${HSTS_MAX_AGE_SECONDS}`);
    expect(headersFor('::1').get('strict-transport-security')).toBe(`max-age=${HSTS_MAX_AGE_SECONDS}`);
  });

  it('without a build, the fallback page has the same headers, its policy following FRAME_ANCESTORS', async () => {
    const logger = createLogger('silent');
    const missing = path.join(tmpdir(), 'runboard-no-such-build');
    const trustProxy = express().set('trust proxy', 'loopback').get('trust proxy fn') as (address: string, hop: number) => boolean;
    for (const [frameAncestors, expected] of [
      [[], DENY],
      [[EMBEDDER], { ancestors: [EMBEDDER], frameOptions: null, hsts: false }],
    ] as const) {
      const fallback = express();
      fallback.use(securityHeaders({ frameAncestors, trustProxy }));
      fallback.use(dashboardHandler(logger, missing, frameAncestors));
      const server = fallback.listen(0, '127.0.0.1');
      await new Promise((resolve) => server.once('listening', resolve));
      try {
        const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
        const home = await rawRequest(`${base}/`);
        expect(home.status).toBe(200);
        expect(home.body).toContain('npm run build');
        expectSecurityHeaders(home, 'not-built /', { ...expected, page: false });
        const other = await rawRequest(`${base}/t/acme/operations`);
        expect(other.status).toBe(404);
        expectSecurityHeaders(other, 'not-built page', { ...expected, page: false });
      } finally {
        await new Promise((resolve) => server.close(resolve));
      }
    }
  });
});
