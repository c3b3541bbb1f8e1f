// Building blocks for property-based fuzzing (tests/security/fuzz.test.ts): generators of hostile values
// and request bodies, a model of how the HTTP stack reads a body, and the contract's response checks.
import fc from 'fast-check';
import { BODY_LIMIT } from '../../server/app.ts';
import type { ApiResponse } from './app.ts';
import { leaksIn, responseText } from './hostile.ts';

// Values -------------------------------------------------------------------------------------------------------

/** Characters that break naive code: NUL, lone surrogates, RTL override, BOM, line separators, quoting. */
const NASTY = ['\0', '\ud800', '\udfff', '\udc00', '\u202e', '\ufeff', '\u2028', '\u0085', '\uffff', '😀', 'e\u0301', '\\', '"', "'", '%', '%00', '<', '${', '\r\n', ' ', '\t'];

const codeUnit = fc.oneof(
  { weight: 4, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }) },
  { weight: 1, arbitrary: fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => String.fromCharCode(c)) },
  { weight: 2, arbitrary: fc.constantFrom(...NASTY) },
  { weight: 2, arbitrary: fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 1 }) },
);

/** Short strings over all of Unicode, lone surrogates and NUL included. */
export const hostileString = fc.string({ unit: codeUnit, maxLength: 24 });

/** Strings right at and past the limits the API declares (64, 100, 200, 254, 2 000 …), in 1- and 2-unit chars. */
export const longString = fc
  .tuple(fc.constantFrom(63, 64, 65, 100, 101, 199, 200, 201, 254, 255, 2_000, 2_001, 10_000, 30_000), fc.constantFrom('a', 'é', '😀', ' ', '\0', '\ud800'))
  .map(([n, c]) => c.repeat(n));

export const extremeNumber = fc.oneof(
  fc.constantFrom(
    0, -0, 1, -1, 0.5, -0.5, 1e-7, 50, 200, 201, 500, 501, 60_000, 60_001, 100_000, 100_001, 10_000_000, 10_000_001,
    2 ** 31 - 1, 2 ** 31, 2 ** 32, 2 ** 53 - 1, 2 ** 53, 2 ** 53 + 2, 1e21, 1e308, -1e308, Number.MIN_VALUE, Number.EPSILON,
  ),
  fc.integer(),
  fc.double(),
  fc.maxSafeInteger(),
);

/** Numbers as text, including what Number() and parseInt() disagree on. */
export const numericString = fc.oneof(
  fc.constantFrom('NaN', 'Infinity', '-Infinity', '1e400', '-0', '0x10', '0b1', '0o7', '1_000', ' 5', '5 ', '', '1.0', '+1', '01', '١٢', '5\0', '1e3', '.5'),
  extremeNumber.map(String),
);

/** Keys that reach prototypes or collide with Object.prototype. */
export const dangerousKey = fc.constantFrom('__proto__', 'constructor', 'prototype', 'toString', 'valueOf', 'hasOwnProperty', 'toJSON', 'then', '');

const keyArb = fc.oneof({ weight: 1, arbitrary: dangerousKey }, { weight: 2, arbitrary: hostileString });

/** An object with the given own entries (a `__proto__` key stays an own, enumerable key, as JSON.parse makes it). */
export function objectOf(entries: [string, unknown][]): Record<string, unknown> {
  const target: Record<string, unknown> = {};
  for (const [key, value] of entries) Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  return target;
}

/** `depth` levels of arrays or objects around a small value. */
export const deepValue = fc
  .tuple(fc.integer({ min: 2, max: 120 }), fc.boolean(), fc.jsonValue({ maxDepth: 0 }))
  .map(([depth, arrays, inner]) => {
    let value: unknown = inner;
    for (let i = 0; i < depth; i += 1) value = arrays ? [value] : { a: value };
    return value;
  });

/** Any value of a type the API does not expect for a field. */
export const wrongValue: fc.Arbitrary<unknown> = fc.oneof(
  hostileString,
  longString,
  extremeNumber,
  numericString,
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.jsonValue({ maxDepth: 1 }), { maxLength: 4 }),
  fc.array(fc.tuple(keyArb, fc.jsonValue({ maxDepth: 1 })), { maxLength: 3 }).map(objectOf),
  deepValue,
);

