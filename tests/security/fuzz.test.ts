import { systemActor } from '../../db/access/actor.ts';
import { author } from '../../db/runs/model.ts';
import fc from 'fast-check';
import { parse as parseQuery } from 'node:querystring';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, login, startSystem, type ApiResponse, type System } from '../helpers/app.ts';
import {
  allTextSafe,
  bodyFor,
  checkResponse,
  decodedSegment,
  describeRequest,
  extremeNumber,
  hostileString,
  intIn,
  isObject,
  lengthIn,
  longString,
  numericString,
  onlyKeys,
  pathSegment,
  codePoints,
  MAX_URL_PART,
  pct,
  safeText,
  PropertyViolation,
  queryString,
  readBody,
  safeOfLength,
  shaped,
  type FuzzBody,
} from '../helpers/fuzz.ts';
import { RecordingClient } from '../helpers/live.ts';
import { TEST_PASSWORD } from '../helpers/stack.ts';
import type { RunView } from '../../server/http/contract.ts';
import type { Catalog } from '../../db/catalog/catalog.ts';
import { LONG } from '../helpers/scale.ts';
import { checkTarget, refusedAddressReason } from '../../db/outbound/targets.ts';
import { isIP } from 'node:net';

/** Who makes the changes these tests apply directly (their history's `by`). */
const TEST_AUTHOR = author('system', 'test');

// Property-based fuzzing (issue 7) of every HTTP body, query and path parameter and every socket payload:
// generated inputs never get a 5xx, a wrong error shape or a stack trace; each input's status is what a
// model of the route predicts; afterwards the server is ready and only inputs the model calls valid created
// anything. The seed is random per run and printed; reproduce with FUZZ_SEED=<seed>, hunt longer with FUZZ_SCALE=<n>.

const BASE_SEED = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : Math.floor(Math.random() * 2 ** 31);
const MIN_TOTAL_INPUTS = 1_000;
/** FUZZ_SCALE=5 multiplies every property's runs (a longer hunt than the default CI budget allows); 4 under `npm run test:long`. */
const SCALE = Math.max(1, Number(process.env.FUZZ_SCALE ?? (LONG ? 4 : 1)));
const TENANT = 'acme';
const T = `/api/tenants/${TENANT}`;

/** Inputs sent per property (a request or a socket message each), summed by the last test. */
const sent: Record<string, number> = {};

/** Each property's seed derives from the file's seed and its name, so `-t` filtering reproduces it too. */
const seedOf = (name: string) => [...name].reduce((h, c) => (Math.imul(h, 31) + c.charCodeAt(0)) | 0, BASE_SEED);

/** fc.assert with a reproducible seed; a failure names the property, the seed and the shrunk input. */
async function property<Ts extends [unknown, ...unknown[]]>(
  name: string,
  numRuns: number,
  arbitraries: { [K in keyof Ts]: fc.Arbitrary<Ts[K]> },
  predicate: (...args: Ts) => Promise<number | void>,
  options: { endOnFailure?: boolean } = {},
): Promise<void> {
  const seed = seedOf(name);
  sent[name] ??= 0;
  const prop = fc.asyncProperty(...arbitraries, async (...args: Ts) => {
    sent[name]! += 1;
    // A predicate that sends several inputs returns how many (counted once it got through them).
    const inputs = await predicate(...args);
    if (typeof inputs === 'number') sent[name]! += inputs - 1;
  });
  try {
    await fc.assert(prop as fc.IAsyncProperty<Ts>, { numRuns: Math.round(numRuns * SCALE), seed, ...options });
  } catch (error) {
    console.error(`[fuzz] property "${name}" failed — seed ${seed} (re-run with FUZZ_SEED=${BASE_SEED})`);
    throw error;
  }
}

