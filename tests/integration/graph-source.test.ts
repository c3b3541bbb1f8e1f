import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { GraphSource, MAX_PAGE_BYTES, retryAfterMs, type GraphSourceOptions } from '../../db/sources/graph.ts';
import type { SourceCredential } from '../../db/sources/schema.ts';
import { MAX_POLICY_BYTES, SourceError, type ListedItem } from '../../db/sources/source.ts';

// The `graph` source (docs/api.md §10) against a local Graph-like server started by the test (127.0.0.1, so
// these clients allow private targets — except where the address rule itself is under test).

const TOKEN = 'bearer-T0KEN-very-secret-4f9a';
const CLIENT_SECRET = 'client-SECRET-9d2b7e';
const ISSUED_TOKEN = 'issued-ACCESS-token-77c1';
const CONFIGS = 'deviceManagement/deviceConfigurations';
const COMPLIANCE = 'deviceManagement/deviceCompliancePolicies';

type Recorded = { method: string; url: string; headers: IncomingMessage['headers']; body: string };
type Handler = (req: IncomingMessage, res: ServerResponse, body: string) => void;

let server: Server;
let base = '';
let origin = '';
let requests: Recorded[] = [];
let handler: Handler = (_req, res) => json(res, 404, { error: { code: 'NotFound' } });

function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(typeof body === 'string' ? body : JSON.stringify(body));
}

const policy = (n: number, extra: Record<string, unknown> = {}) => ({
  id: `pol-${n}`,
  displayName: `Policy ${n}`,
  '@odata.type': '#microsoft.graph.windows10GeneralConfiguration',
  lastModifiedDateTime: '2026-11-20T10:00:00Z',
  '@odata.etag': 'W/"1"',
  passwordRequired: n % 2 === 0,
  passwordMinimumLength: 8 + n,
  defenderDetectedMalwareActions: { highSeverity: 'remove' },
  ...extra,
});

/** A Graph-like list under /beta/{collection}, `pages` pages of `perPage`, linked with absolute next links. */
function pagedList(collection: string, pages: number, perPage: number, startAt = 0): Handler {
  return (req, res) => {
    const url = new URL(req.url!, origin);
    if (url.pathname !== `/beta/${collection}`) return json(res, 404, { error: { code: 'ResourceNotFound' } });
    const page = Number(url.searchParams.get('page') ?? '1');
    const value = Array.from({ length: perPage }, (_, i) => policy(startAt + (page - 1) * perPage + i));
    json(res, 200, { '@odata.context': 'x', value, ...(page < pages ? { '@odata.nextLink': `${origin}/beta/${collection}?page=${page + 1}&$skiptoken=abc` } : {}) });
  };
}

const logLines: string[] = [];
const logger = pino(
  { level: 'trace' },
  new Writable({
    write(chunk: Buffer, _encoding, done) {
      logLines.push(chunk.toString());
      done();
    },
  }),
);

function source(options: Partial<GraphSourceOptions> = {}): GraphSource {
  return new GraphSource({
    baseUrl: `${base}/beta`,
    collections: [CONFIGS],
    credential: { type: 'bearer', token: TOKEN },
    allowPrivateTargets: true,
    timeoutMs: 2_000,
    retry: { defaultWaitMs: 50 },
    logger,
    ...options,
  });
}

async function listAll(client: GraphSource, signal?: AbortSignal): Promise<{ pages: ListedItem[][]; items: ListedItem[] }> {
  const pages: ListedItem[][] = [];
  for await (const page of client.list(signal)) pages.push(page);
  return { pages, items: pages.flat() };
}

async function sourceError(promise: Promise<unknown>): Promise<SourceError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(SourceError);
    const message = (error as SourceError).message;
    for (const secret of [TOKEN, CLIENT_SECRET, ISSUED_TOKEN]) expect(message).not.toContain(secret);
    return error as SourceError;
  }
  throw new Error('expected a SourceError');
}

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString();
      requests.push({ method: req.method!, url: req.url!, headers: req.headers, body });
      handler(req, res, body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  origin = `http://127.0.0.1:${port}`;
  base = origin;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  // The credential never reached a log line, whatever the tests above did.
  const logs = logLines.join('');
  for (const secret of [TOKEN, CLIENT_SECRET, ISSUED_TOKEN]) expect(logs).not.toContain(secret);
});

beforeEach(() => {
  requests = [];
});

