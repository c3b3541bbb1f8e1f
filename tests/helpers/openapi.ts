// Response conformance (docs/api.md §13): every answer the tests receive through `call()` is checked against the
// API description — the operation found by method and path template, its status described, its JSON body valid
// against the described schema — and every live event a RecordingClient hears against the AsyncAPI payloads.
// Schemas are compiled once per process, on first use.
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import formatsPlugin from 'ajv-formats';
import { asyncApiDocument } from '../../server/http/openapi/asyncapi.ts';
import { openApiDocument, type Operation } from '../../server/http/openapi/document.ts';
import type { JsonSchema } from '../../server/http/openapi/schemas.ts';

const SCHEMA_ID = 'urn:runboard:schema:';

// ajv-formats is CommonJS: under Node's ESM its default import is the plugin itself, typed as the module.
const addFormats = formatsPlugin as unknown as typeof formatsPlugin.default;

/** JSON Schema 2020-12 (OpenAPI 3.1's dialect), strict: an unknown keyword or format is an error, not ignored. */
export function strictAjv(): Ajv2020 {
  const ajv = new Ajv2020({ allErrors: true, strict: true });
  addFormats(ajv);
  return ajv;
}

type Template = { pattern: RegExp; path: string; operations: Record<string, Operation> };

class Conformance {
  readonly #ajv = strictAjv();
  readonly #compiled = new Map<string, ValidateFunction>();
  readonly #templates: Template[];
  readonly #components: ReturnType<typeof openApiDocument>['components'];

  constructor(
    private readonly document: ReturnType<typeof openApiDocument>,
    private readonly live: ReturnType<typeof asyncApiDocument>,
  ) {
    this.#components = document.components;
    for (const [name, schema] of Object.entries(document.components.schemas)) {
      this.#ajv.addSchema(localRefs({ ...schema, $id: `${SCHEMA_ID}${name}` }));
    }
    // Literal segments before parameters, as a router tries them (`/runs/{id}` never shadows a fixed path).
    this.#templates = Object.entries(document.paths)
      .map(([path, operations]) => ({
        path,
        operations,
        pattern: new RegExp(`^${path.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{[^}]+\}/g, '[^/]+')}$`, 'i'),
      }))
      .sort((a, b) => (a.path.match(/\{/g)?.length ?? 0) - (b.path.match(/\{/g)?.length ?? 0));
  }

  /** Throws unless the answer is one the description promises for this request. */
  check(method: string, url: URL, status: number, body: unknown, headers: Headers): void {
    const path = url.pathname.length > 1 ? url.pathname.replace(/\/+$/, '') : url.pathname;
    if (!/^\/(api(\/|$)|healthz$|readyz$|metrics$)/i.test(path)) return; // the dashboard's pages
    const verb = method.toLowerCase() === 'head' ? 'get' : method.toLowerCase();
    const template = this.#templates.find((t) => t.pattern.test(path));
    const operation = template?.operations[verb];
    const where = `${method.toUpperCase()} ${url.pathname} → ${status}`;
    if (!template || !operation) {
      // Not a described route: the API's 404 (or a refusal that comes before routing), in the error shape.
      if (status < 400) throw new Error(`${where}: answered ${status}, but the API description has no ${verb.toUpperCase()} ${path}`);
      if (method.toLowerCase() !== 'head') this.#validate(`${where} (undescribed route)`, 'ErrorBody', { $ref: '#/components/schemas/ErrorBody' }, body);
      return;
    }
    const described = operation.responses[String(status)];
    const label = `${where} (${operation.operationId}, ${template.path})`;
    if (!described) throw new Error(`${label}: status ${status} is not described; described: ${Object.keys(operation.responses).join(', ')}`);
    const response = this.#resolve(described);
    const content = response.content as Record<string, { schema: JsonSchema }> | undefined;
    if (method.toLowerCase() === 'head') return;
    if (!content) {
      if (body !== null && body !== '') throw new Error(`${label}: described without a body, but one came: ${preview(body)}`);
      return;
    }
    const type = (headers.get('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
    if (!content[type]) throw new Error(`${label}: Content-Type ${type || '(none)'} is not described; described: ${Object.keys(content).join(', ')}`);
    if (type === 'application/json') this.#validate(label, `${operation.operationId} ${status}`, content[type].schema, body);
  }

  /** Throws unless a server → client event's payload fits its message in the AsyncAPI document. */
  checkEvent(event: string, payload: unknown): void {
    const message = Object.entries(this.live.components.messages).find(([, m]) => m.name === event);
    if (!message) throw new Error(`live event ${event}: not described in the AsyncAPI document`);
    this.#validate(`live event ${event}`, `event ${event}`, message[1].payload as JsonSchema, payload);
  }

  #resolve(response: JsonSchema): JsonSchema {
    const ref = response.$ref as string | undefined;
    return ref ? this.#components.responses[ref.split('/').at(-1)!]! : response;
  }

  #validate(label: string, key: string, schema: JsonSchema, body: unknown): void {
    let validate = this.#compiled.get(key);
    if (!validate) {
      validate = this.#ajv.compile(localRefs(schema));
      this.#compiled.set(key, validate);
    }
    if (!validate(body)) {
      const errors = (validate.errors ?? []).slice(0, 8).map((e) => `${e.instancePath || '(root)'} ${e.message}${e.params ? ` ${JSON.stringify(e.params)}` : ''}`);
      throw new Error(`${label}: the body does not fit the API description:\n  ${errors.join('\n  ')}\nbody: ${preview(body)}`);
    }
  }
}

/** `#/components/schemas/X` → the id the schema was added under, so each compiles on its own. */
const localRefs = (schema: JsonSchema): JsonSchema =>
  JSON.parse(JSON.stringify(schema).replaceAll('"#/components/schemas/', `"${SCHEMA_ID}`)) as JsonSchema;

const preview = (body: unknown) => {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  return text.length > 600 ? `${text.slice(0, 600)}…` : text;
};

let conformance: Conformance | undefined;
const checker = () => (conformance ??= new Conformance(openApiDocument(), asyncApiDocument()));

/** Throws when an answer breaks the API description (the error names method, path, status and the schema errors). */
export function checkResponse(method: string, url: string, status: number, body: unknown, headers: Headers): void {
  checker().check(method, new URL(url), status, body, headers);
}

/** Throws when a live event's payload breaks the AsyncAPI description. */
export function checkLiveEvent(event: string, payload: unknown): void {
  checker().checkEvent(event, payload);
}