describe('property-based fuzzing of every HTTP input and socket payload', { timeout: 60_000 * SCALE }, () => {
  let system: System;
  let base: string;
  const tokens = { owner: '', operator: '', readonly: '', integration: '' };
  const ids = { seedRun: '', globexRun: '', mirroredRuns: [] as string[], driftRun: '' };
  let secrets: string[] = [];
  const created = { runs: 0, notifications: 0, kioskTokens: 0, integrationTokens: 0, webhooks: 0 };
  let before: Record<string, number> = {};

  const count = async (sql: string) => {
    const [row] = await system.env.services.orm.em.fork().execute<{ n: string }[]>(sql);
    return Number(row?.n);
  };
  const countAll = async () => ({
    runs: await count('select count(*) as n from operation_runs'),
    notifications: await count('select count(*) as n from notifications'),
    sessions: await count(`select count(*) as n from auth_tokens where kind = 'user'`),
    kioskTokens: await count(`select count(*) as n from auth_tokens where kind = 'kiosk'`),
    integrationTokens: await count(`select count(*) as n from auth_tokens where kind = 'integration'`),
    webhooks: await count('select count(*) as n from webhooks'),
  });

  async function send(method: string, path: string, token: string | undefined, request: FuzzBody, expected: number[]): Promise<ApiResponse> {
    const response = await call(base, method, path, {
      ...(token ? { token } : {}),
      ...(request.raw !== undefined ? { raw: request.raw } : request.body !== undefined ? { body: request.body } : {}),
      ...(request.headers ? { headers: request.headers } : {}),
    });
    let requestText = describeRequest(method, path, request);
    const decoded = decodedSegment(path);
    if (decoded) requestText += ` ${decoded} ${decoded.replace(/\+/g, ' ')}`;
    checkResponse(response, expected, requestText, secrets);
    return response;
  }

  beforeAll(async () => {
    // A low failed-login limit keeps the fuzzed logins cheap: after a few slow password checks they are refused.
    // A credentials key, so fuzzed policy-source credentials are stored (and must never come back).
    system = await startSystem({ tenants: [TENANT, 'globex'], worker: false, env: { LOGIN_MAX_FAILURES: '2', SOURCE_CREDENTIALS_KEY: Buffer.alloc(32, 7).toString('base64') } });
    base = system.app.baseUrl;
    tokens.owner = await login(base, `owner@${TENANT}.test`);
    tokens.operator = await login(base, `operator@${TENANT}.test`);
    tokens.readonly = await login(base, `readonly@${TENANT}.test`);
    const globexOwner = await login(base, 'owner@globex.test');
    const integration = await call(base, 'POST', `${T}/integration-tokens`, { token: tokens.owner, body: { label: 'fuzz' } });
    expect(integration.status).toBe(201);
    tokens.integration = integration.body.token;
    for (const key of ['a', 'b', 'c', 'd', 'e']) {
      const external = await call(base, 'POST', `${T}/runs`, { token: tokens.integration, body: { type: 'demo.external', scope: { key } } });
      expect(external.status).toBe(202);
      ids.mirroredRuns.push(external.body.run.id);
    }
    const seed = await call(base, 'POST', `${T}/runs`, { token: tokens.operator, body: { type: 'demo.batch', scope: { key: 'seed', items: 1 } } });
    expect(seed.status).toBe(202);
    ids.seedRun = seed.body.run.id;
    const globex = await call(base, 'POST', '/api/tenants/globex/runs', { token: globexOwner, body: { type: 'demo.batch', scope: { items: 1 } } });
    expect(globex.status).toBe(202);
    ids.globexRun = globex.body.run.id;
    ids.driftRun = await seedInventoryAndDrift(system);
    secrets = [TEST_PASSWORD, ...Object.values(tokens), globexOwner, system.env.config.databaseUrl ?? '', 'scrypt$', FUZZ_SOURCE_TOKEN, FUZZ_SOURCE_SECRET];
    before = await countAll();
    console.log(`[fuzz] FUZZ_SEED=${BASE_SEED}`);
  });

  afterAll(async () => {
    await system?.stop();
  });

  // HTTP --------------------------------------------------------------------------------------------------------

  it('POST /api/auth/login', async () => {
    const loginBody = shaped({
      email: fc.oneof(fc.constantFrom(`owner@${TENANT}.test`, `OWNER@${TENANT}.TEST `, 'nobody@acme.test'), fc.emailAddress(), hostileString),
      password: fc.oneof(hostileString, fc.string({ minLength: 1, maxLength: 30 })),
    });
    await property('POST /api/auth/login', 100, [bodyFor(loginBody)], async (request) => {
      const read = readBody(request);
      const shapedOk = (v: unknown) =>
        isObject(v) && onlyKeys(v, ['email', 'password']) && safeOfLength(v.email, 1, 254) && safeOfLength(v.password, 1, 200);
      const expected =
        read.kind === 'tooLarge' ? [413] : read.kind === 'malformed' ? [400] : read.kind === 'unknown' ? [400, 401, 413, 429] : shapedOk(read.value) ? [401, 429] : [400];
      await send('POST', '/api/auth/login', undefined, request, expected);
    });
  });

  it('GET /api/notifications (query)', async () => {
    const query = queryString({
      unread: fc.constantFrom('true', 'false', 'TRUE', '1', ''),
      limit: numericString,
      cursor: cursorArb(),
    });
    await property('GET /api/notifications', 100, [query], async (q) => {
      const response = await send('GET', `/api/notifications${q ? `?${q}` : ''}`, tokens.owner, {}, [200, 400]);
      if (response.status === 200 && !Array.isArray(response.body.notifications)) throw new PropertyViolation('no notifications list');
    });
  });

  it('POST /api/notifications/:id/read', async () => {
    await property('POST /api/notifications/:id/read', 60, [pathSegment([]), bodyFor(fc.jsonValue({ maxDepth: 2 }))], async (id, request) => {
      const read = readBody(request);
      const expected =
        read.kind === 'tooLarge' ? [413] : read.kind === 'malformed' ? [400] : read.kind === 'unknown' ? [400, 404, 413] : decodedSegment(id) === null ? [400] : [404];
      await send('POST', `/api/notifications/${id}/read`, tokens.owner, request, expected);
    });
  });

  it('POST /api/tenants/:t/runs as an operator (status predicted by a model of the type schemas)', async () => {
    const demoBatchScope = shaped({
      items: fc.integer({ min: 0, max: 100_000 }),
      itemMs: fc.integer({ min: 0, max: 60_000 }),
      failEvery: fc.integer({ min: 1, max: 100_000 }),
      failCode: fc.stringMatching(/^[a-z][a-z0-9_]{0,20}$/),
      failMessage: fc.oneof(hostileString, fc.string({ maxLength: 100 })),
      abort: fc.boolean(),
      key: fc.oneof(hostileString, fc.string({ maxLength: 40 })),
    });
    const type = fc.oneof(
      { weight: 4, arbitrary: fc.constantFrom('demo.batch', 'demo.external', 'runs.purge') },
      { weight: 1, arbitrary: fc.constantFrom('drift.generate', 'DEMO.BATCH', 'demo.batch ', 'demo.batch\0', 'demo..batch', '__proto__', 'constructor') },
      { weight: 1, arbitrary: hostileString },
    );
    const body = shaped({
      type,
      scope: fc.oneof(demoBatchScope, shaped({ key: fc.string({ maxLength: 30 }), olderThanDays: fc.integer({ min: 1, max: 3650 }) }), fc.anything({ maxDepth: 2 })),
      initiator: shaped({ email: fc.constantFrom(`manager@${TENANT}.test`, 'x@y.z') }),
    });
    await property('POST /api/tenants/:t/runs (operator)', 150, [bodyFor(body)], async (request) => {
      const read = readBody(request);
      const expected =
        read.kind === 'tooLarge' ? [413] : read.kind === 'malformed' ? [400] : read.kind === 'unknown' ? [200, 202, 400, 403, 413] : startExpectation(read.value);
      const response = await send('POST', `${T}/runs`, tokens.operator, request, expected);
      if (response.status === 202) {
        created.runs += 1;
        created.notifications += 1;
      }
    });
  });

  it('POST /api/tenants/:t/runs with an integration token (mirrored types only; initiator by email)', async () => {
    const body = shaped({
      type: fc.oneof({ weight: 4, arbitrary: fc.constantFrom('demo.external', 'demo.batch', 'runs.purge') }, { weight: 1, arbitrary: hostileString }),
      scope: fc.oneof(shaped({ key: fc.oneof(hostileString, fc.string({ maxLength: 30 })) }), fc.anything({ maxDepth: 2 })),
      initiator: shaped({
        email: fc.oneof(
          fc.constantFrom(`operator@${TENANT}.test`, ` OPERATOR@${TENANT.toUpperCase()}.TEST `, 'owner@globex.test', 'nobody@acme.test', 'a@b'),
          hostileString,
          longString,
        ),
      }),
    });
    await property('POST /api/tenants/:t/runs (integration)', 60, [bodyFor(body)], async (request) => {
      const read = readBody(request);
      const expected =
        read.kind === 'tooLarge' ? [413] : read.kind === 'malformed' ? [400] : read.kind === 'unknown' ? [200, 202, 400, 403, 413] : integrationStartExpectation(read.value);
      const response = await send('POST', `${T}/runs`, tokens.integration, request, expected);
      if (response.status === 202) {
        created.runs += 1;
        // The queued notification goes to the initiator, when the named email is a member of the tenant.
        if (response.body.run.initiator) created.notifications += 1;
      }
    });
  });

  it('POST /api/tenants/:t/runs as a readonly member (refused before any input is read)', async () => {
    await property('POST /api/tenants/:t/runs (readonly)', 50, [bodyFor(fc.anything({ maxDepth: 2 }))], async (request) => {
      const read = readBody(request);
      const expected =
        read.kind === 'tooLarge' ? [413] : read.kind === 'malformed' ? [400] : read.kind === 'unknown' ? [400, 403, 413] : [403];
      await send('POST', `${T}/runs`, tokens.readonly, request, expected);
    });
  });

  it('GET /api/tenants/:t/runs (query)', async () => {
    const date = fc.oneof(
      fc.date({ min: new Date('1960-01-01'), max: new Date('2100-01-01'), noInvalidDate: true }).map((d) => d.toISOString()),
      fc.constantFrom('2026-02-30', '1969-12-31', '9999-12-31T23:59:59.999999999+14:00', '0000-01-01', '2026-11-23T25:00:00Z', '2026-11-23', '2026-11-23T10:00', '+275760-09-13'),
    );
    const query = queryString({
      type: fc.constantFrom('demo.batch', 'demo.external', 'drift.generate', 'a.b', 'demo.'),
      resource: fc.constantFrom('demo', 'drift', '%', '_', 'a\\', 'demo%'),
      bucket: fc.constantFrom('queued', 'running', 'succeeded', 'partially_succeeded', 'failed', 'pending'),
      initiator: fc.oneof(fc.constant('me'), fc.uuid()),
      from: date,
      to: date,
      limit: numericString,
      cursor: cursorArb(),
      q: fc.oneof(hostileString, longString, fc.constantFrom('%', '_', '\\', '50%_off', '.*', "' or 1=1 --", '', '   ', 'demo', ids.seedRun, ids.seedRun.slice(0, 8))),
      failureCode: fc.oneof(fc.constantFrom('item_failed', 'worker_lost', 'restore_failed', 'Item_Failed', '1a', 'a-b', '', 'a'.repeat(65)), hostileString),
    });
    await property('GET /api/tenants/:t/runs', 120, [query], async (q) => {
      const response = await send('GET', `${T}/runs${q ? `?${q}` : ''}`, tokens.owner, {}, [200, 400]);
      if (response.status === 200 && (!Array.isArray(response.body.runs) || !('nextCursor' in response.body))) {
        throw new PropertyViolation('list answer without { runs, nextCursor }');
      }
    });
  });

  it('GET /api/tenants/:t/runs/:id', async () => {
    await property('GET /api/tenants/:t/runs/:id', 60, [pathSegment([ids.seedRun, ids.globexRun, ...ids.mirroredRuns])], async (id) => {
      const decoded = decodedSegment(id);
      const own = [ids.seedRun, ...ids.mirroredRuns];
      const expected = decoded === null ? [400] : own.includes(decoded.toLowerCase()) ? [200] : [404];
      await send('GET', `${T}/runs/${id}`, tokens.owner, {}, expected);
    });
  });

  it('GET /api/tenants/:t/runs?q= (status predicted; an answer holds exactly the runs a literal match finds)', async () => {
    // Every run of the tenant and what a search can match it by, read once (nothing starts runs meanwhile).
    const all: RunView[] = [];
    let cursor: string | null = null;
    do {
      const page: ApiResponse = await call(base, 'GET', `${T}/runs?limit=500${cursor ? `&cursor=${cursor}` : ''}`, { token: tokens.owner });
      expect(page.status).toBe(200);
      all.push(...page.body.runs);
      cursor = page.body.nextCursor;
    } while (cursor !== null);
    const em = system.env.services.orm.em.fork();
    const users = new Map((await em.execute<{ id: string; name: string; email: string }[]>('select id, name, email from users')).map((u) => [u.id, u]));
    const codes = new Map(
      (await em.execute<{ id: string; codes: string[] | null }[]>(`select id, (select array_agg(distinct f ->> 'code') from jsonb_array_elements(failures) f) as codes from operation_runs`)).map((r) => [r.id, r.codes ?? []]),
    );
    const oracle = searchOracle(system.env.services.catalog, users, codes);
    const texts = all.flatMap((run) => [run.id, run.label, ...scopeValues(run.scope).map(String)]).filter((t) => t.length > 0);
    const piece = fc
      .tuple(fc.constantFrom(...texts), fc.nat(), fc.nat(), fc.constantFrom('as is', 'upper', 'lower', 'padded'))
      .map(([text, a, b, how]) => {
        const [from, to] = [a % text.length, b % text.length].sort((x, y) => x - y) as [number, number];
        const slice = text.slice(from, to + 1);
        return how === 'upper' ? slice.toUpperCase() : how === 'lower' ? slice.toLowerCase() : how === 'padded' ? ` ${slice}\t` : slice;
      });
    const needle = fc.oneof(
      { weight: 4, arbitrary: piece },
      { weight: 2, arbitrary: hostileString },
      { weight: 1, arbitrary: longString },
      { weight: 1, arbitrary: fc.tuple(piece, hostileString).map(([a, b]) => a + b) },
      // Refused: NUL bytes, over 100 characters once trimmed.
      { weight: 1, arbitrary: fc.tuple(piece, fc.constantFrom('\0', `${'k'.repeat(101)}`, '😀'.repeat(101), ` ${'é'.repeat(101)} `)).map(([a, b]) => a + b) },
      {
        weight: 2,
        arbitrary: fc.constantFrom(
          '%', '_', '\\', '%_', '%%', '50%_off', '.*', '[a-z]', '^demo', 'batch$', "' or 1=1 --", '', '   ', 'Demo batch', 'MIRRORED',
          'owner@acme', 'Operator of ACME', 'item_failed', 'worker_lost', 'restore_failed', ids.globexRun, ids.globexRun.slice(0, 8),
          ids.seedRun.slice(0, 8), ids.seedRun.toUpperCase(), ids.seedRun.replaceAll('-', ''), `${ids.seedRun.slice(0, 7)}-`, 'a'.repeat(100), ` ${'a'.repeat(100)} `,
        ),
      },
      // Over-long URLs are a property of their own (431).
    ).filter((text) => pct(text).length <= MAX_URL_PART);
    const outcomes = { refused: 0, empty: 0, found: 0, unfiltered: 0 };
    await property('GET /api/tenants/:t/runs?q= (search model)', 150, [needle], async (text) => {
      const path = `${T}/runs?limit=500&q=${pct(text)}`;
      // What the server reads: the query string as the URL carries it, decoded by the same parser.
      const arrived = parseQuery(new URL(`${base}${path}`).search.slice(1)).q;
      if (typeof arrived !== 'string') throw new PropertyViolation(`q did not arrive as one string: ${JSON.stringify(arrived)}`);
      const trimmed = arrived.trim();
      const accepted = safeText(arrived) && codePoints(trimmed) <= 100;
      const response = await send('GET', path, tokens.owner, {}, [accepted ? 200 : 400]);
      if (!accepted) {
        outcomes.refused += 1;
        return;
      }
      const got = (response.body.runs as RunView[]).map((r) => r.id);
      if ((response.body.runs as RunView[]).some((r) => r.tenant !== TENANT)) throw new PropertyViolation('a run of another tenant');
      if (trimmed === '') {
        outcomes.unfiltered += 1;
        if (got.length !== Math.min(all.length, 500)) throw new PropertyViolation(`a blank q filtered: ${got.length} of ${all.length}`);
        return;
      }
      const verdicts = new Map(all.map((run) => [run.id, oracle(run, trimmed.toLowerCase())]));
      const want = all.filter((run) => verdicts.get(run.id) === 'must').map((r) => r.id);
      outcomes[want.length === 0 ? 'empty' : 'found'] += 1;
      const extra = got.filter((id) => verdicts.get(id) !== 'must' && verdicts.get(id) !== 'may');
      const missing = want.filter((id) => !got.includes(id));
      // A page holds at most 500: beyond that, the answer is 500 of the matches.
      const complete = want.length <= 500 ? missing.length === 0 : got.length === 500;
      if (extra.length > 0 || !complete) {
        throw new PropertyViolation(`q ${JSON.stringify(trimmed)}: ${extra.length} runs found that do not match it literally, ${missing.length} matching runs missing`);
      }
    });
    // The generators reach every side of the model.
    console.log('[fuzz] search answers:', outcomes);
    expect(outcomes.found).toBeGreaterThanOrEqual(20);
    expect(outcomes.empty).toBeGreaterThanOrEqual(5);
    expect(outcomes.refused).toBeGreaterThanOrEqual(3);
  });

  it('GET /api/tenants/:t/failure-reasons (query)', async () => {
    const query = queryString({
      window: fc.constantFrom('1h', '24h', '7d', '30d', '2h', '24H', '', 'constructor', '__proto__'),
      limit: fc.oneof(numericString, fc.constantFrom('1', '20', '100', '101', '0')),
    });
    await property('GET /api/tenants/:t/failure-reasons', 80, [query], async (q) => {
      const path = `${T}/failure-reasons${q ? `?${q}` : ''}`;
      const read = parseQuery(new URL(`${base}${path}`).search.slice(1));
      const windowOk = read.window === undefined || (typeof read.window === 'string' && ['1h', '24h', '7d', '30d'].includes(read.window));
      const limit = read.limit === undefined ? 20 : Number(read.limit);
      const valid = Object.keys(read).every((k) => k === 'window' || k === 'limit') && windowOk && Number.isInteger(limit) && limit >= 1 && limit <= 100;
      const response = await send('GET', path, tokens.readonly, {}, [valid ? 200 : 400]);
      if (response.status !== 200) return;
      if (response.body.window !== (read.window ?? '24h') || !Array.isArray(response.body.reasons) || response.body.reasons.length > limit) {
        throw new PropertyViolation(`reasons answer ${JSON.stringify(response.body).slice(0, 200)}`);
      }
    });
  });

  it('GET /api/tenants/:t/runs/:id/history', async () => {
    const own = () => [ids.seedRun, ids.driftRun, ...ids.mirroredRuns];
    await property('GET /api/tenants/:t/runs/:id/history', 60, [pathSegment([...own(), ids.globexRun])], async (id) => {
      const decoded = decodedSegment(id);
      const expected = decoded === null ? [400] : own().includes(decoded.toLowerCase()) ? [200] : [404];
      const response = await send('GET', `${T}/runs/${id}/history`, tokens.readonly, {}, expected);
      if (response.status === 200 && (!Array.isArray(response.body.history) || response.body.history[0]?.kind !== 'queued')) {
        throw new PropertyViolation('history answer without its queued entry');
      }
    });
  });

  it('GET /api/tenants/:t/stats (query)', async () => {
    const query = queryString({ window: fc.constantFrom('1h', '24h', '7d', '30d', '2h', '24H', 'constructor', '__proto__') });
    await property('GET /api/tenants/:t/stats', 60, [query], async (q) => {
      const response = await send('GET', `${T}/stats${q ? `?${q}` : ''}`, tokens.owner, {}, [200, 400]);
      if (response.status === 200 && !isObject(response.body.buckets)) throw new PropertyViolation('stats answer without buckets');
    });
  });

  it('GET /api/overview (query: status predicted; the answer holds only the caller\'s tenants named)', async () => {
    // docs/api.md §12. The readonly member's one tenant is acme; globex exists but is not theirs.
    // Mostly slugs (the caller's, another tenant's, an unknown one), so each side of the model is reached often.
    const slugOrNot = fc.oneof(
      { weight: 4, arbitrary: fc.constantFrom(TENANT, 'globex', 'nope', ' acme ', '', 'a'.repeat(64)) },
      { weight: 1, arbitrary: fc.constantFrom('ACME', 'a_b', '-acme', 'acme-', 'a'.repeat(65), 'acme;globex') },
    );
    const tenants = fc.oneof(
      { weight: 5, arbitrary: fc.array(slugOrNot, { maxLength: 5 }).map((list) => list.join(',')) },
      { weight: 1, arbitrary: fc.constantFrom(`${'a,'.repeat(200)}acme`, `${'ab,'.repeat(199)}acme`, 'acme,'.repeat(401), 'acme,,,globex', '%2C') },
      { weight: 1, arbitrary: longString },
    );
    const query = queryString({ window: fc.constantFrom('1h', '24h', '7d', '30d', '2h', '24H', '', 'constructor', '__proto__'), tenants });
    const slug = /^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$/;
    const answers = { shown: 0, none: 0, refused: 0 };
    await property('GET /api/overview', 100, [query], async (q) => {
      const path = `/api/overview${q ? `?${q}` : ''}`;
      const read = parseQuery(new URL(`${base}${path}`).search.slice(1));
      const named = typeof read.tenants === 'string' ? [...new Set(read.tenants.split(',').map((t) => t.trim()).filter(Boolean))] : [];
      const tenantsOk =
        read.tenants === undefined || (typeof read.tenants === 'string' && read.tenants.length <= 2_000 && named.length <= 200 && named.every((t) => slug.test(t)));
      const windowOk = read.window === undefined || (typeof read.window === 'string' && ['1h', '24h', '7d', '30d'].includes(read.window));
      const valid = Object.keys(read).every((k) => k === 'window' || k === 'tenants') && windowOk && tenantsOk;
      const response = await send('GET', path, tokens.readonly, {}, [valid ? 200 : 400]);
      if (response.status !== 200) {
        answers.refused += 1;
        return;
      }
      const shown = (response.body.tenants as { tenant: { slug: string } }[]).map((t) => t.tenant.slug);
      const want = named.length === 0 || named.includes(TENANT) ? [TENANT] : [];
      if (response.body.window !== (read.window ?? '24h') || JSON.stringify(shown) !== JSON.stringify(want)) {
        throw new PropertyViolation(`overview answer ${JSON.stringify(response.body).slice(0, 200)} for tenants ${JSON.stringify(named)}`);
      }
      answers[shown.length > 0 ? 'shown' : 'none'] += 1;
    });
    console.log('[fuzz] overview answers:', answers);
    expect(Math.min(answers.shown, answers.refused)).toBeGreaterThanOrEqual(3);
  });

  it('GET /api/tenants/:t/inventory (query)', async () => {
    const query = queryString({
      q: fc.oneof(hostileString, longString, fc.constantFrom('Policy', 'policy 3', '%', '_', '\\', '50%_off', 'p-1', '', "' or 1=1 --")),
      policyType: fc.oneof(hostileString, fc.constantFrom('t0', 't1', '', '%')),
      limit: numericString,
      cursor: keysetCursorArb(2),
    });
    await property('GET /api/tenants/:t/inventory', 120, [query], async (q) => {
      const response = await send('GET', `${T}/inventory${q ? `?${q}` : ''}`, tokens.readonly, {}, [200, 400]);
      if (response.status === 200 && (!isObject(response.body.snapshot) || !Array.isArray(response.body.policies) || !('nextCursor' in response.body))) {
        throw new PropertyViolation('inventory answer without { snapshot, policies, nextCursor }');
      }
    });
  });

  it('GET /api/tenants/:t/drift/findings (query)', async () => {
    const query = queryString({
      run: fc.oneof(fc.uuid(), hostileString, fc.constantFrom(ids.driftRun, ids.driftRun.toUpperCase(), ids.seedRun, ids.globexRun, '')),
      change: fc.constantFrom('added', 'removed', 'modified', 'changed', 'ADDED', ''),
      limit: numericString,
      cursor: keysetCursorArb(3),
    });
    await property('GET /api/tenants/:t/drift/findings', 120, [query], async (q) => {
      const response = await send('GET', `${T}/drift/findings${q ? `?${q}` : ''}`, tokens.readonly, {}, [200, 400, 404]);
      if (response.status === 200) {
        if (!Array.isArray(response.body.findings) || !isObject(response.body.counts)) throw new PropertyViolation('findings answer without { findings, counts }');
        if (response.body.generation?.runId !== ids.driftRun) throw new PropertyViolation(`findings of ${String(response.body.generation?.runId)}, not the tenant's one generation`);
      }
    });
  });

  it('PUT /api/tenants/:t/policy-source as the owner (status predicted by a model of the source schema)', async () => {
    const goodCollection = fc.constantFrom('deviceManagement/deviceConfigurations', 'deviceManagement/deviceCompliancePolicies', 'a', 'a_b.c-d/e', 'x'.repeat(200));
    const collection = fc.oneof(
      { weight: 2, arbitrary: goodCollection },
      { weight: 2, arbitrary: fc.constantFrom('a//b', '../x', 'a..b', '.', 'x/.', '/a', 'a/', 'a b', 'é', 'x'.repeat(201)) },
      { weight: 1, arbitrary: hostileString },
    );
    const collections = fc.oneof(
      { weight: 3, arbitrary: fc.uniqueArray(goodCollection, { minLength: 1, maxLength: 3 }) },
      { weight: 2, arbitrary: fc.array(collection, { maxLength: 22 }) },
    );
    const goodUrls = Object.keys(SOURCE_URLS).filter((url) => SOURCE_URLS[url]);
    const url = fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...goodUrls) }, { weight: 2, arbitrary: fc.constantFrom(...Object.keys(SOURCE_URLS)) }, { weight: 1, arbitrary: hostileString });
    const bearer = shaped({ type: fc.constant('bearer'), token: fc.oneof({ weight: 3, arbitrary: fc.constant(FUZZ_SOURCE_TOKEN) }, { weight: 1, arbitrary: fc.constantFrom('', 'a b', 'x\r\ny', 'é') }, { weight: 1, arbitrary: longString }, { weight: 1, arbitrary: hostileString }) });
    const clientCredentials = shaped({
      type: fc.constant('client_credentials'),
      tokenUrl: url,
      clientId: fc.oneof({ weight: 3, arbitrary: fc.constant('app-1') }, { weight: 1, arbitrary: hostileString }, { weight: 1, arbitrary: longString }),
      clientSecret: fc.oneof({ weight: 3, arbitrary: fc.constant(FUZZ_SOURCE_SECRET) }, { weight: 1, arbitrary: hostileString }, { weight: 1, arbitrary: longString }),
      scope: fc.oneof(fc.constant('https://graph.example.com/.default'), hostileString),
    });
    const graph = shaped({
      kind: fc.constant('graph'),
      baseUrl: url,
      collections,
      credential: fc.oneof(fc.constant(null), bearer, clientCredentials),
    });
    const simulated = shaped({
      kind: fc.constant('simulated'),
      simulated: shaped({
        policies: fc.oneof(fc.integer({ min: -2, max: 20_002 }), fc.constantFrom(1, 40, 20_000, 20_001)),
        revision: fc.oneof(fc.integer({ min: -2, max: 100_002 }), fc.constantFrom(0, 100_000, 100_001)),
        failItems: fc.oneof(fc.array(fc.string({ minLength: 1, maxLength: 10 }), { maxLength: 4 }), fc.array(fc.oneof(hostileString, longString), { maxLength: 4 })),
        unavailable: fc.boolean(),
      }),
    });
    // Whole bodies with every required field (mostly well-formed values), beside the field-by-field mutants.
    const fullGraph = fc.record(
      { kind: fc.constant('graph'), baseUrl: url, collections, credential: fc.oneof(fc.constant(null), bearer, clientCredentials) },
      { requiredKeys: ['kind', 'baseUrl', 'collections'] },
    );
    const fullSimulated = fc.record(
      {
        kind: fc.constant('simulated'),
        simulated: fc.record(
          { policies: fc.integer({ min: 0, max: 20_001 }), revision: fc.integer({ min: 0, max: 100_001 }), failItems: fc.array(fc.string({ minLength: 1, maxLength: 10 }), { maxLength: 3 }), unavailable: fc.boolean() },
          { requiredKeys: [] },
        ),
      },
      { requiredKeys: ['kind'] },
    );
    const body = fc.oneof(
      { weight: 2, arbitrary: fullGraph },
      { weight: 1, arbitrary: fullSimulated },
      { weight: 2, arbitrary: graph },
      { weight: 1, arbitrary: simulated },
      { weight: 1, arbitrary: shaped({ kind: fc.oneof(hostileString, fc.constantFrom('Graph', 'simulated ', '')) }) },
    );
    const statuses: Record<number, number> = {};
    await property('PUT /api/tenants/:t/policy-source', 150, [bodyFor(body)], async (request) => {
      const read = readBody(request);
      const expected =
        read.kind === 'tooLarge' ? [413] : read.kind === 'malformed' ? [400] : read.kind === 'unknown' ? [200, 400, 413] : policySourceExpectation(read.value);
      const response = await send('PUT', `${T}/policy-source`, tokens.owner, request, expected);
      if (response.status === 200 && (!isObject(response.body.source) || typeof response.body.source.hasCredential !== 'boolean')) {
        throw new PropertyViolation('policy-source answer without { source: { …, hasCredential } }');
      }
      statuses[response.status] = (statuses[response.status] ?? 0) + 1;
    });
    // The generators reach both sides of the model, not only refusals.
    console.log('[fuzz] PUT policy-source answers:', statuses);
    expect(statuses[200] ?? 0).toBeGreaterThanOrEqual(3);
  });

  it('/api/tenants/:tenant path parameter on every tenant route', async () => {
    const routes = fc.constantFrom(
      { method: 'GET', path: '/runs', as: 'owner' },
      { method: 'GET', path: '/stats', as: 'owner' },
      { method: 'GET', path: '/operation-types', as: 'owner' },
      { method: 'GET', path: '/inventory', as: 'owner' },
      { method: 'GET', path: '/drift/findings', as: 'owner' },
      { method: 'GET', path: '/drift/status', as: 'owner' },
      { method: 'GET', path: '/failure-reasons', as: 'owner' },
      { method: 'GET', path: '/baselines', as: 'owner' },
      { method: 'GET', path: `/runs/${ids.seedRun}/history`, as: 'owner' },
      { method: 'POST', path: '/runs', as: 'readonly' },
      { method: 'POST', path: '/kiosk-tokens', as: 'readonly' },
      { method: 'POST', path: '/integration-tokens', as: 'readonly' },
      { method: 'POST', path: `/runs/${crypto.randomUUID()}/events`, as: 'readonly' },
    );
    const slug = fc.oneof(pathSegment([]), fc.constantFrom(TENANT, 'ACME', 'globex', '%61cme', 'acme%00', 'acme%20'));
    await property('/api/tenants/:tenant (path)', 50, [slug, routes], async (tenant, route) => {
      const decoded = decodedSegment(tenant);
      const expected = decoded === null ? [400] : decoded === TENANT && route.as === 'owner' ? [200] : [403];
      const request = route.method === 'POST' ? { body: { type: 'demo.batch' } } : {};
      await send(route.method, `/api/tenants/${tenant}${route.path}`, tokens[route.as as 'owner' | 'readonly'], request, expected);
    });
  });

  it('POST /api/tenants/:t/kiosk-tokens and /integration-tokens', async () => {
    const label = fc.oneof(hostileString, longString, fc.string({ maxLength: 20 }), fc.constantFrom('  ', ' wall ', '\u00a0', '\u2028'));
    for (const kind of ['kiosk', 'integration'] as const) {
      await property(`POST /api/tenants/:t/${kind}-tokens`, 60, [bodyFor(shaped({ label }))], async (request) => {
        const read = readBody(request);
        const valid = (v: unknown) => isObject(v) && onlyKeys(v, ['label']) && safeOfLength(v.label, 0, Infinity) && labelOk(v.label as string);
        const expected =
          read.kind === 'tooLarge' ? [413] : read.kind === 'malformed' ? [400] : read.kind === 'unknown' ? [201, 400, 413] : valid(read.value) ? [201] : [400];
        const response = await send('POST', `${T}/${kind}-tokens`, tokens.owner, request, expected);
        if (response.status === 201) created[kind === 'kiosk' ? 'kioskTokens' : 'integrationTokens'] += 1;
      });
    }
  });

  it('POST /api/kiosk-tokens (tenants listed; the owner manages acme only)', async () => {
    // Weighted towards bodies that pass, so both sides of the model are reached (the slugs also meet the access check).
    const label = fc.oneof(
      { weight: 3, arbitrary: fc.constantFrom('NOC wall', ' wall ', 'é😀') },
      { weight: 2, arbitrary: fc.oneof(hostileString, longString, fc.string({ maxLength: 20 }), fc.constantFrom('  ', '\u00a0')) },
    );
    const slug = fc.oneof(
      { weight: 4, arbitrary: fc.constantFrom(TENANT, 'globex', 'nope', 'ACME', 'acme-', '-acme', 'a'.repeat(64), 'a'.repeat(65), 'acme,globex', '') },
      { weight: 1, arbitrary: hostileString },
    );
    const tenants = fc.oneof(
      { weight: 3, arbitrary: fc.constantFrom([TENANT], [TENANT, TENANT]) },
      { weight: 4, arbitrary: fc.array(slug, { maxLength: 4 }) },
      { weight: 1, arbitrary: fc.integer({ min: 49, max: 52 }).map((n) => Array.from({ length: n }, () => TENANT)) },
    );
    const statuses: Record<number, number> = {};
    const body = fc.oneof({ weight: 2, arbitrary: fc.record({ label, tenants }) }, { weight: 3, arbitrary: shaped({ label, tenants }) });
    await property('POST /api/kiosk-tokens', 80, [bodyFor(body)], async (request) => {
      const read = readBody(request);
      const expected =
        read.kind === 'tooLarge' ? [413] : read.kind === 'malformed' ? [400] : read.kind === 'unknown' ? [201, 400, 403, 413] : multiKioskExpectation(read.value);
      const response = await send('POST', '/api/kiosk-tokens', tokens.owner, request, expected);
      if (response.status === 201) created.kioskTokens += 1;
      statuses[response.status] = (statuses[response.status] ?? 0) + 1;
    });
    console.log('[fuzz] POST /api/kiosk-tokens answers:', statuses);
    expect(statuses[201] ?? 0).toBeGreaterThanOrEqual(1);
  });

  it('POST /api/tenants/:t/webhooks', async () => {
    // URLs whose answer does not depend on this machine's DNS: public and private IP literals, `.invalid` names
    // (never resolve, RFC 6761), other schemes and forms; hostile text besides.
    const url = fc.oneof(
      { weight: 6, arbitrary: fc.constantFrom('https://1.1.1.1/hooks/runboard', 'http://8.8.8.8:8080/x?y=1', 'https://[2606:4700:4700::1111]/h', ' https://9.9.9.9/padded ') },
      {
        weight: 2,
        arbitrary: fc.constantFrom(
          'http://127.0.0.1/h', 'http://10.0.0.1/h', 'http://169.254.169.254/latest', 'http://[::1]/', 'http://0x7f.1/', 'http://localhost/h',
          'https://hooks.example.invalid/x', 'ftp://1.1.1.1/', 'https://user:pw@1.1.1.1/', `https://1.1.1.1/${'a'.repeat(2000)}`, '', '   ',
        ),
      },
      { weight: 1, arbitrary: hostileString },
      // Any URL shape, on a public address.
      { weight: 1, arbitrary: fc.webUrl({ withQueryParameters: true, withFragments: true }).map((u) => u.replace(/^(https?:\/\/)[^/?#]+/, '$11.0.0.1')) },
    );
    const someOf = <T>(good: T[], bad: unknown[]) =>
      fc.oneof({ weight: 4, arbitrary: fc.subarray(good) }, { weight: 1, arbitrary: fc.subarray([...good, ...bad], { minLength: 1 }) });
    const body = shaped({
      url,
      events: fc.oneof({ weight: 8, arbitrary: fc.subarray(['run.completed', 'run.queued'], { minLength: 1 }) }, { weight: 1, arbitrary: someOf([], ['run.started', '', 'x']) }),
      types: someOf(['demo.batch', 'runs.purge'], ['nope.never', 'NOT', 'demo']),
      outcomes: someOf(['succeeded', 'failed', 'partially_succeeded'], ['pending', 'ok']),
      format: fc.constantFrom('json', 'slack', 'teams'),
    });
    const statuses: Record<number, number> = {};
    await property('POST /api/tenants/:t/webhooks', 100, [bodyFor(body)], async (request) => {
      const read = readBody(request);
      const expected =
        read.kind === 'tooLarge' ? [413] : read.kind === 'malformed' ? [400] : read.kind === 'unknown' ? [201, 400, 409, 413] : webhookExpectation(read.value, created.webhooks);
      const response = await send('POST', `${T}/webhooks`, tokens.owner, request, expected);
      if (response.status === 201) {
        created.webhooks += 1;
        if (typeof response.body.secret !== 'string' || !response.body.secret.startsWith('whsec_')) throw new PropertyViolation('201 without a whsec_ secret');
        secrets.push(response.body.secret);
      }
      statuses[response.status] = (statuses[response.status] ?? 0) + 1;
    });
    console.log('[fuzz] POST webhooks answers:', statuses);
    // The model's accepting side, whatever the seed generated: one body it calls valid is created.
    if (!statuses[201]) {
      const valid = await send('POST', `${T}/webhooks`, tokens.owner, { body: { url: 'https://1.1.1.1/always', events: ['run.completed'] } }, created.webhooks < 20 ? [201] : [409]);
      if (valid.status === 201) {
        created.webhooks += 1;
        secrets.push(valid.body.secret);
        statuses[201] = 1;
      }
    }
    expect(statuses[201] ?? 0).toBeGreaterThanOrEqual(1);
    // Listing them shows no secret (checkResponse refuses any known secret in any answer).
    await send('GET', `${T}/webhooks`, tokens.owner, {}, [200]);
  });

  it('POST /api/tenants/:t/runs/:id/events (integration token)', async () => {
    const count = fc.oneof({ weight: 3, arbitrary: fc.integer({ min: 0, max: 50 }) }, { weight: 1, arbitrary: extremeNumber });
    const failure = shaped({ code: fc.constantFrom('item_failed', 'x'), message: fc.oneof(hostileString, fc.string()), item: hostileString });
    const event = shaped({
      // Completion is rare, so the mirrored runs stay open to progress for a while.
      kind: fc.oneof(
        { weight: 2, arbitrary: fc.constant('started') },
        { weight: 6, arbitrary: fc.constant('progress') },
        { weight: 1, arbitrary: fc.constant('completed') },
        { weight: 1, arbitrary: hostileString },
      ),
      eventId: fc.oneof(hostileString, fc.constantFrom('e1', 'e2')),
      total: count,
      succeeded: count,
      failed: count,
      skipped: count,
      failures: fc.array(failure, { maxLength: 3 }),
      abort: fc.boolean(),
    });
    const runIds = fc.oneof(
      { weight: 4, arbitrary: fc.constantFrom(...ids.mirroredRuns) },
      { weight: 1, arbitrary: fc.constantFrom(ids.seedRun, ids.globexRun) },
      { weight: 2, arbitrary: pathSegment([]) },
    );
    await property('POST /api/tenants/:t/runs/:id/events', 120, [runIds, bodyFor(event)], async (id, request) => {
      const read = readBody(request);
      const decoded = decodedSegment(id);
      const uuid = decoded !== null && /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(decoded);
      let expected: number[];
      if (read.kind === 'tooLarge') expected = [413];
      else if (read.kind === 'unknown') expected = [200, 400, 404, 409, 413];
      else if (read.kind === 'malformed' || decoded === null) expected = [400];
      else if (!uuid) expected = [404];
      else if (!eventValid(read.value)) expected = [400];
      else if (ids.mirroredRuns.includes(decoded.toLowerCase())) expected = [200, 409];
      else if (decoded.toLowerCase() === ids.seedRun) expected = [409];
      else expected = [404];
      await send('POST', `${T}/runs/${id}/events`, tokens.integration, request, expected);
    });
  });

  it('POST /api/tenants/:t/runs/:id/events: long sequences of valid progress events on a fresh mirrored run', async () => {
    // Each event is within the documented bounds (counts 0–10 000 000); what accumulates must not break the run.
    const count = fc.oneof({ weight: 3, arbitrary: fc.constant(10_000_000) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 10_000_000 }) });
    const progress = fc.record({ kind: fc.constant('progress'), succeeded: count, failed: count, skipped: count });
    let key = 0;
    const name = 'POST /api/tenants/:t/runs/:id/events (sequences)';
    await property(
      name,
      3,
      [fc.array(progress, { minLength: 75, maxLength: 110 })],
      async (events) => {
        const start = await call(base, 'POST', `${T}/runs`, { token: tokens.integration, body: { type: 'demo.external', scope: { key: `sequence-${key++}` } } });
        expect(start.status).toBe(202);
        created.runs += 1;
        const path = `${T}/runs/${start.body.run.id}/events`;
        await send('POST', path, tokens.integration, { body: { kind: 'started' } }, [200]);
        let processed = 0;
        for (const [index, event] of events.entries()) {
          processed += event.succeeded + event.failed + event.skipped;
          try {
            await send('POST', path, tokens.integration, { body: event }, [200, 400, 409]);
          } catch (error) {
            throw new PropertyViolation(`event #${index + 1} (processed would be ${processed}): ${(error as Error).message}`);
          }
        }
        return events.length + 2;
      },
      // Shrinking would replay up to 110 requests per attempt: the first failure is reported as found.
      { endOnFailure: true },
    );
  });

  it('over-long URLs (path and query parameters past the request-head limit)', async () => {
    const where = fc.constantFrom(
      { method: 'GET', path: `${T}/runs/{x}` },
      { method: 'POST', path: '/api/notifications/{x}/read' },
      { method: 'GET', path: '/api/notifications?cursor={x}' },
      { method: 'GET', path: `${T}/runs?type={x}` },
    );
    await property('over-long URLs', 20, [fc.integer({ min: 9_000, max: 40_000 }), where], async (length, { method, path: template }) => {
      const path = template.replace('{x}', 'a'.repeat(length));
      // Long but well-formed input is refused like any other bad input: a 4xx in the contract's error shape.
      await send(method, path, tokens.owner, {}, [400, 404, 414, 431]);
    });
  });

  // Backup sets and restores (docs/api.md §10): rows written through the services (no worker here).
  describe('backup sets and restores', () => {
    const seeded = { set: '', emptySet: '', globexSet: '', discarded: '', globexRestore: '', policies: ['p-0', 'p-1', 'p-2'] };

    beforeAll(async () => {
      const { backups, restores } = system.env.services;
      const acme = system.tenants[TENANT]!.tenant;
      const globex = system.tenants.globex!.tenant;
      const capture = (setId: string, externalId: string, runId: string) =>
        backups.capture(setId, { externalId, name: `Policy ${externalId}`, policyType: 't0', lastModified: null, settings: { externalId } }, runId);
      seeded.set = (await backups.create(acme, 'fuzz', null)).id;
      for (const externalId of seeded.policies) await capture(seeded.set, externalId, ids.seedRun);
      seeded.emptySet = (await backups.create(acme, 'empty', null)).id;
      seeded.globexSet = (await backups.create(globex, 'globex', null)).id;
      await capture(seeded.globexSet, 'p-0', ids.globexRun);
      // A discarded restore answers every transition with 409, whoever asks and however often.
      seeded.discarded = (await restores.create(acme, null, { backupSetId: seeded.set })).id;
      await restores.discard(systemActor(acme, 'test'), acme, seeded.discarded);
      seeded.globexRestore = (await restores.create(globex, null, { backupSetId: seeded.globexSet })).id;
    });

    it('POST /api/tenants/:t/backup-sets', async () => {
      const name = fc.oneof(hostileString, longString, fc.string({ maxLength: 20 }), fc.constantFrom('  ', ' nightly ', '\u00a0', '\u2028'));
      await property('POST /api/tenants/:t/backup-sets', 60, [bodyFor(shaped({ name }))], async (request) => {
        const read = readBody(request);
        const valid = (v: unknown) => isObject(v) && onlyKeys(v, ['name']) && safeOfLength(v.name, 0, Infinity) && labelOk(v.name as string);
        const expected =
          read.kind === 'tooLarge' ? [413] : read.kind === 'malformed' ? [400] : read.kind === 'unknown' ? [201, 400, 413] : valid(read.value) ? [201] : [400];
        await send('POST', `${T}/backup-sets`, tokens.operator, request, expected);
      });
    });

    it('GET /api/tenants/:t/backup-sets and /restores (query)', async () => {
      const query = queryString({ limit: numericString, cursor: cursorArb() });
      await property('GET /api/tenants/:t/backup-sets|restores', 80, [fc.constantFrom('backup-sets', 'restores'), query], async (list, q) => {
        const response = await send('GET', `${T}/${list}${q ? `?${q}` : ''}`, tokens.readonly, {}, [200, 400]);
        const key = list === 'restores' ? 'restores' : 'backupSets';
        if (response.status === 200 && (!Array.isArray(response.body[key]) || !('nextCursor' in response.body))) {
          throw new PropertyViolation(`list answer without { ${key}, nextCursor }`);
        }
      });
    });

    it('GET /api/tenants/:t/backup-sets/:id and /restores/:id', async () => {
      const candidates = () => [seeded.set, seeded.emptySet, seeded.globexSet, seeded.discarded, seeded.globexRestore];
      await property('GET /api/tenants/:t/backup-sets|restores/:id', 80, [fc.constantFrom('backup-sets', 'restores'), pathSegment(candidates())], async (what, id) => {
        const decoded = decodedSegment(id);
        const own = what === 'restores' ? [seeded.discarded] : [seeded.set, seeded.emptySet];
        const expected = decoded === null ? [400] : own.includes(decoded.toLowerCase()) ? [200] : [404];
        await send('GET', `${T}/${what}/${id}`, tokens.readonly, {}, expected);
      });
    });

    it('POST /api/tenants/:t/restores', async () => {
      const setIds = [seeded.set, seeded.emptySet, seeded.globexSet, crypto.randomUUID()];
      const body = shaped({
        backupSetId: fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...setIds) }, { weight: 1, arbitrary: fc.oneof(hostileString, fc.constantFrom('not-a-uuid', `${seeded.set}0`)) }),
        policyIds: fc.oneof(
          fc.array(fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...seeded.policies, 'not-captured') }, { weight: 1, arbitrary: fc.oneof(hostileString, longString) }), { maxLength: 4 }),
          fc.constant(Array.from({ length: 501 }, () => 'p-0')),
        ),
      });
      await property('POST /api/tenants/:t/restores', 100, [bodyFor(body)], async (request) => {
        const read = readBody(request);
        const expected =
          read.kind === 'tooLarge' ? [413] : read.kind === 'malformed' ? [400] : read.kind === 'unknown' ? [201, 400, 404, 409, 413] : restoreExpectation(read.value, setIds, seeded);
        await send('POST', `${T}/restores`, tokens.owner, request, expected);
      });
    });

    it('POST /api/tenants/:t/restores/:id/preview|execute|discard', async () => {
      const id = fc.oneof({ weight: 3, arbitrary: fc.constantFrom(seeded.discarded, seeded.globexRestore) }, { weight: 2, arbitrary: pathSegment([seeded.discarded]) });
      const action = fc.constantFrom('preview', 'execute', 'discard');
      const body = fc.oneof({ weight: 2, arbitrary: fc.constant<FuzzBody>({}) }, { weight: 1, arbitrary: fc.constant<FuzzBody>({ body: {} }) }, { weight: 3, arbitrary: bodyFor(shaped({ force: fc.boolean() })) });
      await property('POST /api/tenants/:t/restores/:id/:action', 100, [id, action, body], async (restoreId, act, request) => {
        const read = readBody(request);
        const decoded = decodedSegment(restoreId);
        const emptyBody = read.kind === 'value' && (read.value === undefined || (isObject(read.value) && Object.keys(read.value).length === 0));
        let expected: number[];
        if (read.kind === 'tooLarge') expected = [413];
        else if (read.kind === 'unknown') expected = [400, 404, 409, 413];
        else if (read.kind === 'malformed' || decoded === null || !emptyBody) expected = [400];
        else expected = decoded.toLowerCase() === seeded.discarded ? [409] : [404];
        await send('POST', `${T}/restores/${restoreId}/${act}`, tokens.owner, request, expected);
      });
    });
  });

  // Live channel ------------------------------------------------------------------------------------------------

  describe('socket payloads', () => {
    // subscribe/unsubscribe are rate limited per socket (a burst, then a few per second): a fresh socket every 20 messages.
    let client: RecordingClient | undefined;
    let used = 0;
    const socket = async (): Promise<RecordingClient> => {
      if (!client || !client.socket.connected || used >= 20) {
        client?.close();
        client = await RecordingClient.connect(base, { token: tokens.owner });
        used = 0;
      }
      used += 1;
      return client;
    };
    afterAll(() => client?.close());

    const payload = fc.oneof(
      { weight: 3, arbitrary: shaped({ tenant: fc.oneof(fc.constantFrom(TENANT, 'globex', 'nope', 'ACME', ''), hostileString, longString) }) },
      { weight: 2, arbitrary: fc.anything({ maxDepth: 3, maxKeys: 4, withNullPrototype: true, withBoxedValues: true }) },
      { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
      { weight: 1, arbitrary: fc.integer({ min: 2, max: 60 }).map((depth) => JSON.parse(`${'{"tenant":'.repeat(depth)}"acme"${'}'.repeat(depth)}`)) },
      { weight: 1, arbitrary: fc.constantFrom('{"__proto__":{"tenant":"acme"}}', '{"tenant":"acme","__proto__":{}}', '{"constructor":{"tenant":"acme"}}').map((t) => JSON.parse(t)) },
    );

    /** Emits and awaits the ack; `dropped` when the server closed the connection instead of answering. */
    const ackOf = async (live: RecordingClient, send: () => Promise<unknown>): Promise<{ ack: unknown } | { dropped: true }> => {
      try {
        return { ack: await send() };
      } catch (error) {
        await new Promise((resolve) => setTimeout(resolve, 10));
        if (live.socket.connected) throw new PropertyViolation(`a connected socket stopped answering (${(error as Error).message})`);
        return { dropped: true };
      }
    };

    /** After a dropped connection the server still takes new ones and answers them. */
    const freshSocketWorks = async () => {
      const fresh = await socket();
      const ack = await fresh.socket.timeout(5_000).emitWithAck('subscribe', { tenant: TENANT });
      if (!ack.ok) throw new PropertyViolation(`fresh socket refused: ${JSON.stringify(ack)}`);
    };

    for (const event of ['subscribe', 'unsubscribe'] as const) {
      it(`${event} with arbitrary payloads (ack predicted; the socket stays connected)`, async () => {
        await property(`socket ${event}`, event === 'subscribe' ? 120 : 60, [payload], async (value) => {
          const live = await socket();
          const outcome = await ackOf(live, () => live.socket.timeout(5_000).emitWithAck(event, value as { tenant: string }));
          // Over the socket's message limit (64 KB) the server may close the connection; below it, never.
          const small = Buffer.byteLength(JSON.stringify([event, value ?? null])) < 60 * 1024;
          if ('dropped' in outcome) {
            if (small) throw new PropertyViolation('the server dropped the connection for a small payload');
            return freshSocketWorks();
          }
          const sentAs: unknown = JSON.parse(JSON.stringify([value ?? null]))[0];
          const valid = isObject(sentAs) && onlyKeys(sentAs, ['tenant']) && lengthIn(sentAs.tenant, 1, 64);
          const expected = !valid ? { ok: false, error: 'invalid' } : event === 'unsubscribe' || sentAs.tenant === TENANT ? { ok: true } : { ok: false, error: 'forbidden' };
          if (JSON.stringify(outcome.ack) !== JSON.stringify(expected)) {
            throw new PropertyViolation(`ack ${JSON.stringify(outcome.ack)}, expected ${JSON.stringify(expected)}`);
          }
        });
      });
    }

    it('arbitrary event names and raw packets (server survives; connection kept unless the packet is invalid)', async () => {
      const RESERVED = ['connect', 'connect_error', 'disconnect', 'disconnecting', 'newListener', 'removeListener'];
      const name = fc.oneof(
        hostileString,
        fc.constantFrom(...RESERVED, 'subscribe', 'unsubscribe', 'run:update', 'resync', 'notification:new', '__proto__', 'constructor', 'toString', 'hasOwnProperty', 'error'),
        fc.integer(),
      );
      const packet = fc.oneof(
        { weight: 4, arbitrary: fc.tuple(name, fc.array(fc.jsonValue({ maxDepth: 2 }), { maxLength: 3 })).map(([n, args]) => ({ text: `2${JSON.stringify([n, ...args])}`, event: n })) },
        { weight: 1, arbitrary: fc.string({ unit: 'binary-ascii', maxLength: 30 }).map((text) => ({ text, event: undefined as string | number | undefined })) },
        {
          weight: 1,
          arbitrary: fc
            .constantFrom('', '2', '2[]', '2{}', '2["x"', '21["x"]', '51-["x",{"_placeholder":true,"num":0}]', '3[]', '31[]', '1', '0', '0{}', '4"x"', '9', '2/other,["x"]', '0/other,{}')
            .map((text) => ({ text, event: undefined as string | number | undefined })),
        },
      );
      await property('socket raw events', 100, [packet], async ({ text, event }) => {
        const live = await socket();
        used += 1; // the raw packet may itself be a subscribe/unsubscribe
        // Socket.IO packets as the protocol frames them (type digit, namespace, ack id, JSON), inside an engine.io message.
        live.socket.io.engine.send(text);
        if (text.startsWith('1')) {
          // A DISCONNECT packet: the server lets this socket go as asked (the client does not know yet).
          live.close();
          return freshSocketWorks();
        }
        // A probe through the same socket: answered when the packet was harmless, else the server dropped the connection.
        const outcome = await ackOf(live, () => live.socket.timeout(5_000).emitWithAck('unsubscribe', { tenant: TENANT }));
        const wellFormedEvent = typeof event === 'number' || (typeof event === 'string' && !RESERVED.includes(event));
        if ('dropped' in outcome) {
          if (wellFormedEvent) throw new PropertyViolation(`a well-formed event ${JSON.stringify(text.slice(0, 80))} dropped the connection`);
          return freshSocketWorks();
        }
        if (JSON.stringify(outcome.ack) !== '{"ok":true}') throw new PropertyViolation(`probe ack ${JSON.stringify(outcome.ack)}`);
      });
    });
  });

  // Afterwards --------------------------------------------------------------------------------------------------

  describe('afterwards', () => {
    it('the server is ready', async () => {
      const ready = await call(base, 'GET', '/readyz');
      expect(ready.status).toBe(200);
    });

    it('only inputs the models call valid created runs, notifications or tokens', async () => {
      expect(await countAll()).toEqual({
        runs: before.runs! + created.runs,
        notifications: before.notifications! + created.notifications,
        sessions: before.sessions,
        kioskTokens: before.kioskTokens! + created.kioskTokens,
        integrationTokens: before.integrationTokens! + created.integrationTokens,
        webhooks: before.webhooks! + created.webhooks,
      });
      for (const key of ['polluted', 'isAdmin', 'tenant', 'label', 'kind']) expect(({} as Record<string, unknown>)[key], key).toBeUndefined();
    });

    it(`sent at least ${MIN_TOTAL_INPUTS} generated inputs across every route and socket event`, () => {
      const total = Object.values(sent).reduce((a, b) => a + b, 0);
      console.log(`[fuzz] ${total} inputs (seed ${BASE_SEED}):`, sent);
      expect(Object.keys(sent)).toHaveLength(32);
      expect(total).toBeGreaterThanOrEqual(MIN_TOTAL_INPUTS);
    });
  });
});

