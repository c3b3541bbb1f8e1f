import type { Actor, TenantRef } from '../access/actor.ts';
import type { Role } from '../access/roles.ts';
import type { Changefeed } from '../changefeed/publisher.ts';
import { notFound } from '../errors.ts';
import type { Orm } from '../orm.ts';
import type { TokenKind } from './entities.ts';
import { DUMMY_HASH, verifyPassword } from './passwords.ts';
import { hashToken, looksLikeToken, newToken } from './tokens.ts';

export type MembershipView = { tenant: { slug: string; name: string }; role: Role };
export type UserView = { id: string; email: string; name: string };
export type LoginResult = { token: string; user: UserView; memberships: MembershipView[]; expiresAt: Date };

type TokenRow = {
  id: string;
  kind: TokenKind;
  user_id: string | null;
  tenant_id: string | null;
  tenant_slug: string | null;
  tenant_name: string | null;
  email: string | null;
  name: string | null;
  /** User tokens only: every membership of the user (json_agg). */
  memberships: { id: string; slug: string; name: string; role: Role }[] | null;
};

/** Sessions, kiosk and integration tokens: issue, resolve to an actor, revoke. */
export class AuthService {
  constructor(
    private readonly orm: Orm,
    private readonly changefeed: Changefeed,
    private readonly ttl: { sessionHours: number; kioskDays: number },
  ) {}

  /** Null for an unknown user and for a wrong password alike, after the same amount of work. */
  async login(email: string, password: string): Promise<LoginResult | null> {
    const em = this.orm.em.fork();
    const [user] = await em.execute<{ id: string; email: string; name: string; password_hash: string }[]>(
      `select id, email, name, password_hash from users where email = ?`,
      [email.trim().toLowerCase()],
    );
    const valid = await verifyPassword(password, user?.password_hash ?? DUMMY_HASH);
    if (!user || !valid) return null;
    const { token, hash } = newToken('user');
    const expiresAt = new Date(Date.now() + this.ttl.sessionHours * 3_600_000);
    await em.execute(`insert into auth_tokens (token_hash, kind, user_id, expires_at) values (?, 'user', ?, ?)`, [
      hash,
      user.id,
      expiresAt,
    ]);
    return {
      token,
      user: { id: user.id, email: user.email, name: user.name },
      memberships: await this.memberships(user.id),
      expiresAt,
    };
  }

  async memberships(userId: string): Promise<MembershipView[]> {
    const rows = await this.orm.em.fork().execute<{ slug: string; name: string; role: Role }[]>(
      `select t.slug, t.name, m.role from memberships m join tenants t on t.id = m.tenant_id
       where m.user_id = ? order by t.slug`,
      [userId],
    );
    return rows.map((r) => ({ tenant: { slug: r.slug, name: r.name }, role: r.role }));
  }

  /** Resolves a presented token to its actor; null when unknown, expired or revoked. */
  async authenticate(token: string): Promise<Actor | null> {
    if (!looksLikeToken(token)) return null;
    return this.resolve('a.token_hash = ?', hashToken(token));
  }

  /** The current actor behind a token id (fresh memberships); null once revoked or expired. */
  async refresh(tokenId: string): Promise<Actor | null> {
    return this.resolve('a.id = ?', tokenId);
  }

  /** Of the given token ids, those still valid (not revoked, not expired). */
  async stillValid(tokenIds: string[]): Promise<Set<string>> {
    if (tokenIds.length === 0) return new Set();
    const rows = await this.orm.em.fork().execute<{ id: string }[]>(
      `select id from auth_tokens where id = any(?::uuid[]) and revoked_at is null and (expires_at is null or expires_at > now())`,
      [`{${tokenIds.join(',')}}`],
    );
    return new Set(rows.map((r) => r.id));
  }

