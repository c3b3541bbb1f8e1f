// The two sources of the description's schemas: the wire shapes generated from TypeScript at build time
// (wire-schemas.json, written by `npm run openapi`), and the request schemas derived at start from the zod
// schemas the routes validate with — so what the description says a request may be is what is accepted.
import { readFileSync } from 'node:fs';
import { isDeepStrictEqual } from 'node:util';
import { z } from 'zod';

export type JsonSchema = Record<string, unknown>;

export const WIRE_SCHEMAS_URL = new URL('./wire-schemas.json', import.meta.url);

/** The generated artifact: one JSON Schema per shape of shapes.ts, `$ref`s pointing at `#/components/schemas/`. */
export type WireSchemas = { $comment: string; schemas: Record<string, JsonSchema> };

let wire: WireSchemas | undefined;
export function wireSchemas(): WireSchemas {
  wire ??= JSON.parse(readFileSync(WIRE_SCHEMAS_URL, 'utf8')) as WireSchemas;
  return wire;
}

/** Both documents' `info.version`: the product's. */
export const PRODUCT_VERSION = (JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

export const schemaRef = (name: string): JsonSchema => ({ $ref: `#/components/schemas/${name}` });

// OpenAPI 3.1 schemas are JSON Schema 2020-12. The input side: defaults make fields optional, coercions show
// what is sent; refinements (safe text, real calendar dates) cannot be expressed and are described in words.
const ZOD_OPTIONS = { io: 'input', target: 'draft-2020-12', unrepresentable: 'any' } as const;

/** The JSON Schema of what a zod schema accepts, without `$schema` (it sits inside a document). */
export function requestSchema(schema: z.ZodType, notes: Record<string, string> = {}): JsonSchema {
  const { $schema: _draft, ...json } = z.toJSONSchema(schema, ZOD_OPTIONS) as JsonSchema;
  describeProperties(json, notes);
  return json;
}

/** Whether a body may be left out altogether (zod accepts `undefined`). */
export const bodyOptional = (schema: z.ZodType): boolean => schema.safeParse(undefined).success;

/** Adds `notes` as descriptions of top-level properties, in each branch of a union too. */
function describeProperties(json: JsonSchema, notes: Record<string, string>): void {
  const branches = [json, ...((json.oneOf ?? json.anyOf ?? []) as JsonSchema[])];
  for (const branch of branches) {
    const properties = branch.properties as Record<string, JsonSchema> | undefined;
    for (const [name, note] of Object.entries(notes)) {
      if (properties?.[name]) properties[name] = { description: note, ...properties[name] };
    }
  }
  const unknown = Object.keys(notes).filter((name) => !branches.some((b) => (b.properties as JsonSchema | undefined)?.[name]));
  if (unknown.length > 0) throw new Error(`notes for properties the schema does not have: ${unknown.join(', ')}`);
}

export type QueryParameter = {
  name: string;
  in: 'query';
  required: boolean;
  description?: string;
  schema: JsonSchema;
  style?: 'form';
  explode?: true;
};

/**
 * One parameter per property of a query schema. A value that "may repeat" (one value or a list of them) is
 * described the way OpenAPI says repeated parameters: an array, `form` style, exploded (`?bucket=a&bucket=b`).
 */
export function queryParameters(schema: z.ZodObject, notes: Record<string, string> = {}): QueryParameter[] {
  const json = requestSchema(schema);
  const required = new Set((json.required as string[] | undefined) ?? []);
  const properties = json.properties as Record<string, JsonSchema>;
  const unknown = Object.keys(notes).filter((name) => !properties[name]);
  if (unknown.length > 0) throw new Error(`notes for query parameters the schema does not have: ${unknown.join(', ')}`);
  return Object.entries(properties).map(([name, property]) => {
    const repeated = repeatable(property);
    return {
      name,
      in: 'query',
      required: required.has(name),
      ...(notes[name] ? { description: notes[name] } : {}),
      schema: repeated ?? property,
      ...(repeated ? { style: 'form', explode: true } : {}),
    };
  });
}

/** `anyOf: [item, array of item]` → the array schema; anything else → null. */
function repeatable(property: JsonSchema): JsonSchema | null {
  const variants = property.anyOf as JsonSchema[] | undefined;
  if (variants?.length !== 2) return null;
  const list = variants.find((v) => v.type === 'array');
  const single = variants.find((v) => v !== list);
  return list && isDeepStrictEqual(list.items, single) ? list : null;
}