// Models -----------------------------------------------------------------------------------------------------

/** Every string, number and boolean of a scope, at any depth (what a search can find in it). */
function scopeValues(value: unknown): (string | number | boolean)[] {
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return [value];
  if (Array.isArray(value)) return value.flatMap(scopeValues);
  if (value && typeof value === 'object') return Object.values(value).flatMap(scopeValues);
  return [];
}

/** A run's search text as stored: its type, then its scope values in the order the type's schema lists them. */
const STORED_TEXT = 2_000;

/**
 * docs/api.md §11 as a model: whether a search for `needle` (trimmed, lower-cased) `must` find `run`, by plain
 * substring tests — its id (8+ characters of it), type or label, initiator's name or email, one of its failure
 * codes, or one of its scope values (lower-cased, within the 2,000 stored characters) — or `may` (the needle
 * spans two values of the stored text, joined by a space: the contract says nothing either way). Never by any
 * pattern syntax.
 */
function searchOracle(catalog: Catalog, users: Map<string, { name: string; email: string }>, codes: Map<string, string[]>) {
  const piecesOf = (run: RunView) => {
    const shape = Object.keys((catalog.get(run.type)?.scope as unknown as { shape?: Record<string, unknown> } | undefined)?.shape ?? {});
    const keys = [...shape.filter((k) => k in run.scope), ...Object.keys(run.scope).filter((k) => !shape.includes(k))];
    return [run.type, ...keys.flatMap((k) => scopeValues(run.scope[k]).map((v) => String(v).toLowerCase()))];
  };
  /** Whether a single value holds the needle within the stored characters. */
  const inOneValue = (pieces: string[], needle: string) => {
    let start = pieces[0]!.length + 1;
    for (const piece of pieces.slice(1)) {
      for (let at = piece.indexOf(needle); at !== -1; at = piece.indexOf(needle, at + 1)) {
        if (start + at + needle.length <= STORED_TEXT) return true;
      }
      start += piece.length + 1;
    }
    return false;
  };
  return (run: RunView, needle: string): 'must' | 'may' | 'no' => {
    const user = run.initiator ? users.get(run.initiator.id) : undefined;
    const pieces = piecesOf(run);
    const must =
      (needle.length >= 8 && run.id.startsWith(needle)) ||
      run.type.includes(needle) ||
      run.label.toLowerCase().includes(needle) ||
      (user !== undefined && (user.name.toLowerCase().includes(needle) || user.email.includes(needle))) ||
      (codes.get(run.id) ?? []).includes(needle) ||
      inOneValue(pieces, needle);
    if (must) return 'must';
    return pieces.join(' ').slice(0, STORED_TEXT).includes(needle) ? 'may' : 'no';
  };
}