describe('graph source: listing', () => {
  it('follows next links over 3+ pages and every configured collection, with the bearer token on each request', async () => {
    handler = (req, res, body) => (req.url!.includes('Compliance') ? pagedList(COMPLIANCE, 1, 2, 100) : pagedList(CONFIGS, 4, 3))(req, res, body);
    const { pages, items } = await listAll(source({ collections: [CONFIGS, COMPLIANCE] }));
    expect(pages.map((p) => p.length)).toEqual([3, 3, 3, 3, 2]);
    expect(items.every((i) => i.ok)).toBe(true);
    expect(requests.map((r) => r.url)).toEqual([
      `/beta/${CONFIGS}`,
      `/beta/${CONFIGS}?page=2&$skiptoken=abc`,
      `/beta/${CONFIGS}?page=3&$skiptoken=abc`,
      `/beta/${CONFIGS}?page=4&$skiptoken=abc`,
      `/beta/${COMPLIANCE}`,
    ]);
    expect(requests.every((r) => r.headers.authorization === `Bearer ${TOKEN}` && r.method === 'GET')).toBe(true);
    const first = items[0]!;
    expect(first).toEqual({
      ok: true,
      policy: {
        externalId: 'pol-0',
        name: 'Policy 0',
        policyType: '#microsoft.graph.windows10GeneralConfiguration',
        lastModified: '2026-11-20T10:00:00.000Z',
        settings: { passwordRequired: true, passwordMinimumLength: 8, defenderDetectedMalwareActions: { highSeverity: 'remove' } },
      },
    });
  });

  it('an item without id, displayName or @odata.type is an item failure; an item over 256 KB is policy_too_large; the listing goes on', async () => {
    const { id: _id, ...withoutId } = policy(1);
    const { displayName: _name, ...withoutName } = policy(2);
    const { '@odata.type': _type, ...withoutType } = policy(3);
    handler = (_req, res) =>
      json(res, 200, { value: [withoutId, withoutName, withoutType, 'not an object', policy(5, { blob: 'x'.repeat(MAX_POLICY_BYTES + 10) }), policy(6, { bad: 'nul\u0000byte' }), policy(7)] });
    const { items } = await listAll(source());
    expect(items.map((i) => (i.ok ? `ok ${i.policy.externalId}` : `${i.code} ${i.externalId}`))).toEqual([
      `source_item_unreadable ${CONFIGS}#1`,
      'source_item_unreadable pol-2',
      'source_item_unreadable pol-3',
      `source_item_unreadable ${CONFIGS}#4`,
      'policy_too_large pol-5',
      'source_item_unreadable pol-6',
      'ok pol-7',
    ]);
  });

  it('a next link to another origin is refused, not followed', async () => {
    handler = (_req, res) => json(res, 200, { value: [policy(1)], '@odata.nextLink': 'http://evil.example.com/beta/steal?page=2' });
    const error = await sourceError(listAll(source()));
    expect(error.code).toBe('source_unavailable');
    expect(error.message).toMatch(/another origin/);
    expect(requests).toHaveLength(1);
  });

  it('a redirect is not followed: source_unavailable', async () => {
    handler = (_req, res) => {
      res.writeHead(302, { location: `${origin}/elsewhere` });
      res.end();
    };
    const error = await sourceError(listAll(source()));
    expect(error).toMatchObject({ code: 'source_unavailable', message: expect.stringMatching(/redirect \(302\)/) });
    expect(requests.map((r) => r.url)).toEqual([`/beta/${CONFIGS}`]);
  });
});

