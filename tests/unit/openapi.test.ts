import { readFileSync } from 'node:fs';
import { Validator } from '@seriousme/openapi-schema-validator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, type App } from '../../server/app.ts';
import { asyncApiDocument } from '../../server/http/openapi/asyncapi.ts';
import { openApiDocument } from '../../server/http/openapi/document.ts';
import { generateWireSchemas, wireSchemasText } from '../../server/http/openapi/generate.ts';
import { ROUTES } from '../../server/http/openapi/routes.ts';
import { WIRE_SCHEMAS_URL, type JsonSchema, type WireSchemas } from '../../server/http/openapi/schemas.ts';
import { checkLiveEvent, checkResponse, strictAjv } from '../helpers/openapi.ts';
import { createTestEnv, type TestEnv } from '../helpers/stack.ts';

// The API description (docs/api.md §13): a valid OpenAPI 3.1 document, describing exactly the routes the app
// serves, with schemas that compile and a generated artifact that is current; the AsyncAPI document of the live
// channel likewise; and the conformance checker the integration suites run every answer through.

const openapi = openApiDocument();
const asyncapi = asyncApiDocument();

/** Every `schema` of a part of a document, with where it is. */
function schemasIn(node: unknown, where: string, found: [string, JsonSchema][] = []): [string, JsonSchema][] {
  if (!node || typeof node !== 'object') return found;
  for (const [key, value] of Object.entries(node)) {
    if ((key === 'schema' || key === 'payload') && value && typeof value === 'object') found.push([`${where}/${key}`, value as JsonSchema]);
    else schemasIn(value, `${where}/${key}`, found);
  }
  return found;
}

/** Every `$ref` of a document, each of which must point at something in it. */
function refsIn(node: unknown, found: string[] = []): string[] {
  if (!node || typeof node !== 'object') return found;
  for (const [key, value] of Object.entries(node)) {
    if (key === '$ref' && typeof value === 'string') found.push(value);
    else refsIn(value, found);
  }
  return found;
}

const pointer = (document: unknown, ref: string): unknown =>
  ref
    .slice(2)
    .split('/')
    .map((part) => part.replaceAll('~1', '/').replaceAll('~0', '~'))
    .reduce<unknown>((node, part) => (node && typeof node === 'object' ? (node as Record<string, unknown>)[part] : undefined), document);

/** A strict 2020-12 validator knowing a document's component schemas, compiling `schema` as it sits there. */
function compiler(components: Record<string, JsonSchema>) {
  const ajv = strictAjv();
  const local = (schema: JsonSchema) => JSON.parse(JSON.stringify(schema).replaceAll('"#/components/schemas/', '"urn:test:')) as JsonSchema;
  for (const [name, schema] of Object.entries(components)) ajv.addSchema(local({ ...schema, $id: `urn:test:${name}` }));
  return (schema: JsonSchema) => ajv.compile(local(schema));
}