/** Cursors: base64url JSON of junk, of almost-right [instant, uuid] pairs, or not base64 at all. */
function cursorArb(): fc.Arbitrary<string> {
  const b64 = (value: unknown) => Buffer.from(JSON.stringify(value) ?? '').toString('base64url');
  const instant = fc.oneof(
    fc.date({ noInvalidDate: true }).map((d) => `${d.toISOString().slice(0, 23)}123Z`),
    // The edges of the calendars: JavaScript has a year 0, PostgreSQL does not.
    fc.date({ min: new Date('0000-01-01T00:00:00Z'), max: new Date('0001-12-31T23:59:59Z'), noInvalidDate: true }).map((d) => `${d.toISOString().slice(0, 23)}000Z`),
    fc.constantFrom('2026-02-30T00:00:00.000000Z', '0000-01-01T00:00:00.000000Z', '9999-12-31T23:59:59.999999Z', '2026-11-23T10:00:00.000000+01:00'),
    hostileString,
  );
  return fc.oneof(
    { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 2 }).map(b64) },
    { weight: 4, arbitrary: fc.tuple(instant, fc.oneof({ weight: 3, arbitrary: fc.uuid() }, { weight: 1, arbitrary: hostileString })).map(b64) },
    { weight: 1, arbitrary: hostileString },
    { weight: 1, arbitrary: longString },
  );
}

