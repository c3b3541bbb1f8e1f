// Building blocks for hostile-input tests: the case shape, the contract's error expectations and leak checks.
import { expect } from 'vitest';
import type { ApiResponse } from './app.ts';

/** Who sends a case: a seeded session (as bearer or cookie), a kiosk token, a revoked session, or nobody. */
export type Caller = 'owner' | 'ownerCookie' | 'operator' | 'readonly' | 'kiosk' | 'spare' | 'revoked' | 'none';

export type HostileCase = {
  name: string;
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** May hold `{placeholders}` filled in at run time (ids that only exist once the stack is seeded). */
  path: string;
  /** Sent as JSON. */
  body?: unknown;
  /** Sent as a literal string (content-type application/json unless `headers` says otherwise). */
  raw?: string;
  headers?: Record<string, string>;
  /** Default: the acme owner, so access passes and validation is what is tested. */
  as?: Caller;
  status: number;
};

/** The contract's error code for each status (docs/api.md §3). */
export const ERROR_CODES: Record<number, string> = {
  400: 'validation_failed',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  413: 'payload_too_large',
  429: 'rate_limited',
};

/** `{ error: { code, message, details?: [{ path, message }] } }` with the code that fits the status. */
export function expectContractError(response: ApiResponse, status: number): void {
  expect(response.headers.get('content-type') ?? '').toMatch(/^application\/json/);
  const body = response.body as { error?: Record<string, unknown> } | null;
  expect(body, 'error body').toEqual({ error: expect.any(Object) });
  const error = body!.error!;
  expect(Object.keys(error).sort()).toEqual(expect.arrayContaining(['code', 'message']));
  expect(Object.keys(error).every((k) => ['code', 'message', 'details'].includes(k)), 'only code, message, details').toBe(true);
  expect(error.code).toBe(ERROR_CODES[status]);
  expect(typeof error.message).toBe('string');
  expect((error.message as string).length).toBeGreaterThan(0);
  if (error.details !== undefined) {
    expect(Array.isArray(error.details)).toBe(true);
    for (const detail of error.details as unknown[]) {
      expect(detail).toEqual({ path: expect.any(String), message: expect.any(String) });
    }
  }
}

// What must never reach a client: stack frames, source paths, SQL and driver errors.
const LEAK_PATTERNS: { what: string; pattern: RegExp }[] = [
  { what: 'stack frame', pattern: /\bat [\w$.<>[\] ]+ \(/ },
  { what: 'stack frame', pattern: /\bat (file:\/\/)?\/[\w./-]+:\d+/ },
  { what: 'node_modules path', pattern: /node_modules/ },
  { what: 'source file position', pattern: /\.(ts|js|mjs|cjs):\d+/ },
  { what: 'absolute source path', pattern: /\/(work|home|usr|tmp)\/[\w.-]+\// },
  { what: 'SQL', pattern: /select\s/i },
  { what: 'SQL', pattern: /insert into/i },
  { what: 'SQL', pattern: /\bdelete from\b/i },
  { what: 'SQL error', pattern: /syntax error/i },
  { what: 'PostgreSQL error', pattern: /invalid input syntax|unsupported unicode escape|out of range|relation "|violates .* constraint/i },
  { what: 'exception name', pattern: /\b(TypeError|RangeError|URIError|SyntaxError|ReferenceError)\b/ },
  { what: 'ORM/driver name', pattern: /mikro-?orm|knex|kysely|\bpg-protocol\b|DriverException/i },
];

/**
 * Leaks in a response: every pattern above, unless the request itself contained that text (a rejected key
 * may be named back), and every secret, always.
 */
export function leaksIn(responseText: string, requestText: string, secrets: string[]): string[] {
  const found: string[] = [];
  for (const { what, pattern } of LEAK_PATTERNS) {
    const hit = pattern.exec(responseText);
    if (hit && !requestText.toLowerCase().includes(hit[0].toLowerCase())) found.push(`${what}: ${hit[0]}`);
  }
  for (const secret of secrets) {
    if (secret && responseText.includes(secret)) found.push(`secret echoed: ${secret.slice(0, 12)}…`);
  }
  return found;
}

/** The response as text, whatever `call` made of it. */
export function responseText(response: ApiResponse): string {
  return typeof response.body === 'string' ? response.body : JSON.stringify(response.body);
}

// Inputs.

export const SQL_STRINGS = [
  "' OR 1=1 --",
  "'; drop table operation_runs; --",
  '" OR ""="',
  "1); DELETE FROM users; --",
  "' UNION SELECT token_hash FROM auth_tokens --",
] as const;

/** `depth` nested arrays around `inner`, as JSON text. */
export const nestedArrays = (depth: number, inner = '0') => `${'['.repeat(depth)}${inner}${']'.repeat(depth)}`;

/** `depth` nested objects `{"a":{"a":…}}` around `inner`, as JSON text. */
export const nestedObjects = (depth: number, inner = '0') => `${'{"a":'.repeat(depth)}${inner}${'}'.repeat(depth)}`;

/** A base64url cursor of any JSON value (the API's cursors are base64url JSON). */
export const cursorOf = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

/** Percent-encodes a whole value for a query string. */
export const q = (value: string) => encodeURIComponent(value);
