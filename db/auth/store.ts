import { sql, type ExpressionBuilder, type Selectable } from 'kysely';
import { jsonArrayFrom } from 'kysely/helpers/postgres';
import type { Role } from '../access/roles.ts';
import { queries, type Database } from '../database.ts';
import type { Orm } from '../orm.ts';
import type { TenantStore } from '../tenants/store.ts';
import type { TokenKind } from './entities.ts';

type TenantOfToken = { id: string; slug: string; name: string };

/** A token with its user and, for a user token, every membership of that user; for a kiosk token, its tenants. */
export type TokenRow = {
  id: string;
  kind: TokenKind;
  user_id: string | null;
  /** An integration token's tenant. */
  tenant_id: string | null;
  tenant_slug: string | null;
  tenant_name: string | null;
  email: string | null;
  name: string | null;
  label: string | null;
  memberships: { id: string; slug: string; name: string; role: Role }[];
  /** A kiosk token's tenants, by slug (empty for other kinds). */
  kiosk_tenants: TenantOfToken[];
};

/** A valid kiosk token as its managers list it. */
export type KioskTokenRow = { id: string; label: string | null; created_at: Date; expires_at: Date | null; tenants: TenantOfToken[] };

type TokenTables = Database & { a: Selectable<Database['auth_tokens']> };

/**
 * Whether the token `a` still authenticates: not revoked, not expired, and — a kiosk token — still bound to a
 * tenant (deleting a tenant deletes its bindings; a kiosk token left with none reads nothing, so it is refused).
 */
function usable(eb: ExpressionBuilder<TokenTables, 'a'>) {
  return eb.and([
    eb('a.revoked_at', 'is', null),
    eb.or([eb('a.expires_at', 'is', null), eb('a.expires_at', '>', sql<Date>`now()`)]),
    eb.or([eb('a.kind', '<>', 'kiosk'), eb.exists(eb.selectFrom('kiosk_token_tenants as k').select('k.token_id').whereRef('k.token_id', '=', 'a.id'))]),
  ]);
}

/** A kiosk token's tenants as a JSON array, by slug (empty for other kinds). */
function kioskTenants(eb: ExpressionBuilder<TokenTables, 'a'>) {
  return jsonArrayFrom(
    eb
      .selectFrom('kiosk_token_tenants as k')
      .innerJoin('tenants as kt', 'kt.id', 'k.tenant_id')
      .select(['kt.id', 'kt.slug', 'kt.name'])
      .whereRef('k.token_id', '=', 'a.id')
      .orderBy('kt.slug'),
  );
}

/** Whether the token `a` is bound to at least one of the tenants (a non-empty list). */
function boundToAny(eb: ExpressionBuilder<TokenTables, 'a'>, tenantIds: string[]) {
  return eb.exists(eb.selectFrom('kiosk_token_tenants as k').select('k.token_id').whereRef('k.token_id', '=', 'a.id').where('k.tenant_id', 'in', tenantIds));
}

/** The one owner of `auth_tokens` and `kiosk_token_tenants` SQL. Only token hashes are stored. */
export class TokenStore {
  constructor(
    private readonly orm: Orm,
    private readonly tenants: TenantStore,
  ) {}