/** Keyset cursors of the inventory (2 parts) and findings (3): almost-right text tuples, junk, not base64. */
function keysetCursorArb(parts: number): fc.Arbitrary<string> {
  const b64 = (value: unknown) => Buffer.from(JSON.stringify(value) ?? '').toString('base64url');
  const part = fc.oneof(fc.constantFrom('added', 'modified', 'Policy 3', 'p-1', crypto.randomUUID()), hostileString, longString);
  return fc.oneof(
    { weight: 4, arbitrary: fc.array(part, { minLength: parts - 1, maxLength: parts + 1 }).map(b64) },
    { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 2 }).map(b64) },
    { weight: 1, arbitrary: hostileString },
    { weight: 1, arbitrary: longString },
  );
}

/**
 * A successful inventory sync of 30 policies and a drift generation with findings of each change, written
 * through the services (this system has no worker), so the fuzzed reads page through real rows.
 */
async function seedInventoryAndDrift(system: System): Promise<string> {
  const { lifecycle, catalog, inventory, drift } = system.env.services;
  const tenant = system.tenants[TENANT]!.tenant;
  const complete = async (type: string, scope: Record<string, unknown>, write: (runId: string) => Promise<unknown>) => {
    const { run } = await lifecycle.start({ tenant, declaration: catalog.get(type)!, scope, initiatorId: null, by: TEST_AUTHOR });
    await lifecycle.markStarted(run.id, TEST_AUTHOR);
    await write(run.id);
    await lifecycle.complete(run.id, { succeeded: 1 }, TEST_AUTHOR, ['running']);
    return run.id;
  };
  const policies = Array.from({ length: 30 }, (_, i) => ({ externalId: `p-${i}`, name: `Policy ${i % 7} 50%_off\\`, policyType: `t${i % 3}`, lastModified: null, settings: { i } }));
  const syncs = [];
  for (let s = 0; s < 2; s++) syncs.push(await complete('inventory.sync', {}, (runId) => inventory.record(runId, tenant.id, policies)));
  const changes = ['added', 'removed', 'modified'] as const;
  return complete('drift.generate', { baselineRunId: syncs[0], currentRunId: syncs[1] }, (runId) =>
    drift.record(runId, tenant.id, policies.map((p, i) => ({ externalId: p.externalId, name: p.name, policyType: p.policyType, change: changes[i % 3]!, fields: [{ path: 'i', before: '1', after: '2' }], fieldsOmitted: 0 }))),
  );
}