  /** Tenant slugs each of the given users is currently a member of. */
  async memberSlugs(userIds: string[]): Promise<Map<string, Set<string>>> {
    const result = new Map<string, Set<string>>();
    if (userIds.length === 0) return result;
    const rows = await this.orm.em.fork().execute<{ user_id: string; slug: string }[]>(
      `select m.user_id, t.slug from memberships m join tenants t on t.id = m.tenant_id where m.user_id = any(?::uuid[])`,
      [`{${userIds.join(',')}}`],
    );
    for (const row of rows) {
      const slugs = result.get(row.user_id) ?? new Set<string>();
      slugs.add(row.slug);
      result.set(row.user_id, slugs);
    }
    return result;
  }

  /**
   * One query per request: the token (unrevoked, unexpired) with its user and, for a user token, every
   * membership as JSON. Nothing is cached, so a revoked or expired token is refused on its very next use.
   */
  private async resolve(where: string, value: string): Promise<Actor | null> {
    // A connection-level query: no entity is loaded, so no EntityManager fork (and its identity map) is needed.
    const [row] = await this.orm.em.getConnection().execute<TokenRow[]>(
      `select a.id, a.kind, a.user_id, a.tenant_id, t.slug as tenant_slug, t.name as tenant_name, u.email, u.name,
              case when a.kind = 'user' then coalesce(
                (select json_agg(json_build_object('id', mt.id, 'slug', mt.slug, 'name', mt.name, 'role', m.role))
                 from memberships m join tenants mt on mt.id = m.tenant_id where m.user_id = a.user_id), '[]'::json)
              end as memberships
       from auth_tokens a left join tenants t on t.id = a.tenant_id left join users u on u.id = a.user_id
       where ${where} and a.revoked_at is null and (a.expires_at is null or a.expires_at > now())`,
      [value],
    );
    if (!row) return null;
    if (row.kind === 'user') {
      if (!row.user_id || row.email === null || row.name === null) return null;
      return {
        kind: 'user',
        tokenId: row.id,
        user: { id: row.user_id, email: row.email, name: row.name },
        memberships: (row.memberships ?? []).map((m) => ({ tenant: { id: m.id, slug: m.slug, name: m.name }, role: m.role })),
      };
    }
    if (!row.tenant_id || row.tenant_slug === null || row.tenant_name === null) return null;
    const tenant: TenantRef = { id: row.tenant_id, slug: row.tenant_slug, name: row.tenant_name };
    return { kind: row.kind, tokenId: row.id, tenant };
  }

  /** Revokes a token at once and tells every gateway to drop its sockets. */
  async revoke(tokenId: string): Promise<void> {
    await this.orm.em.fork().execute(`update auth_tokens set revoked_at = now() where id = ? and revoked_at is null`, [
      tokenId,
    ]);
    await this.changefeed.control({ type: 'token:revoked', tokenId });
  }

  /** A tenant-bound token (kiosk or integration), shown once. */
  async createTenantToken(
    kind: Exclude<TokenKind, 'user'>,
    tenantId: string,
    label: string,
    createdBy: string | null,
  ): Promise<{ id: string; token: string }> {
    const { token, hash } = newToken(kind);
    const expiresAt = kind === 'kiosk' ? new Date(Date.now() + this.ttl.kioskDays * 86_400_000) : null;
    const [row] = await this.orm.em.fork().execute<{ id: string }[]>(
      `insert into auth_tokens (token_hash, kind, tenant_id, label, created_by_id, expires_at)
       values (?, ?, ?, ?, ?, ?) returning id`,
      [hash, kind, tenantId, label, createdBy, expiresAt],
    );
    if (!row) throw new Error('token insert returned nothing');
    return { id: row.id, token };
  }

  /** Revokes a tenant token of the given kind; not_found for other tenants' tokens (no probing). */
  async revokeTenantToken(kind: Exclude<TokenKind, 'user'>, tenantId: string, tokenId: string): Promise<void> {
    const rows = await this.orm.em.fork().execute<{ id: string }[]>(
      `update auth_tokens set revoked_at = coalesce(revoked_at, now())
       where id = ? and tenant_id = ? and kind = ? returning id`,
      [tokenId, tenantId, kind],
    );
    if (rows.length === 0) throw notFound('The token');
    await this.changefeed.control({ type: 'token:revoked', tokenId });
  }
}