describe('graph source: throttling and failures', () => {
  it('429 with Retry-After is waited out, then the page is read', async () => {
    let calls = 0;
    handler = (req, res, body) => (++calls === 1 ? json(res, 429, { error: { code: 'TooManyRequests' } }, { 'retry-after': '1' }) : pagedList(CONFIGS, 1, 2)(req, res, body));
    const started = Date.now();
    const { items } = await listAll(source());
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
    expect(items).toHaveLength(2);
    expect(requests).toHaveLength(2);
    expect(logLines.some((l) => l.includes('policy source throttled'))).toBe(true);
  });

  it('503 on every attempt exhausts the retry budget: source_unavailable after 3 retries', async () => {
    handler = (_req, res) => json(res, 503, { error: { code: 'ServiceUnavailable' } }, { 'retry-after': '0' });
    const error = await sourceError(listAll(source()));
    expect(error).toMatchObject({ code: 'source_unavailable', message: expect.stringMatching(/busy \(503\).*3 retries/) });
    expect(requests).toHaveLength(4);
  });

  it('a Retry-After beyond the budget gives up at once', async () => {
    handler = (_req, res) => json(res, 429, {}, { 'retry-after': '3600' });
    const started = Date.now();
    expect(await sourceError(listAll(source()))).toMatchObject({ code: 'source_unavailable', message: expect.stringContaining('beyond the retry budget') });
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(requests).toHaveLength(1);
  });

  it.each([401, 403])('%i → source_unauthorized', async (status) => {
    handler = (_req, res) => json(res, status, { error: { code: 'InvalidAuthenticationToken', message: 'Access token is empty.' } });
    const error = await sourceError(listAll(source()));
    expect(error).toMatchObject({ code: 'source_unauthorized', message: expect.stringContaining(`${status} InvalidAuthenticationToken`) });
  });

  it('500 → source_unavailable', async () => {
    handler = (_req, res) => json(res, 500, { error: { code: 'InternalServerError' } });
    expect(await sourceError(listAll(source()))).toMatchObject({ code: 'source_unavailable', message: expect.stringContaining('500') });
  });

  it('malformed JSON or a body that is not a Graph list → source_unavailable', async () => {
    handler = (_req, res) => json(res, 200, '{"value": [ {"id": "x"');
    expect(await sourceError(listAll(source()))).toMatchObject({ code: 'source_unavailable', message: expect.stringContaining('not valid JSON') });
    handler = (_req, res) => json(res, 200, { items: [] });
    expect(await sourceError(listAll(source()))).toMatchObject({ code: 'source_unavailable', message: expect.stringContaining('not a Graph list') });
  });

  it(`a body over ${MAX_PAGE_BYTES / 1024 / 1024} MB is not read to the end: source_unavailable`, async () => {
    const chunk = Buffer.alloc(1024 * 1024, 'x');
    handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      let sent = 0;
      const more = () => {
        while (sent < 12 && !res.destroyed) {
          sent += 1;
          if (!res.write(chunk)) return res.once('drain', more);
        }
        res.end();
      };
      res.on('error', () => undefined);
      more();
    };
    const error = await sourceError(listAll(source()));
    expect(error).toMatchObject({ code: 'source_unavailable', message: expect.stringContaining('larger than') });
    // The same cap when the server announces the size up front.
    handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(MAX_PAGE_BYTES + 1) });
      res.on('error', () => undefined);
      res.write('{"value":[');
    };
    expect(await sourceError(listAll(source()))).toMatchObject({ code: 'source_unavailable', message: expect.stringContaining('larger than') });
  });

  it('an answer slower than the time limit → source_unavailable (headers late, or a body that stalls)', async () => {
    handler = (_req, res) => setTimeout(() => json(res, 200, { value: [] }), 1_500).unref();
    let started = Date.now();
    expect(await sourceError(listAll(source({ timeoutMs: 300 })))).toMatchObject({ code: 'source_unavailable', message: expect.stringContaining('no answer within 300 ms') });
    expect(Date.now() - started).toBeLessThan(1_200);
    handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"value":[');
    };
    started = Date.now();
    expect(await sourceError(listAll(source({ timeoutMs: 300 })))).toMatchObject({ code: 'source_unavailable' });
    expect(Date.now() - started).toBeLessThan(1_200);
  });

  it("the caller's abort ends a call with the caller's reason, not a source failure", async () => {
    handler = (_req, res) => setTimeout(() => json(res, 200, { value: [] }), 1_500).unref();
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error('run cancelled')), 100);
    await expect(listAll(source(), controller.signal)).rejects.toThrow('run cancelled');
  });

  it('a connection refused → source_unavailable', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const { port } = closed.address() as AddressInfo;
    await new Promise((resolve) => closed.close(resolve));
    const error = await sourceError(listAll(source({ baseUrl: `http://127.0.0.1:${port}/beta` })));
    expect(error).toMatchObject({ code: 'source_unavailable', message: expect.stringContaining('ECONNREFUSED') });
  });

  it('the credential never appears in a failure, even when the server echoes it back', async () => {
    for (const status of [400, 401, 500, 503]) {
      handler = (req, res) => json(res, status, { error: { code: String(req.headers.authorization).replace('Bearer ', ''), message: String(req.headers.authorization) } });
      const error = await sourceError(listAll(source({ retry: { maxRetries: 0 } })));
      expect(error.message).not.toContain(TOKEN);
    }
  });
});

