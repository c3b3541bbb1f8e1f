// GET /api/openapi.json (docs/api.md §13): the OpenAPI 3.1 document, assembled once per process from the route
// table, the zod request schemas and the generated wire schemas. Refusals every route of a kind can answer
// (malformed input, authentication, access, an unreachable database) are added here, so entries list only theirs.
import { ROLES, roleAtLeast } from '../../../db/access/roles.ts';
import { SESSION_COOKIE } from '../auth.ts';
import { ROUTES, TAGS, type Answer, type Refusal, type RouteDoc, type Who } from './routes.ts';
import { bodyOptional, PRODUCT_VERSION, queryParameters, requestSchema, schemaRef, wireSchemas, type JsonSchema } from './schemas.ts';
import { webhookDescriptions } from './webhooks.ts';

export type OpenApiDocument = JsonSchema & {
  paths: Record<string, Record<string, Operation>>;
  webhooks: Record<string, JsonSchema>;
  components: { schemas: Record<string, JsonSchema>; responses: Record<string, JsonSchema>; securitySchemes: Record<string, JsonSchema> };
};
export type Operation = JsonSchema & { operationId: string; responses: Record<string, JsonSchema> };

/** The code each status answers unless a route names others (docs/api.md §3, Errors). */
const DEFAULT_CODE: Record<number, string> = {
  400: 'validation_failed',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  413: 'payload_too_large',
  429: 'rate_limited',
  431: 'headers_too_large',
  500: 'internal_error',
  503: 'unavailable',
};

const SUCCESS_TEXT: Record<number, string> = { 200: 'OK.', 201: 'Created.', 202: 'Accepted.', 204: 'Done.' };

/** Answered the same by every route, whatever it is: described once, in `components.responses`. */
const SHARED = {
  413: ['PayloadTooLarge', 'A body over 64 KB, answered before authentication.'],
  431: ['HeadersTooLarge', 'The request line and headers are over 16 KB (a very long URL too).'],
  500: ['InternalError', 'A bug; nothing about it is shown.'],
} as const;

/** The refusals every route of a kind can answer, before those of its entry. */
function commonRefusals(route: RouteDoc): Partial<Record<number, Refusal>> {
  const api = route.path.startsWith('/api/');
  const input = route.query || route.body;
  const refusals: Partial<Record<number, Refusal>> = {};
  if (api) {
    refusals[400] = {
      when: input
        ? 'A query or body that does not fit (unknown keys included; `details` names each field), malformed JSON, or a path that cannot be decoded.'
        : 'Malformed JSON, or a path that cannot be decoded.',
    };
  }
  if (!('anyone' in route.who)) {
    const writes = route.method !== 'get';
    refusals[401] = { when: 'No token, or one that is unknown, expired, revoked or logged out.' };
    refusals[403] = {
      when: [
        'user' in route.who
          ? route.who.kiosk
            ? 'An integration token: this is for signed-in people and kiosk tokens'
            : 'A kiosk or integration token: this belongs to a signed-in person'
          : 'Not a member of the tenant (the same answer whether or not it exists), a role below what the route needs, or a token outside what it may do',
        ...(writes ? ['a cookie-carrying request from an origin that is not allowed'] : []),
      ].join('; ') + '.',
    };
    refusals[503] = { when: 'PostgreSQL cannot be reached right now; retry.', codes: ['unavailable'] };
  }
  return refusals;
}

/** The callers a route lets through, in the words of docs/api.md §2. */
function callers(who: Who): string[] {
  if ('anyone' in who) return ['anyone'];
  if ('user' in who) return ['user', ...(who.kiosk ? ['kiosk'] : [])];
  const roles = who.members === 'none' ? [] : ROLES.filter((role) => who.members === 'any' || roleAtLeast(role, who.members as typeof role));
  return [...roles, ...(who.kiosk ? ['kiosk'] : []), ...(who.integration ? ['integration'] : [])];
}