/**
 * Objects built from a route's real field names: each present field holds a well-formed value or a
 * wrong one, and sometimes unknown or prototype-reaching keys are added.
 */
export function shaped(fields: Record<string, fc.Arbitrary<unknown>>): fc.Arbitrary<Record<string, unknown>> {
  const perField = Object.fromEntries(
    Object.entries(fields).map(([key, good]) => [key, fc.oneof({ weight: 3, arbitrary: good }, { weight: 1, arbitrary: wrongValue })]),
  ) as Record<string, fc.Arbitrary<unknown>>;
  return fc
    .tuple(
      fc.record(perField, { requiredKeys: [] }),
      fc.oneof({ weight: 4, arbitrary: fc.constant([]) }, { weight: 1, arbitrary: fc.array(fc.tuple(keyArb, wrongValue), { minLength: 1, maxLength: 2 }) }),
    )
    .map(([base, extras]) => objectOf([...Object.entries(base), ...(extras as [string, unknown][])]));
}

// Requests -----------------------------------------------------------------------------------------------------

/** What the fuzzer sends: a value as JSON, or a literal body (with its headers). */
export type FuzzBody = { body?: unknown; raw?: string; headers?: Record<string, string> };

const PROTO_TEXTS = [
  '{"__proto__":{"isAdmin":true}}',
  '{"constructor":{"prototype":{"polluted":true}}}',
  '{"a":1,"a":2}',
  '{"__proto__":[]}',
  '[{"__proto__":{"polluted":true}}]',
  '{"\\u0000":"\\ud800"}',
  '{"toString":"x","valueOf":1}',
];

const ODD_CONTENT_TYPES = [
  'text/plain',
  'application/x-www-form-urlencoded',
  'application/json; charset=utf-16',
  'application/json; charset=iso-8859-1',
  'application/vnd.api+json',
  'multipart/form-data; boundary=x',
  'application/json, text/plain',
];

/** Literal bodies: garbage, truncated JSON, prototype keys, extreme nesting, odd content types, oversize. */
export const rawBody: fc.Arbitrary<FuzzBody> = fc.oneof(
  fc.string({ unit: codeUnit, maxLength: 60 }).map((raw) => ({ raw: raw.toWellFormed() })),
  fc.tuple(fc.jsonValue({ maxDepth: 3 }), fc.nat()).map(([value, cut]) => {
    const text = JSON.stringify(value) ?? '';
    return { raw: text.slice(0, cut % (text.length + 1)) };
  }),
  fc.constantFrom(...PROTO_TEXTS).map((raw) => ({ raw })),
  fc.tuple(fc.integer({ min: 30, max: 20_000 }), fc.boolean()).map(([depth, closed]) => ({
    raw: `${'['.repeat(depth)}${closed ? ']'.repeat(depth) : ''}`,
  })),
  fc.tuple(fc.jsonValue({ maxDepth: 2 }), fc.constantFrom(...ODD_CONTENT_TYPES)).map(([value, type]) => ({
    raw: JSON.stringify(value) ?? '',
    headers: { 'content-type': type },
  })),
  fc.constantFrom(70_000, 200_000).map((n) => ({ raw: `{"pad":"${'x'.repeat(n)}"}` })),
);

/** A body for a route: mostly its own field names (`shapedBody`), else anything at all. */
export function bodyFor(shapedBody: fc.Arbitrary<unknown>): fc.Arbitrary<FuzzBody> {
  return fc.oneof(
    { weight: 5, arbitrary: shapedBody.map((body) => ({ body })) },
    { weight: 2, arbitrary: fc.anything({ maxDepth: 3, maxKeys: 5, withNullPrototype: true, withBoxedValues: true }).map((body) => ({ body })) },
    { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }).map((body) => ({ body })) },
    { weight: 2, arbitrary: rawBody },
  );
}

/** How the API's JSON body parser will read a request (64 KB limit, strict: objects and arrays only). */
export type ReadBody = { kind: 'value'; value: unknown } | { kind: 'malformed' } | { kind: 'tooLarge' } | { kind: 'unknown' };