describe('graph source: get and apply', () => {
  const compliance = (n: number) => policy(n, { '@odata.type': '#microsoft.graph.iosCompliancePolicy' });

  /** pol-1 lives in the configurations, pol-2 in the compliance policies; PATCH answers 204 where the policy lives. */
  const twoCollections: Handler = (req, res, body) => {
    const path = new URL(req.url!, origin).pathname;
    const where = { [`/beta/${CONFIGS}/pol-1`]: policy(1), [`/beta/${COMPLIANCE}/pol-2`]: compliance(2) }[path];
    if (path === `/beta/${COMPLIANCE}`) return json(res, 200, { value: [compliance(2)] });
    if (!where) return json(res, 404, { error: { code: 'ResourceNotFound' } });
    if (req.method === 'PATCH') {
      JSON.parse(body);
      res.writeHead(204);
      return res.end();
    }
    json(res, 200, where);
  };

  it('get() reads a policy from the collection that has it; 404 in every collection → policy_not_found', async () => {
    handler = twoCollections;
    const client = source({ collections: [CONFIGS, COMPLIANCE] });
    expect(await client.get('pol-2')).toMatchObject({ ok: true, policy: { externalId: 'pol-2', policyType: '#microsoft.graph.iosCompliancePolicy' } });
    expect(requests.map((r) => `${r.method} ${r.url}`)).toEqual([`GET /beta/${CONFIGS}/pol-2`, `GET /beta/${COMPLIANCE}/pol-2`]);
    expect(await client.get('pol-9')).toMatchObject({ ok: false, code: 'policy_not_found', externalId: 'pol-9' });
  });

  it('apply() writes where the policy type was listed, else finds the policy first; never PATCHes blindly', async () => {
    handler = twoCollections;
    // After a listing of the compliance collection, the type's collection is known: one PATCH.
    const listed = source({ collections: [COMPLIANCE] });
    await listAll(listed);
    requests = [];
    await listed.apply({ externalId: 'pol-2', policyType: '#microsoft.graph.iosCompliancePolicy', name: 'Policy 2', settings: { passcodeRequired: true } });
    expect(requests.map((r) => `${r.method} ${r.url}`)).toEqual([`PATCH /beta/${COMPLIANCE}/pol-2`]);
    expect(requests[0]!.headers.authorization).toBe(`Bearer ${TOKEN}`);
    expect(requests[0]!.headers['content-type']).toBe('application/json');
    expect(JSON.parse(requests[0]!.body)).toEqual({ passcodeRequired: true, '@odata.type': '#microsoft.graph.iosCompliancePolicy' });

    // A fresh client (a restore run): finds the policy with GETs, then PATCHes that collection.
    requests = [];
    await source({ collections: [CONFIGS, COMPLIANCE] }).apply({ externalId: 'pol-2', policyType: '#microsoft.graph.iosCompliancePolicy', name: 'x', settings: { a: 1 } });
    expect(requests.map((r) => `${r.method} ${r.url}`)).toEqual([`GET /beta/${CONFIGS}/pol-2`, `GET /beta/${COMPLIANCE}/pol-2`, `PATCH /beta/${COMPLIANCE}/pol-2`]);
  });

  it('apply() of a policy the source no longer has, or refuses (400), is source_apply_failed', async () => {
    handler = twoCollections;
    const client = source({ collections: [CONFIGS, COMPLIANCE] });
    expect(await sourceError(client.apply({ externalId: 'gone', policyType: 't', name: 'x', settings: {} }))).toMatchObject({ code: 'source_apply_failed' });
    handler = (req, res, body) => (req.method === 'PATCH' ? json(res, 400, { error: { code: 'BadRequest' } }) : twoCollections(req, res, body));
    expect(await sourceError(client.apply({ externalId: 'pol-1', policyType: 't', name: 'x', settings: {} }))).toMatchObject({
      code: 'source_apply_failed',
      message: expect.stringContaining('400 BadRequest'),
    });
  });
});