function whoText(who: Who): string {
  if ('anyone' in who) return 'Anyone; no credentials needed.';
  if ('user' in who) {
    return who.kiosk
      ? 'A signed-in user (a session token or the cookie) for their own tenants, or a kiosk token for the tenants it is bound to; integration tokens get 403.'
      : 'A signed-in user (a session token or the cookie); kiosk and integration tokens get 403.';
  }
  const members =
    who.members === 'none' ? [] : [who.members === 'any' ? 'members of the tenant (any role)' : `members with the \`${who.members}\` role${who.members === 'owner' ? '' : ' or higher'}`];
  const parts = [...members, ...(who.kiosk ? ['a kiosk token bound to the tenant'] : []), ...(who.integration ? ["the tenant's integration token"] : [])];
  const text = parts.join(', ');
  return `${text.charAt(0).toUpperCase()}${text.slice(1)}${who.note ? ` (${who.note})` : ''}.`;
}

const codeIn = (codes: readonly string[]): JsonSchema => ({
  type: 'object',
  properties: { error: { type: 'object', properties: { code: { enum: [...codes] } } } },
});
const errorSchema = (codes: readonly string[]): JsonSchema => ({ allOf: [schemaRef('ErrorBody'), codeIn(codes)] });

function refusalResponse(status: number, refusals: Refusal[]): JsonSchema {
  const codesOf = (list: Refusal[]) => [...new Set(list.flatMap((r) => r.codes ?? [DEFAULT_CODE[status] ?? fail(`status ${status} needs its codes`)]))];
  const codes = codesOf(refusals);
  // A refusal with a shape of its own (`DispatchFailed`) is that shape, with its codes; the others are ErrorBody.
  const plain = refusals.filter((r) => !r.also);
  const shaped = refusals.flatMap((r) => (r.also ? [{ allOf: [schemaRef(r.also), codeIn(codesOf([r]))] }] : []));
  const schema = shaped.length === 0 ? errorSchema(codes) : plain.length === 0 ? (shaped.length === 1 ? shaped[0] : { anyOf: shaped }) : { anyOf: [errorSchema(codesOf(plain)), ...shaped] };
  return {
    description: `${refusals.map((r) => r.when).join(' ')} (${codes.map((c) => `\`${c}\``).join(', ')})`,
    ...(codes.includes('unavailable') ? { headers: { 'Retry-After': { description: 'Seconds to wait: `1`.', schema: { type: 'integer' } } } } : {}),
    content: { 'application/json': { schema } },
  };
}

function answerResponse(status: number, answer: Answer): JsonSchema {
  if (typeof answer === 'string') return { description: SUCCESS_TEXT[status] ?? '', content: { 'application/json': { schema: schemaRef(answer) } } };
  if ('none' in answer) return { description: answer.none };
  // A document of its own (the descriptions) is some JSON object; text, pages and files have no schema to give.
  if ('media' in answer) return { description: answer.when, content: Object.fromEntries(answer.media.map((m) => [m, m.endsWith('json') ? { schema: { type: 'object' } } : {}])) };
  return {
    description: answer.when,
    ...(answer.headers
      ? { headers: Object.fromEntries(Object.entries(answer.headers).map(([name, text]) => [name, { description: text, schema: { type: 'string' } }])) }
      : {}),
    content: { 'application/json': { schema: schemaRef(answer.json) } },
  };
}

const PATH_PARAM = /:([A-Za-z0-9_]+)/g;
export const openApiPath = (expressPath: string): string => expressPath.replace(PATH_PARAM, '{$1}');

function pathParameters(route: RouteDoc): JsonSchema[] {
  return [...route.path.matchAll(PATH_PARAM)].map(([, name]) => {
    if (name === 'tenant') {
      return {
        name,
        in: 'path',
        required: true,
        description: "The tenant's slug. A caller who is not a member gets 403 whether or not the tenant exists.",
        schema: { type: 'string' },
      };
    }
    const doc = route.params?.[name!] ?? fail(`${route.id}: describe the path parameter ${name}`);
    if (typeof doc !== 'string') return { name, in: 'path', required: true, description: doc.description, schema: doc.schema };
    return { name, in: 'path', required: true, description: `${doc} Not a UUID: 404.`, schema: { type: 'string', format: 'uuid' } };
  });
}

function operation(route: RouteDoc): Operation {
  const merged = new Map<number, Refusal[]>();
  for (const [status, refusal] of [...Object.entries(commonRefusals(route)), ...Object.entries(route.refusals ?? {})]) {
    if (refusal) merged.set(Number(status), [...(merged.get(Number(status)) ?? []), refusal]);
  }
  const responses: Record<string, JsonSchema> = {};
  for (const [status, answer] of Object.entries(route.answers)) if (answer) responses[status] = answerResponse(Number(status), answer);
  for (const [status, refusals] of merged) responses[status] = refusalResponse(status, refusals);
  for (const [status, [name]] of Object.entries(SHARED)) {
    if (status !== '413' || route.path.startsWith('/api/')) responses[status] = { $ref: `#/components/responses/${name}` };
  }
  return {
    operationId: route.id,
    tags: [route.tag],
    summary: route.summary,
    description: [route.description, `**Who:** ${whoText(route.who)}`].filter(Boolean).join('\n\n'),
    'x-runboard-callers': callers(route.who),
    ...('anyone' in route.who ? { security: route.who.metricsToken ? [{}, { metricsToken: [] }] : [] } : {}),
    parameters: [...pathParameters(route), ...(route.query ? queryParameters(route.query, route.queryNotes) : [])],
    ...(route.body
      ? { requestBody: { required: !bodyOptional(route.body), content: { 'application/json': { schema: requestSchema(route.body, route.bodyNotes) } } } }
      : {}),
    responses: Object.fromEntries(Object.entries(responses).sort(([a], [b]) => a.localeCompare(b))),
  };
}

