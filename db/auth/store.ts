import { sql, type SqlBool } from 'kysely';
import type { Role } from '../access/roles.ts';
import { queries } from '../database.ts';
import type { Orm } from '../orm.ts';
import type { TenantStore } from '../tenants/store.ts';
import type { TokenKind } from './entities.ts';

/** A token with its user and, for a user token, every membership of that user. */
export type TokenRow = {
  id: string;
  kind: TokenKind;
  user_id: string | null;
  tenant_id: string | null;
  tenant_slug: string | null;
  tenant_name: string | null;
  email: string | null;
  name: string | null;
  label: string | null;
  memberships: { id: string; slug: string; name: string; role: Role }[];
};

const valid = sql<SqlBool>`a.revoked_at is null and (a.expires_at is null or a.expires_at > now())`;

/** The one owner of `auth_tokens` SQL. Only token hashes are stored. */
export class TokenStore {
  constructor(
    private readonly orm: Orm,
    private readonly tenants: TenantStore,
  ) {}

  async insert(token: {
    hash: string;
    kind: TokenKind;
    userId?: string | null;
    tenantId?: string | null;
    label?: string | null;
    createdBy?: string | null;
    expiresAt: Date | null;
  }): Promise<string> {
    const row = await queries(this.orm)
      .insertInto('auth_tokens')
      .values({
        token_hash: token.hash,
        kind: token.kind,
        user_id: token.userId ?? null,
        tenant_id: token.tenantId ?? null,
        label: token.label ?? null,
        created_by_id: token.createdBy ?? null,
        expires_at: token.expiresAt,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    return row.id;
  }

  /**
   * One query per request: the valid (unrevoked, unexpired) token by hash or id, with its user and every
   * membership of that user as JSON (none for tenant tokens). Nothing is cached, so a revoked token is refused on its very next use.
   */
  async resolve(by: { hash: string } | { id: string }): Promise<TokenRow | undefined> {
    const db = queries(this.orm);
    return db
      .selectFrom('auth_tokens as a')
      .leftJoin('tenants as t', 't.id', 'a.tenant_id')
      .leftJoin('users as u', 'u.id', 'a.user_id')
      .select(['a.id', 'a.kind', 'a.user_id', 'a.tenant_id', 't.slug as tenant_slug', 't.name as tenant_name', 'u.email', 'u.name', 'a.label'])
      .select((eb) => this.tenants.membershipsJsonOf(eb.ref('a.user_id')).as('memberships'))
      .where('hash' in by ? 'a.token_hash' : 'a.id', '=', 'hash' in by ? by.hash : by.id)
      .where(valid)
      .executeTakeFirst();
  }

  /** Of the given token ids, those still valid. */
  async stillValid(tokenIds: string[]): Promise<string[]> {
    const rows = await queries(this.orm).selectFrom('auth_tokens as a').select('a.id').where('a.id', 'in', tokenIds).where(valid).execute();
    return rows.map((row) => row.id);
  }

  async revoke(tokenId: string): Promise<void> {
    await queries(this.orm).updateTable('auth_tokens').set({ revoked_at: sql<Date>`now()` }).where('id', '=', tokenId).where('revoked_at', 'is', null).execute();
  }

  /** Revokes a tenant-bound token of one kind; false when that tenant has no such token. */
  async revokeTenantToken(kind: TokenKind, tenantId: string, tokenId: string): Promise<boolean> {
    const rows = await queries(this.orm)
      .updateTable('auth_tokens')
      .set((eb) => ({ revoked_at: eb.fn.coalesce('revoked_at', sql<Date>`now()`) }))
      .where('id', '=', tokenId)
      .where('tenant_id', '=', tenantId)
      .where('kind', '=', kind)
      .returning('id')
      .execute();
    return rows.length > 0;
  }
}
