import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import { Tenant, User } from '../tenants/entities.ts';

export const TOKEN_KINDS = ['user', 'kiosk', 'integration'] as const;
export type TokenKind = (typeof TOKEN_KINDS)[number];

/**
 * Opaque bearer tokens; only their sha-256 is stored. `user` tokens are sessions; an `integration` token is bound to
 * its `tenant`; a `kiosk` token to the tenants listed in `kiosk_token_tenants` (its `tenant` stays null).
 */
export const AuthToken = defineEntity({
  name: 'AuthToken',
  tableName: 'auth_tokens',
  properties: {
    id: p.uuid().primary().defaultRaw('gen_random_uuid()'),
    tokenHash: p.string().length(64).unique(),
    kind: p.enum(TOKEN_KINDS),
    user: () => p.manyToOne(User).nullable().deleteRule('cascade').index(),
    // An integration token's tenant; null for sessions and kiosk tokens (see KioskTokenTenant).
    tenant: () => p.manyToOne(Tenant).nullable().deleteRule('cascade').index(),
    label: p.string().length(200).nullable(),
    createdBy: () => p.manyToOne(User).nullable().deleteRule('set null'),
    createdAt: p.datetime().defaultRaw('now()').onCreate(() => new Date()),
    expiresAt: p.datetime().nullable(),
    revokedAt: p.datetime().nullable(),
  },
});
export type IAuthToken = InferEntity<typeof AuthToken>;

/**
 * The tenants a kiosk token reads and subscribes to (docs/api.md §12): one row per tenant, written with the token
 * and never changed after (a tenant is not taken off a token: revoke it and create another). Deleting a tenant
 * deletes its rows; a kiosk token left with none authenticates no more.
 */
export const KioskTokenTenant = defineEntity({
  name: 'KioskTokenTenant',
  tableName: 'kiosk_token_tenants',
  properties: {
    token: () => p.manyToOne(AuthToken).primary().deleteRule('cascade'),
    tenant: () => p.manyToOne(Tenant).primary().deleteRule('cascade').index(),
  },
});
export type IKioskTokenTenant = InferEntity<typeof KioskTokenTenant>;