describe('the OpenAPI document', () => {
  it('is valid OpenAPI 3.1 to an independent validator', async () => {
    const validator = new Validator();
    const result = await validator.validate(structuredClone(openapi));
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    expect(validator.version).toBe('3.1');
  });

  it('every $ref points at something in the document', () => {
    const broken = refsIn(openapi).filter((ref) => !ref.startsWith('#/') || pointer(openapi, ref) === undefined);
    expect(broken).toEqual([]);
  });

  it('every schema compiles as strict JSON Schema 2020-12 (parameters, bodies, answers, webhooks)', () => {
    const compile = compiler(openapi.components.schemas);
    const schemas = [...schemasIn(openapi.paths, 'paths'), ...schemasIn(openapi.webhooks, 'webhooks'), ...schemasIn(openapi.components.responses, 'responses')];
    expect(schemas.length).toBeGreaterThan(ROUTES.length * 4);
    const failing = schemas.flatMap(([where, schema]) => {
      try {
        compile(schema);
        return [];
      } catch (error) {
        return [`${where}: ${(error as Error).message}`];
      }
    });
    expect(failing).toEqual([]);
  });

  it('every 4xx and 5xx answer is the error shape, with the codes it may carry', () => {
    // Readiness answers its checks with 503 too: the one 5xx that is not a refusal.
    const answers = new Set(['GET /readyz 503']);
    const offenders = Object.entries(openapi.paths).flatMap(([path, operations]) =>
      Object.entries(operations).flatMap(([method, operation]) =>
        Object.entries(operation.responses)
          .filter(([status]) => Number(status) >= 400)
          .filter(([, response]) => {
            const resolved = (response.$ref ? pointer(openapi, response.$ref as string) : response) as JsonSchema;
            const text = JSON.stringify(resolved);
            return !text.includes('#/components/schemas/ErrorBody') && !text.includes('#/components/schemas/DispatchFailed');
          })
          .map(([status]) => `${method.toUpperCase()} ${path} ${status}`)
          .filter((answer) => !answers.has(answer)),
      ),
    );
    expect(offenders).toEqual([]);
    const runs = openapi.paths['/api/tenants/{tenant}/runs/{id}/events']!.post!;
    expect(Object.keys(runs.responses)).toEqual(['200', '400', '401', '403', '404', '409', '413', '431', '500', '503']);
    expect(JSON.stringify(runs.responses['409'])).toContain('"enum":["invalid_transition","not_mirrored","reported_elsewhere","count_limit"]');
  });

  it('request schemas come from the zod schemas: a repeatable query parameter is an exploded array, defaults make fields optional', () => {
    const list = openapi.paths['/api/tenants/{tenant}/runs']!.get!.parameters as JsonSchema[];
    const bucket = list.find((p) => p.name === 'bucket')!;
    expect(bucket).toMatchObject({ in: 'query', required: false, style: 'form', explode: true, schema: { type: 'array', maxItems: 20 } });
    expect(list.find((p) => p.name === 'limit')).toMatchObject({ required: false, schema: { type: 'integer', minimum: 1, maximum: 500, default: 50 } });
    const login = openapi.paths['/api/auth/login']!.post!.requestBody as JsonSchema;
    expect(login).toMatchObject({ required: true, content: { 'application/json': { schema: { required: ['email', 'password'], additionalProperties: false } } } });
    // An absent body is fine for the restore actions.
    expect((openapi.paths['/api/tenants/{tenant}/restores/{id}/preview']!.post!.requestBody as JsonSchema).required).toBe(false);
  });

  it('describes the webhook deliveries: both events, the run summary and the signature header', () => {
    expect(Object.keys(openapi.webhooks).sort()).toEqual(['run.completed', 'run.queued']);
    const delivery = openapi.webhooks['run.completed']!.post as JsonSchema;
    expect(JSON.stringify(delivery.parameters)).toContain('"name":"Runboard-Signature"');
    const body = openapi.components.schemas;
    expect(body.WebhookPayload).toMatchObject({ required: expect.arrayContaining(['id', 'event', 'occurredAt', 'run']) });
    expect(Object.keys((body.WebhookPayload!.properties as Record<string, JsonSchema>).run!.properties as object)).not.toContain('failures');
  });
});

describe('the route table and the app', () => {
  let env: TestEnv;
  let app: App;

  beforeAll(async () => {
    env = await createTestEnv();
    app = createApp(env.services);
    await app.ready;
  });

  afterAll(async () => {
    await app?.close();
    await env?.cleanup();
  });

  // Express internals, loosely typed: route layers, and nested routers with the path they are mounted on.
  type Layer = { route?: { path: string; methods: Record<string, boolean> }; handle?: { stack?: Layer[] }; rawPath?: unknown };
  const served = (stack: Layer[], prefix = ''): string[] =>
    stack.flatMap((layer) => {
      const path = (route: string) => `${prefix}${route}`.replace(/(.)\/$/, '$1');
      if (layer.route) return Object.keys(layer.route.methods).map((m) => `${m.toUpperCase()} ${path(layer.route!.path)}`);
      if (!layer.handle?.stack) return [];
      const mount = typeof layer.rawPath === 'string' && layer.rawPath !== '/' ? layer.rawPath : '';
      return served(layer.handle.stack, prefix + mount);
    });

  it('describes every route the app serves, and serves every route it describes', () => {
    const routes = new Set(served((app.app as unknown as { router: { stack: Layer[] } }).router.stack));
    const described = new Set(ROUTES.map((r) => `${r.method.toUpperCase()} ${r.path}`));
    expect(routes.size).toBeGreaterThan(30);
    expect({ undescribed: [...routes].filter((r) => !described.has(r)), unserved: [...described].filter((r) => !routes.has(r)) }).toEqual({
      undescribed: [],
      unserved: [],
    });
  });
});