/** What POST /restores answers a manager (docs/api.md §10): body → the set (404) → its policies (400) or emptiness (409). */
function restoreExpectation(body: unknown, validSetIds: string[], seeded: { set: string; emptySet: string; policies: string[] }): number[] {
  if (!isObject(body) || !onlyKeys(body, ['backupSetId', 'policyIds'])) return [400];
  if (typeof body.backupSetId !== 'string' || !validSetIds.includes(body.backupSetId)) return [400];
  const policyIds = body.policyIds;
  const given = 'policyIds' in body;
  if (given && !(Array.isArray(policyIds) && policyIds.length >= 1 && policyIds.length <= 500 && policyIds.every((id) => safeOfLength(id, 1, 200)))) return [400];
  if (body.backupSetId === seeded.set) return !given || (policyIds as string[]).every((id) => seeded.policies.includes(id)) ? [201] : [400];
  if (body.backupSetId === seeded.emptySet) return given ? [400] : [409];
  return [404];
}

/** What POST …/webhooks answers the tenant's owner (docs/api.md §13), `existing` webhooks already made. */
function webhookExpectation(body: unknown, existing: number): number[] {
  if (!isObject(body) || !onlyKeys(body, ['url', 'events', 'types', 'outcomes', 'format'])) return [400];
  const { url, events, types, outcomes, format } = body;
  const list = (value: unknown, max: number, ok: (item: unknown) => boolean) => Array.isArray(value) && value.length <= max && value.every(ok);
  if (!list(events, 10, (e) => e === 'run.completed' || e === 'run.queued') || (events as unknown[]).length === 0) return [400];
  if (types !== undefined && !list(types, 50, (t) => t === 'demo.batch' || t === 'runs.purge')) return [400];
  if (outcomes !== undefined && !list(outcomes, 10, (o) => o === 'succeeded' || o === 'failed' || o === 'partially_succeeded')) return [400];
  if (Array.isArray(outcomes) && outcomes.length > 0 && !(events as unknown[]).includes('run.completed')) return [400];
  if (format !== undefined && format !== 'json' && format !== 'slack') return [400];
  if (!safeOfLength(url, 0, Infinity)) return [400];
  const trimmed = (url as string).trim();
  if (!lengthIn(trimmed, 1, 2000)) return [400];
  const check = checkTarget(trimmed, { allowPrivate: false });
  if (!check.ok) return [400];
  const host = check.url.hostname.replace(/^\[(.*)\]$/, '$1');
  const created = existing < 20 ? [201] : [409];
  if (isIP(host)) return refusedAddressReason(host) === null ? created : [400];
  // A name: `.invalid` never resolves; any other depends on this machine's resolver.
  return host.endsWith('.invalid') ? [400] : [...created, 400];
}

