import { createHash } from 'node:crypto';

/** JSON with object keys sorted at every depth, so equal values always serialize the same. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

/** A run's identity: tenant + type + the identity fields of its scope, hashed (sha-256, hex). */
export function identityHash(tenantId: string, type: string, identity: Record<string, unknown>): string {
  return createHash('sha256').update(canonicalJson({ tenant: tenantId, type, identity })).digest('hex');
}