const DESCRIPTION = `Runboard's HTTP API: JSON, on the same origin and port as the dashboard (docs/api.md §3).

- **Authentication**: \`Authorization: Bearer <token>\` (a session token from \`POST /api/auth/login\`, a kiosk or an
  integration token), or the \`${SESSION_COOKIE}\` cookie that login sets. When an \`Authorization\` header is present, it alone counts.
- **Errors**: always \`{ "error": { "code", "message", "details"? } }\` with the fitting status; \`details\` (with
  \`validation_failed\` only) names each field. Checks run in this order: body read (413, 400), authentication (401),
  access (403), input (400), lookup (404), change (409).
- **Live channel**: Socket.IO at \`/socket.io\`, described in [/api/asyncapi.json](/api/asyncapi.json) (AsyncAPI 3.0).
- **Webhooks**: the deliveries Runboard sends are described under \`webhooks\`.

Request schemas are generated from the zod schemas the routes validate with; response schemas from the
TypeScript types they answer with.`;

function build(): OpenApiDocument {
  const paths: Record<string, Record<string, Operation>> = {};
  for (const route of ROUTES) {
    const item = (paths[openApiPath(route.path)] ??= {});
    if (item[route.method]) fail(`${route.method.toUpperCase()} ${route.path} is described twice`);
    item[route.method] = operation(route);
  }
  const ids = ROUTES.map((r) => r.id);
  const repeated = ids.filter((id, index) => ids.indexOf(id) !== index);
  if (repeated.length > 0) fail(`operation ids used twice: ${repeated.join(', ')}`);
  return {
    openapi: '3.1.0',
    info: { title: 'Runboard API', version: PRODUCT_VERSION, summary: 'Canonical operation runs, live.', description: DESCRIPTION },
    servers: [{ url: '/', description: 'This Runboard.' }],
    security: [{ bearer: [] }, { session: [] }],
    tags: TAGS.map((tag) => ({ ...tag })),
    paths,
    webhooks: webhookDescriptions(),
    components: {
      schemas: wireSchemas().schemas,
      responses: Object.fromEntries(
        Object.entries(SHARED).map(([status, [name, when]]) => [name, refusalResponse(Number(status), [{ when }])]),
      ),
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', description: 'A session (`rbu_…`), kiosk (`rbk_…`) or integration (`rbi_…`) token.' },
        session: { type: 'apiKey', in: 'cookie', name: SESSION_COOKIE, description: 'The session cookie set at sign-in (the dashboard).' },
        metricsToken: { type: 'http', scheme: 'bearer', description: '`METRICS_TOKEN`, when it is set: `/metrics` only.' },
      },
    },
  };
}

function fail(message: string): never {
  throw new Error(`API description: ${message}`);
}

let cached: OpenApiDocument | undefined;
/** Built on first use and kept: the description cannot change while the process runs. */
export function openApiDocument(): OpenApiDocument {
  cached ??= build();
  return cached;
}