/** `safeString().trim().min(1).max(200)` */
function labelOk(label: string): boolean {
  return lengthIn(label.trim(), 1, 200);
}

/**
 * What POST /api/kiosk-tokens answers acme's owner (docs/api.md §12): the body first (a label, 1–50 tenant slugs),
 * then every tenant listed must be one the caller manages — acme only; any other slug, real or not, is a 403.
 */
function multiKioskExpectation(body: unknown): number[] {
  if (!isObject(body) || !onlyKeys(body, ['label', 'tenants'])) return [400];
  if (!safeOfLength(body.label, 0, Infinity) || !labelOk(body.label as string)) return [400];
  const { tenants } = body;
  if (!Array.isArray(tenants) || tenants.length < 1 || tenants.length > 50) return [400];
  if (!tenants.every((t) => typeof t === 'string' && /^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$/.test(t))) return [400];
  return tenants.every((t) => t === TENANT) ? [201] : [403];
}

/** What POST /runs answers an operator of the tenant (docs/api.md §2, §3, §7; parse → catalog → role → scope). */
function startExpectation(body: unknown): number[] {
  if (!isObject(body) || !onlyKeys(body, ['type', 'scope', 'initiator'])) return [400];
  if (!lengthIn(body.type, 1, 100)) return [400];
  if ('initiator' in body && !(isObject(body.initiator) && onlyKeys(body.initiator, ['email']) && safeOfLength(body.initiator.email, 3, 254))) return [400];
  const scopeValid: Record<string, (scope: unknown) => boolean> = {
    'demo.batch': demoBatchValid,
    'demo.external': (s) => isObject(s) && onlyKeys(s, ['key']) && (s.key === undefined || lengthIn(s.key, 0, 200)),
    'runs.purge': () => true,
    // Without run ids the starter picks the tenant's two seeded syncs (docs/api.md §10); the generators' ids
    // (random, or none of them syncs) are refused, so only an empty scope is a start.
    'drift.generate': (s) => isObject(s) && onlyKeys(s, []),
  };
  const valid = Object.hasOwn(scopeValid, body.type) ? scopeValid[body.type] : undefined;
  if (!valid) return [400];
  if (body.type === 'runs.purge') return [403]; // owners only
  if ('initiator' in body) return [400]; // only integration tokens name an initiator
  const scope = 'scope' in body ? body.scope : {};
  return allTextSafe(scope) && valid(scope) ? [200, 202] : [400];
}

