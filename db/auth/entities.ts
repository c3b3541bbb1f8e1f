import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import { Tenant, User } from '../tenants/entities.ts';

export const TOKEN_KINDS = ['user', 'kiosk', 'integration'] as const;
export type TokenKind = (typeof TOKEN_KINDS)[number];

/** Opaque bearer tokens; only their sha-256 is stored. `user` tokens are sessions, the others tenant-bound. */
export const AuthToken = defineEntity({
  name: 'AuthToken',
  tableName: 'auth_tokens',
  properties: {
    id: p.uuid().primary().defaultRaw('gen_random_uuid()'),
    tokenHash: p.string().length(64).unique(),
    kind: p.enum(TOKEN_KINDS),
    user: () => p.manyToOne(User).nullable().deleteRule('cascade').index(),
    tenant: () => p.manyToOne(Tenant).nullable().deleteRule('cascade').index(),
    label: p.string().length(200).nullable(),
    createdBy: () => p.manyToOne(User).nullable().deleteRule('set null'),
    createdAt: p.datetime().defaultRaw('now()').onCreate(() => new Date()),
    expiresAt: p.datetime().nullable(),
    revokedAt: p.datetime().nullable(),
  },
});
export type IAuthToken = InferEntity<typeof AuthToken>;
