import type { Actor, TenantRef } from '../access/actor.ts';
import type { Changefeed } from '../changefeed/publisher.ts';
import { notFound } from '../errors.ts';
import { normalizeEmail } from '../tenants/service.ts';
import type { TenantStore } from '../tenants/store.ts';
import type { TokenKind } from './entities.ts';
import type { TokenRow, TokenStore } from './store.ts';
import { DUMMY_HASH, verifyPassword } from './passwords.ts';
import { hashToken, looksLikeToken, newToken } from './tokens.ts';

import type { MembershipView, UserView } from './view.ts';

export type { MembershipView, UserView };
export type LoginResult = { token: string; user: UserView; memberships: MembershipView[]; expiresAt: Date };

/** Sessions, kiosk and integration tokens: issue, resolve to an actor, revoke. */
export class AuthService {
  constructor(
    private readonly tokens: TokenStore,
    private readonly tenants: TenantStore,
    private readonly changefeed: Changefeed,
    private readonly ttl: { sessionHours: number; kioskDays: number },
  ) {}

  /** Null for an unknown user and for a wrong password alike, after the same amount of work. */
  async login(email: string, password: string): Promise<LoginResult | null> {
    const user = await this.tenants.findCredentials(normalizeEmail(email));
    const valid = await verifyPassword(password, user?.password_hash ?? DUMMY_HASH);
    if (!user || !valid) return null;
    const { token, hash } = newToken('user');
    const expiresAt = new Date(Date.now() + this.ttl.sessionHours * 3_600_000);
    await this.tokens.insert({ hash, kind: 'user', userId: user.id, expiresAt });
    return {
      token,
      user: { id: user.id, email: user.email, name: user.name },
      memberships: await this.memberships(user.id),
      expiresAt,
    };
  }

  async memberships(userId: string): Promise<MembershipView[]> {
    const rows = await this.tenants.membershipsOf(userId);
    return rows.map((r) => ({ tenant: { slug: r.slug, name: r.name }, role: r.role }));
  }

  /** Resolves a presented token to its actor; null when unknown, expired or revoked. */
  async authenticate(token: string): Promise<Actor | null> {
    if (!looksLikeToken(token)) return null;
    return this.actorOf(await this.tokens.resolve({ hash: hashToken(token) }));
  }

  /** The current actor behind a token id (fresh memberships); null once revoked or expired. */
  async refresh(tokenId: string): Promise<Actor | null> {
    return this.actorOf(await this.tokens.resolve({ id: tokenId }));
  }

  /** Of the given token ids, those still valid (not revoked, not expired). */
  async stillValid(tokenIds: string[]): Promise<Set<string>> {
    if (tokenIds.length === 0) return new Set();
    return new Set(await this.tokens.stillValid(tokenIds));
  }

  /** Tenant slugs each of the given users is currently a member of. */
  async memberSlugs(userIds: string[]): Promise<Map<string, Set<string>>> {
    const result = new Map<string, Set<string>>();
    if (userIds.length === 0) return result;
    const rows = await this.tenants.memberSlugs(userIds);
    for (const row of rows) {
      const slugs = result.get(row.user_id) ?? new Set<string>();
      slugs.add(row.slug);
      result.set(row.user_id, slugs);
    }
    return result;
  }

  /** The actor behind a valid token row. */
  private actorOf(row: TokenRow | undefined): Actor | null {
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
    return { kind: row.kind, tokenId: row.id, tenant, label: row.label ?? '(unlabelled token)' };
  }

  /** Revokes a token at once and tells every gateway to drop its sockets. */
  async revoke(tokenId: string): Promise<void> {
    await this.tokens.revoke(tokenId);
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
    const id = await this.tokens.insert({ hash, kind, tenantId, label, createdBy, expiresAt });
    return { id, token };
  }

  /** Revokes a tenant token of the given kind; not_found for other tenants' tokens (no probing). */
  async revokeTenantToken(kind: Exclude<TokenKind, 'user'>, tenantId: string, tokenId: string): Promise<void> {
    if (!(await this.tokens.revokeTenantToken(kind, tenantId, tokenId))) throw notFound('The token');
    await this.changefeed.control({ type: 'token:revoked', tokenId });
  }
}