const LIMIT_BYTES = Number.parseInt(BODY_LIMIT, 10) * 1024;

export function readBody(request: FuzzBody): ReadBody {
  if (request.headers?.['content-type']) return { kind: 'unknown' };
  const text = request.raw ?? (request.body === undefined ? undefined : JSON.stringify(request.body));
  if (text === undefined) return { kind: 'value', value: undefined };
  if (Buffer.byteLength(text) > LIMIT_BYTES) return { kind: 'tooLarge' };
  if (text.length === 0) return { kind: 'value', value: {} };
  if (text.startsWith('\ufeff')) return { kind: 'unknown' };
  // body-parser's strict mode: after JSON whitespace, the first character must open an object or array.
  const first = text.replace(/^[ \t\n\r]*/, '').charAt(0);
  if (first !== '{' && first !== '[') return { kind: 'malformed' };
  try {
    return { kind: 'value', value: JSON.parse(text) };
  } catch {
    return { kind: 'malformed' };
  }
}

// Oracles ------------------------------------------------------------------------------------------------------

export const isObject = (value: unknown): value is Record<string, unknown> =>
  value !== null && typeof value === 'object' && !Array.isArray(value);

/** Only these own keys (a strict schema refuses any other, `__proto__` included). */
export const onlyKeys = (value: Record<string, unknown>, allowed: string[]) => Object.keys(value).every((k) => allowed.includes(k));

export const safeText = (value: unknown): value is string => typeof value === 'string' && !value.includes('\0') && value.isWellFormed();

/** Length as zod measures it: Unicode code points, not UTF-16 units ('😀' is 1). */
export const codePoints = (value: string) => [...value].length;

/** A string of `min`–`max` code points. */
export const lengthIn = (value: unknown, min: number, max: number): value is string =>
  typeof value === 'string' && codePoints(value) >= min && codePoints(value) <= max;

export const safeOfLength = (value: unknown, min: number, max: number) => safeText(value) && lengthIn(value, min, max);

export const intIn = (value: unknown, min: number, max: number) =>
  typeof value === 'number' && Number.isSafeInteger(value) && value >= min && value <= max;

/** Every string and key in a JSON value is storable text (what the starter checks before the schema). */
export function allTextSafe(value: unknown): boolean {
  if (typeof value === 'string') return safeText(value);
  if (value === null || typeof value !== 'object') return true;
  return Object.entries(value).every(([key, item]) => safeText(key) && allTextSafe(item));
}

// Path and query encoding ----------------------------------------------------------------------------------------

/** Percent-encodes any string, lone surrogates included (as their WTF-8 bytes, which no decoder accepts). */
export function pct(value: string): string {
  let out = '';
  for (const char of value) {
    const code = char.codePointAt(0)!;
    if (code >= 0xd800 && code <= 0xdfff) {
      out += [0xe0 | (code >> 12), 0x80 | ((code >> 6) & 0x3f), 0x80 | (code & 0x3f)].map((b) => `%${b.toString(16).toUpperCase()}`).join('');
    } else {
      out += encodeURIComponent(char);
    }
  }
  return out;
}

/** A path segment as the router will see it: decoded, or null when undecodable (a 400). */
export function decodedSegment(segment: string): string | null {
  try {
    return decodeURIComponent(segment);
  } catch {
    return null;
  }
}

/** Longest generated path segment or query string, well under Node's 16 KB limit for a request head. */
export const MAX_URL_PART = 8_000;

