// What an owner may set as a tenant's policy source (docs/api.md §10). The HTTP contract
// (server/http/contract.ts) exposes these schemas as the PUT body; the CLI and the service validate with them too.
import { z } from 'zod';
import { safeString } from '../validation.ts';

/** Bounds of the simulated source's settings. */
export const SIMULATED_LIMITS = {
  policies: { min: 1, max: 20_000, default: 40 },
  revision: { min: 0, max: 100_000 },
  failItems: 1_000,
} as const;

export const simulatedSettings = z.strictObject({
  policies: z.number().int().min(SIMULATED_LIMITS.policies.min).max(SIMULATED_LIMITS.policies.max).optional(),
  revision: z.number().int().min(SIMULATED_LIMITS.revision.min).max(SIMULATED_LIMITS.revision.max).optional(),
  failItems: z.array(safeString().min(1).max(200)).max(SIMULATED_LIMITS.failItems).optional(),
  unavailable: z.boolean().optional(),
});

/** The simulated source's settings with every default filled in: what it runs with and what the view shows. */
export type ResolvedSimulatedSettings = { policies: number; revision: number; failItems: string[]; unavailable: boolean };

export function resolveSimulated(settings: z.infer<typeof simulatedSettings> | null | undefined): ResolvedSimulatedSettings {
  return {
    policies: settings?.policies ?? SIMULATED_LIMITS.policies.default,
    revision: settings?.revision ?? 0,
    failItems: settings?.failItems ?? [],
    unavailable: settings?.unavailable ?? false,
  };
}

export const MAX_URL_LENGTH = 2_000;

/**
 * A URL as it is stored: parsed and serialized by the WHATWG parser (hosts canonical, e.g. 0x7f.1 → 127.0.0.1),
 * without a trailing slash. Null when it is not an http(s) URL, carries user info, a query or a fragment
 * (`{baseUrl}/{collection}` is built by appending), or grows past MAX_URL_LENGTH when serialized.
 */
export function normalizeBaseUrl(raw: string): string | null {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return null;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return null;
  if (url.username || url.password || url.search || url.hash || raw.includes('?') || raw.includes('#')) return null;
  const href = url.href.replace(/\/+$/, '');
  return href.length <= MAX_URL_LENGTH ? href : null;
}

const httpUrl = (what: string) =>
  safeString()
    .max(MAX_URL_LENGTH)
    .refine((value) => normalizeBaseUrl(value) !== null, `${what} must be an http:// or https:// URL without user info, query or fragment`);

const COLLECTION = /^[A-Za-z0-9_./-]{1,200}$/;

/** A collection path under the base URL, e.g. `deviceManagement/deviceConfigurations`: no empty, `.` or `..` segments. */
export const collectionPath = z
  .string()
  .regex(COLLECTION, 'must be 1-200 letters, digits and _ . / -')
  .refine((value) => !value.includes('..') && value.split('/').every((segment) => segment !== '' && segment !== '.'), 'must not have empty, "." or ".." segments');

/** Header-safe token text (visible ASCII), so a credential cannot smuggle a header line. */
const headerToken = z.string().min(1).max(8_192).regex(/^[\x21-\x7e]+$/, 'must be visible ASCII characters');

/** A `graph` source's credential: a bearer token, or OAuth 2.0 client credentials fetched from `tokenUrl`. */
export const sourceCredential = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('bearer'), token: headerToken }),
  z.strictObject({
    type: z.literal('client_credentials'),
    tokenUrl: httpUrl('tokenUrl'),
    clientId: safeString().min(1).max(200),
    clientSecret: safeString().min(1).max(1_000),
    scope: safeString().min(1).max(1_000).optional(),
  }),
]);
export type SourceCredential = z.infer<typeof sourceCredential>;

/** `PUT /api/tenants/:tenant/policy-source`. `credential` omitted keeps the stored one (same origin), null clears it. */
export const policySourceInput = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('simulated'), simulated: simulatedSettings.optional() }),
  z.strictObject({
    kind: z.literal('graph'),
    baseUrl: httpUrl('baseUrl'),
    collections: z
      .array(collectionPath)
      .min(1)
      .max(20)
      .refine((list) => new Set(list).size === list.length, 'must not repeat a collection'),
    credential: sourceCredential.nullable().optional(),
  }),
]);
export type PolicySourceInput = z.infer<typeof policySourceInput>;