describe('the generated wire schemas', () => {
  it('are current: regenerated from the TypeScript types they equal the committed wire-schemas.json', () => {
    const fresh = generateWireSchemas();
    const committed = readFileSync(WIRE_SCHEMAS_URL, 'utf8');
    if (wireSchemasText(fresh) !== committed) {
      const before = (JSON.parse(committed) as WireSchemas).schemas;
      const changed = [...new Set([...Object.keys(before), ...Object.keys(fresh.schemas)])].filter(
        (name) => JSON.stringify(before[name]) !== JSON.stringify(fresh.schemas[name]),
      );
      throw new Error(`server/http/openapi/wire-schemas.json is stale (${changed.join(', ') || 'formatting'}): run \`npm run openapi\` and commit it.`);
    }
  }, 60_000);
});

describe('the AsyncAPI document of the live channel', () => {
  it('is AsyncAPI 3.0 whose references all resolve', () => {
    expect(asyncapi.asyncapi).toBe('3.0.0');
    const broken = refsIn(asyncapi).filter((ref) => !ref.startsWith('#/') || pointer(asyncapi, ref) === undefined);
    expect(broken).toEqual([]);
  });

  it("every message's payload compiles as strict JSON Schema 2020-12", () => {
    const compile = compiler(asyncapi.components.schemas);
    const payloads = schemasIn(asyncapi.components.messages, 'messages');
    expect(payloads).toHaveLength(7);
    for (const [, schema] of payloads) expect(() => compile(schema)).not.toThrow();
  });

  it('names every event of server/live/events.ts, in the direction it travels', () => {
    const operations = Object.values(asyncapi.operations as Record<string, { action: string; messages: { $ref: string }[] }>);
    const byAction = (action: string) =>
      operations.filter((o) => o.action === action).map((o) => (pointer(asyncapi, o.messages[0]!.$ref) as { $ref: string }).$ref).map((ref) => (pointer(asyncapi, ref) as { name: string }).name);
    expect(byAction('send').sort()).toEqual(['notification:new', 'notification:read', 'resync', 'run:update']);
    expect(byAction('receive').sort()).toEqual(['subscribe', 'unsubscribe']);
  });
});

describe('the conformance checker (tests/helpers/openapi.ts)', () => {
  const base = 'http://127.0.0.1:1';
  const json = new Headers({ 'content-type': 'application/json; charset=utf-8' });
  const error = (code: string) => ({ error: { code, message: 'm' } });

  it('passes what the description promises', () => {
    expect(() => checkResponse('GET', `${base}/healthz`, 200, { status: 'ok' }, json)).not.toThrow();
    expect(() => checkResponse('POST', `${base}/api/notifications/read-all`, 204, null, new Headers())).not.toThrow();
    expect(() => checkResponse('GET', `${base}/api/tenants/acme/runs/x?limit=1`, 404, error('not_found'), json)).not.toThrow();
    expect(() => checkResponse('GET', `${base}/api/nothing/here`, 404, error('not_found'), json)).not.toThrow();
    expect(() => checkResponse('GET', `${base}/t/acme/board`, 200, '<html>', new Headers({ 'content-type': 'text/html' }))).not.toThrow();
  });

  it('throws on an undescribed status, naming method, path and status', () => {
    expect(() => checkResponse('GET', `${base}/api/me`, 409, error('conflict'), json)).toThrow(/GET \/api\/me → 409 \(getMe, \/api\/me\): status 409 is not described/);
  });

  it('throws on a body that does not fit, with the schema errors', () => {
    expect(() => checkResponse('GET', `${base}/healthz`, 200, { status: 'ok', extra: 1 }, json)).toThrow(/must NOT have additional properties/);
    expect(() => checkResponse('GET', `${base}/api/tenants/acme/runs`, 200, { runs: [] }, json)).toThrow(/must have required property 'nextCursor'/);
    expect(() => checkResponse('POST', `${base}/api/tenants/acme/runs/x/events`, 409, error('conflict'), json)).toThrow(/must be equal to one of the allowed values/);
  });

  it('throws on a success at an undescribed /api path, and on a body where none is described', () => {
    expect(() => checkResponse('GET', `${base}/api/secret`, 200, {}, json)).toThrow(/no GET \/api\/secret/);
    expect(() => checkResponse('DELETE', `${base}/api/me`, 200, {}, json)).toThrow(/no DELETE \/api\/me/);
    expect(() => checkResponse('POST', `${base}/api/auth/logout`, 204, { ok: true }, json)).toThrow(/described without a body/);
  });

  it('throws on a live event that does not fit its payload', () => {
    expect(() => checkLiveEvent('notification:read', { ids: 'all', unreadCount: 0 })).not.toThrow();
    expect(() => checkLiveEvent('notification:read', { ids: 'some', unreadCount: 0 })).toThrow(/live event notification:read/);
    expect(() => checkLiveEvent('run:deleted', {})).toThrow(/not described/);
  });
});