/** What POST /runs answers the tenant's integration token (docs/api.md §9). */
function integrationStartExpectation(body: unknown): number[] {
  if (!isObject(body) || !onlyKeys(body, ['type', 'scope', 'initiator'])) return [400];
  if (!lengthIn(body.type, 1, 100)) return [400];
  if ('initiator' in body && !(isObject(body.initiator) && onlyKeys(body.initiator, ['email']) && safeOfLength(body.initiator.email, 3, 254))) return [400];
  if (!['demo.external', 'demo.batch', 'runs.purge'].includes(body.type)) return [400];
  if (body.type !== 'demo.external') return [403];
  const scope = 'scope' in body ? body.scope : {};
  const valid = isObject(scope) && onlyKeys(scope, ['key']) && (scope.key === undefined || lengthIn(scope.key, 0, 200));
  return allTextSafe(scope) && valid ? [200, 202] : [400];
}

const FUZZ_SOURCE_TOKEN = 'fuzz-graph-bearer-SECRET-1b7e';
const FUZZ_SOURCE_SECRET = 'fuzz-oauth-client-SECRET-9c2d';

/**
 * Base and token URLs the fuzzer offers, and whether each passes (http(s), ≤ 2 000 characters, no user info,
 * query or fragment, not private: the fuzzed server does not allow private targets). Every accepted one is
 * on the same origin, so a credential left out is always kept, never refused for a new origin.
 */
const SOURCE_URLS: Record<string, boolean> = {
  'https://graph.example.com/beta': true,
  'https://graph.example.com/v1.0/': true,
  'https://GRAPH.example.com:443/beta': true,
  'https://graph.example.com': true,
  [`https://graph.example.com/${'a'.repeat(1_970)}`]: true,
  [`https://graph.example.com/${'a'.repeat(2_000)}`]: false,
  'https://graph.example.com/beta?tenant=1': false,
  'https://graph.example.com/beta#x': false,
  'https://user:pw@graph.example.com/beta': false,
  'ftp://graph.example.com/beta': false,
  'graph.example.com/beta': false,
  'http://127.0.0.1/beta': false,
  'http://0x7f.1/beta': false,
  'http://localhost:3000/beta': false,
  'http://[::ffff:127.0.0.1]/': false,
  'http://169.254.169.254/latest': false,
  'http://10.0.0.1/graph': false,
  '': false,
};

const sourceUrlOk = (value: unknown) => typeof value === 'string' && Object.hasOwn(SOURCE_URLS, value) && SOURCE_URLS[value] === true;

const collectionOk = (value: unknown) =>
  typeof value === 'string' && /^[A-Za-z0-9_./-]{1,200}$/.test(value) && !value.includes('..') && value.split('/').every((s) => s !== '' && s !== '.');

function credentialOk(value: unknown): boolean {
  if (value === null) return true;
  if (!isObject(value)) return false;
  if (value.type === 'bearer') return onlyKeys(value, ['type', 'token']) && typeof value.token === 'string' && /^[\x21-\x7e]{1,8192}$/.test(value.token);
  if (value.type !== 'client_credentials' || !onlyKeys(value, ['type', 'tokenUrl', 'clientId', 'clientSecret', 'scope'])) return false;
  return (
    sourceUrlOk(value.tokenUrl) &&
    safeOfLength(value.clientId, 1, 200) &&
    safeOfLength(value.clientSecret, 1, 1_000) &&
    (!('scope' in value) || safeOfLength(value.scope, 1, 1_000))
  );
}

/** What PUT …/policy-source answers its owner (docs/api.md §10). */
function policySourceExpectation(body: unknown): number[] {
  if (!isObject(body)) return [400];
  if (body.kind === 'simulated') {
    if (!onlyKeys(body, ['kind', 'simulated'])) return [400];
    if (!('simulated' in body)) return [200];
    const settings = body.simulated;
    if (!isObject(settings) || !onlyKeys(settings, ['policies', 'revision', 'failItems', 'unavailable'])) return [400];
    const ok =
      (!('policies' in settings) || intIn(settings.policies, 1, 20_000)) &&
      (!('revision' in settings) || intIn(settings.revision, 0, 100_000)) &&
      (!('failItems' in settings) || (Array.isArray(settings.failItems) && settings.failItems.length <= 1_000 && settings.failItems.every((id) => safeOfLength(id, 1, 200)))) &&
      (!('unavailable' in settings) || typeof settings.unavailable === 'boolean');
    return ok ? [200] : [400];
  }
  if (body.kind !== 'graph' || !onlyKeys(body, ['kind', 'baseUrl', 'collections', 'credential'])) return [400];
  const collections = body.collections;
  const collectionsOk = Array.isArray(collections) && collections.length >= 1 && collections.length <= 20 && collections.every(collectionOk) && new Set(collections).size === collections.length;
  return sourceUrlOk(body.baseUrl) && collectionsOk && (!('credential' in body) || credentialOk(body.credential)) ? [200] : [400];
}

function demoBatchValid(scope: unknown): boolean {
  if (!isObject(scope) || !onlyKeys(scope, ['items', 'itemMs', 'failEvery', 'failCode', 'failMessage', 'abort', 'key'])) return false;
  const has = (key: string) => key in scope;
  return (
    (!has('items') || intIn(scope.items, 0, 100_000)) &&
    (!has('itemMs') || intIn(scope.itemMs, 0, 60_000)) &&
    (!has('failEvery') || intIn(scope.failEvery, 1, 100_000)) &&
    (!has('failCode') || (typeof scope.failCode === 'string' && /^[a-z][a-z0-9_]{0,63}$/.test(scope.failCode))) &&
    (!has('failMessage') || lengthIn(scope.failMessage, 0, 2_000)) &&
    (!has('abort') || typeof scope.abort === 'boolean') &&
    (!has('key') || lengthIn(scope.key, 0, 200))
  );
}

/** docs/api.md §9 event bodies: `started` · `progress` (counts 0–10 000 000, ≤ 1 000 failures) · `completed`. */
function eventValid(body: unknown): boolean {
  if (!isObject(body)) return false;
  const eventIdOk = !('eventId' in body) || safeOfLength(body.eventId, 1, 200);
  if (!eventIdOk) return false;
  const countOk = (key: string) => !(key in body) || intIn(body[key], 0, 10_000_000);
  const failureOk = (f: unknown) =>
    isObject(f) && onlyKeys(f, ['code', 'message', 'item']) && safeOfLength(f.code, 1, 100) && safeOfLength(f.message, 0, 2_000) && (!('item' in f) || safeOfLength(f.item, 0, 200));
  switch (body.kind) {
    case 'started':
      return onlyKeys(body, ['kind', 'eventId']);
    case 'progress':
      return (
        onlyKeys(body, ['kind', 'eventId', 'total', 'succeeded', 'failed', 'skipped', 'failures']) &&
        ['total', 'succeeded', 'failed', 'skipped'].every(countOk) &&
        (!('failures' in body) || (Array.isArray(body.failures) && body.failures.length <= 1_000 && body.failures.every(failureOk)))
      );
    case 'completed':
      return onlyKeys(body, ['kind', 'eventId', 'abort']) && (!('abort' in body) || typeof body.abort === 'boolean');
    default:
      return false;
  }
}