/** Path segments: hostile text percent-encoded, broken escapes, or given candidates in random letter case. */
export function pathSegment(candidates: string[]): fc.Arbitrary<string> {
  const arbs: fc.Arbitrary<string>[] = [
    hostileString.map(pct),
    longString.map(pct),
    fc.uuid().map((u) => u),
    fc.constantFrom('%', '%E0%A4%A', '%zz', '%ED%A0%80', '%00', '%C0%AF', '%2F', '%2e%2e%2F', 'a%', '%%'),
    numericString.map(pct),
  ];
  if (candidates.length > 0) {
    arbs.push(
      fc.tuple(fc.constantFrom(...candidates), fc.array(fc.boolean(), { minLength: 36, maxLength: 36 })).map(([id, upper]) =>
        [...id].map((c, i) => (upper[i] ? c.toUpperCase() : c)).join(''),
      ),
    );
  }
  // A dot segment would be resolved by the URL parser into another route; an empty one names the collection.
  // Over-long URLs (Node's 16 KB request-head limit) are a property of their own.
  return fc.oneof(...arbs).filter((s) => s.length > 0 && s.length <= MAX_URL_PART && !/^(\.|%2e){1,2}$/i.test(s));
}

/** A query string from the route's own parameter names (with fitting or hostile values) and stray keys. */
export function queryString(params: Record<string, fc.Arbitrary<string>>): fc.Arbitrary<string> {
  const names = Object.keys(params);
  const pair = fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom(...names).chain((name) => fc.tuple(fc.constant(name), fc.oneof({ weight: 3, arbitrary: params[name]! }, { weight: 1, arbitrary: hostileString }))) },
    { weight: 1, arbitrary: fc.tuple(fc.oneof(dangerousKey, hostileString, fc.constantFrom(...names.map((n) => `${n}[]`), ...names.map((n) => `${n}[a]`))), hostileString) },
  );
  return fc.oneof(
    {
      weight: 6,
      arbitrary: fc
        .array(pair, { maxLength: 4 })
        .map((pairs) => pairs.map(([k, v]) => `${pct(k)}=${pct(v)}`).join('&'))
        .filter((query) => query.length <= MAX_URL_PART),
    },
    // Unencoded text as typed into an address bar: the URL parser and the query parser must cope.
    { weight: 1, arbitrary: fc.string({ unit: 'binary-ascii', maxLength: 40 }) },
    { weight: 1, arbitrary: fc.constantFrom('a=%', 'limit=%E0%A4%A', '&&&', '=', '==&=', 'cursor=%ED%A0%80', ';', 'a[b][c][d]=1') },
  );
}

// Response checks -----------------------------------------------------------------------------------------------

export class PropertyViolation extends Error {
  override name = 'PropertyViolation';
}

/**
 * The invariants of every answer: an expected status (never 5xx), JSON `{ error: { code, message } }` on
 * 4xx (code fitting the status where the contract names one), no stack trace, SQL or secret in an error.
 */
export function checkResponse(response: ApiResponse, expected: number[], requestText: string, secrets: string[]): void {
  const text = responseText(response);
  const where = `status ${response.status} (expected ${expected.join('|')}): ${text.slice(0, 300)}`;
  if (response.status >= 500) throw new PropertyViolation(`5xx answer — ${where}`);
  if (!expected.includes(response.status)) throw new PropertyViolation(`unexpected status — ${where}`);
  if (response.status < 400) return;
  if (!(response.headers.get('content-type') ?? '').startsWith('application/json')) throw new PropertyViolation(`error not JSON — ${where}`);
  const body = response.body as { error?: { code?: unknown; message?: unknown } } | null;
  const error = body?.error;
  if (!isObject(body) || !isObject(error) || typeof error.code !== 'string' || typeof error.message !== 'string' || error.message.length === 0) {
    throw new PropertyViolation(`error body is not { error: { code, message } } — ${where}`);
  }
  const code = ({ 400: 'validation_failed', 401: 'unauthorized', 403: 'forbidden', 404: 'not_found', 413: 'payload_too_large', 429: 'rate_limited' } as Record<number, string>)[response.status];
  if (code && error.code !== code) throw new PropertyViolation(`error code ${String(error.code)} does not fit the status — ${where}`);
  const leaks = leaksIn(text, requestText, secrets);
  if (leaks.length > 0) throw new PropertyViolation(`leak (${leaks.join(', ')}) — ${where}`);
}

/** The request as text, for the leak check (text the request itself carried may be named back). */
export function describeRequest(method: string, path: string, request: FuzzBody): string {
  return `${method} ${path} ${request.raw ?? JSON.stringify(request.body) ?? ''} ${JSON.stringify(request.headers ?? {})}`;
}