describe('graph source: OAuth client credentials', () => {
  const credential: SourceCredential = { type: 'client_credentials', tokenUrl: '', clientId: 'app-42', clientSecret: CLIENT_SECRET, scope: 'https://graph.example/.default' };
  let tokensIssued = 0;

  const withTokens = (list: Handler, tokenStatus = 200): Handler => (req, res, body) => {
    if (req.url === '/tenant/oauth2/v2.0/token') {
      tokensIssued += 1;
      if (tokenStatus !== 200) return json(res, tokenStatus, { error: 'invalid_client', error_description: `bad secret ${CLIENT_SECRET}` });
      return json(res, 200, { token_type: 'Bearer', expires_in: 3599, access_token: `${ISSUED_TOKEN}-${tokensIssued}` });
    }
    if (req.headers.authorization !== `Bearer ${ISSUED_TOKEN}-${tokensIssued}`) return json(res, 401, { error: { code: 'InvalidAuthenticationToken' } });
    list(req, res, body);
  };

  beforeEach(() => {
    tokensIssued = 0;
    credential.tokenUrl = `${origin}/tenant/oauth2/v2.0/token`;
  });

  it('fetches a token with a form POST, and reuses it until it expires', async () => {
    handler = withTokens(pagedList(CONFIGS, 3, 2));
    const client = source({ credential });
    expect((await listAll(client)).items).toHaveLength(6);
    expect((await listAll(client)).items).toHaveLength(6);
    expect(tokensIssued).toBe(1);
    const [tokenRequest] = requests;
    expect(tokenRequest!.method).toBe('POST');
    expect(tokenRequest!.headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect(Object.fromEntries(new URLSearchParams(tokenRequest!.body))).toEqual({
      grant_type: 'client_credentials',
      client_id: 'app-42',
      client_secret: CLIENT_SECRET,
      scope: 'https://graph.example/.default',
    });
    expect(requests.slice(1).every((r) => r.headers.authorization === `Bearer ${ISSUED_TOKEN}-1`)).toBe(true);
  });

  it('a token the API no longer accepts (401) is renewed once', async () => {
    let rejectOnce = true;
    handler = withTokens((req, res, body) => {
      if (rejectOnce) {
        rejectOnce = false;
        tokensIssued += 1; // the server "revoked" the first token: the next one issued is -3
        return json(res, 401, { error: { code: 'InvalidAuthenticationToken' } });
      }
      pagedList(CONFIGS, 1, 1)(req, res, body);
    });
    expect((await listAll(source({ credential }))).items).toHaveLength(1);
  });

  it('refused client credentials → source_unauthorized, without the secret in the message', async () => {
    handler = withTokens(pagedList(CONFIGS, 1, 1), 401);
    const error = await sourceError(listAll(source({ credential })));
    expect(error).toMatchObject({ code: 'source_unauthorized', message: expect.stringContaining('invalid_client') });
  });

  it('the token URL is subject to the address rule as well', async () => {
    handler = withTokens(pagedList(CONFIGS, 1, 1));
    const error = await sourceError(listAll(source({ credential, baseUrl: 'https://graph.example.com/beta', allowPrivateTargets: false })));
    expect(error).toMatchObject({ code: 'source_unavailable', message: expect.stringContaining('refused private address') });
    expect(requests).toHaveLength(0);
  });
});

describe('graph source: the address rule at connection time', () => {
  it('without ALLOW_PRIVATE_TARGETS, 127.0.0.1 and names resolving to loopback are refused before any request', async () => {
    handler = pagedList(CONFIGS, 1, 1);
    for (const baseUrl of [`${origin}/beta`, `${origin.replace('127.0.0.1', 'localhost')}/beta`, `${origin.replace('127.0.0.1', '0x7f.1')}/beta`]) {
      const error = await sourceError(listAll(source({ baseUrl, allowPrivateTargets: false })));
      expect(error, baseUrl).toMatchObject({ code: 'source_unavailable', message: expect.stringContaining('refused private address') });
    }
    expect(requests).toHaveLength(0);
  });
});

describe('graph source: names are resolved through the guarded lookup', () => {
  it('with private targets allowed, a name (localhost) connects through the lookup and answers', async () => {
    handler = pagedList(CONFIGS, 1, 2); // one page: a next link would name 127.0.0.1, another origin than localhost
    const { items } = await listAll(source({ baseUrl: `${origin.replace('127.0.0.1', 'localhost')}/beta` }));
    expect(items).toHaveLength(2);
  });
});

describe('retryAfterMs', () => {
  it('reads delay-seconds and HTTP dates', () => {
    expect(retryAfterMs('3')).toBe(3_000);
    expect(retryAfterMs(undefined)).toBeNull();
    expect(retryAfterMs('soon')).toBeNull();
    const now = Date.parse('2026-11-23T10:00:00Z');
    expect(retryAfterMs('Mon, 23 Nov 2026 10:00:05 GMT', now)).toBe(5_000);
    expect(retryAfterMs('Mon, 23 Nov 2026 09:00:00 GMT', now)).toBe(0);
  });
});