  /** A session or an integration token (a kiosk token: insertKiosk). */
  async insert(token: {
    hash: string;
    kind: Exclude<TokenKind, 'kiosk'>;
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

  /** A kiosk token and its tenants (at least one), in one statement. */
  async insertKiosk(token: { hash: string; tenantIds: string[]; label: string; createdBy: string | null; expiresAt: Date | null }): Promise<string> {
    if (token.tenantIds.length === 0) throw new Error('a kiosk token needs a tenant');
    const rows = await queries(this.orm)
      .with('token', (db) =>
        db
          .insertInto('auth_tokens')
          .values({ token_hash: token.hash, kind: 'kiosk', label: token.label, created_by_id: token.createdBy, expires_at: token.expiresAt })
          .returning('id'),
      )
      .insertInto('kiosk_token_tenants')
      .columns(['token_id', 'tenant_id'])
      .expression((eb) =>
        eb.selectFrom('token').select(['token.id as token_id', sql<string>`unnest(${sql.val(token.tenantIds)}::uuid[])`.as('tenant_id')]),
      )
      .returning('token_id')
      .execute();
    return rows[0]!.token_id;
  }

  /**
   * One query per request: the valid token by hash or id, with its user and every membership of that user as JSON
   * (none for tenant tokens), and a kiosk token's tenants. Nothing is cached, so a revoked token is refused on its
   * very next use.
   */
  async resolve(by: { hash: string } | { id: string }): Promise<TokenRow | undefined> {
    const db = queries(this.orm);
    return db
      .selectFrom('auth_tokens as a')
      .leftJoin('tenants as t', 't.id', 'a.tenant_id')
      .leftJoin('users as u', 'u.id', 'a.user_id')
      .select(['a.id', 'a.kind', 'a.user_id', 'a.tenant_id', 't.slug as tenant_slug', 't.name as tenant_name', 'u.email', 'u.name', 'a.label'])
      .select((eb) => this.tenants.membershipsJsonOf(eb.ref('a.user_id')).as('memberships'))
      .select((eb) => kioskTenants(eb).as('kiosk_tenants'))
      .where('hash' in by ? 'a.token_hash' : 'a.id', '=', 'hash' in by ? by.hash : by.id)
      .where(usable)
      .executeTakeFirst();
  }

  /** Of the given token ids, those still valid. */
  async stillValid(tokenIds: string[]): Promise<string[]> {
    const rows = await queries(this.orm).selectFrom('auth_tokens as a').select('a.id').where('a.id', 'in', tokenIds).where(usable).execute();
    return rows.map((row) => row.id);
  }

  async revoke(tokenId: string): Promise<void> {
    await queries(this.orm).updateTable('auth_tokens').set({ revoked_at: sql<Date>`now()` }).where('id', '=', tokenId).where('revoked_at', 'is', null).execute();
  }

  /** Revokes an integration token of the tenant; false when that tenant has no such token. Revoked again: true. */
  async revokeIntegration(tenantId: string, tokenId: string): Promise<boolean> {
    const rows = await queries(this.orm)
      .updateTable('auth_tokens')
      .set((eb) => ({ revoked_at: eb.fn.coalesce('revoked_at', sql<Date>`now()`) }))
      .where('id', '=', tokenId)
      .where('tenant_id', '=', tenantId)
      .where('kind', '=', 'integration')
      .returning('id')
      .execute();
    return rows.length > 0;
  }

  /**
   * Revokes a kiosk token bound to at least one of the given tenants; false for any other token (another tenant's,
   * not a kiosk token, none). Revoked again: true, the first revocation's time kept.
   */
  async revokeKiosk(tenantIds: string[], tokenId: string): Promise<boolean> {
    if (tenantIds.length === 0) return false;
    const rows = await queries(this.orm)
      .updateTable('auth_tokens as a')
      .set((eb) => ({ revoked_at: eb.fn.coalesce('a.revoked_at', sql<Date>`now()`) }))
      .where('a.id', '=', tokenId)
      .where('a.kind', '=', 'kiosk')
      .where((eb) => boundToAny(eb, tenantIds))
      .returning('a.id')
      .execute();
    return rows.length > 0;
  }

  /** The valid kiosk tokens bound to any of the given tenants, newest first, each with all of its tenants. */
  async kioskTokensOf(tenantIds: string[], limit: number): Promise<KioskTokenRow[]> {
    if (tenantIds.length === 0) return [];
    return queries(this.orm)
      .selectFrom('auth_tokens as a')
      .select(['a.id', 'a.label', 'a.created_at', 'a.expires_at'])
      .select((eb) => kioskTenants(eb).as('tenants'))
      .where('a.kind', '=', 'kiosk')
      .where((eb) => boundToAny(eb, tenantIds))
      .where(usable)
      .orderBy('a.created_at', 'desc')
      .orderBy('a.id', 'desc')
      .limit(limit)
      .execute();
  }
}
