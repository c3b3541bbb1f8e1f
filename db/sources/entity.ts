import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import { Tenant, User } from '../tenants/entities.ts';

export const SOURCE_KINDS = ['simulated', 'graph'] as const;
export type SourceKind = (typeof SOURCE_KINDS)[number];

/** The simulated source's settings: its content is a pure function of the tenant and `revision`. */
export type SimulatedSettings = { policies?: number; revision?: number; failItems?: string[]; unavailable?: boolean };

/**
 * Where a tenant's policies are read and restores applied: one per tenant, set by an owner. A `graph`
 * credential is stored encrypted with a key from configuration (never from the database), and is never
 * selected by anything but the source factory of the workers.
 */
export const PolicySource = defineEntity({
  name: 'PolicySource',
  tableName: 'policy_sources',
  properties: {
    tenant: () => p.manyToOne(Tenant).primary().deleteRule('cascade'),
    kind: p.enum(SOURCE_KINDS),
    baseUrl: p.string().length(2000).nullable(),
    collections: p.json<string[]>().defaultRaw(`'[]'::jsonb`),
    credentialCiphertext: p.text().nullable(),
    simulated: p.json<SimulatedSettings>().nullable(),
    updatedAt: p.datetime().defaultRaw('now()'),
    updatedBy: () => p.manyToOne(User).nullable().deleteRule('set null'),
  },
});
export type IPolicySource = InferEntity<typeof PolicySource>;
