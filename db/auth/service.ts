import type { Actor, TenantRef } from '../access/actor.ts';
import type { Changefeed } from '../changefeed/publisher.ts';
import { notFound, validationFailed } from '../errors.ts';
import { normalizeEmail } from '../tenants/service.ts';
import type { TenantStore } from '../tenants/store.ts';
import type { TokenKind } from './entities.ts';
import type { TokenRow, TokenStore } from './store.ts';
import { DUMMY_HASH, verifyPassword } from './passwords.ts';
import { hashToken, looksLikeToken, newToken } from './tokens.ts';

import type { KioskTokenView, MembershipView, UserView } from './view.ts';

export type { KioskTokenView, MembershipView, UserView };
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
    const label = row.label ?? '(unlabelled token)';
    if (row.kind === 'kiosk') {
      // The store refuses a kiosk token bound to no tenant; this keeps the actor's "never none" true regardless.
      if (row.kiosk_tenants.length === 0) return null;
      return { kind: 'kiosk', tokenId: row.id, tenants: row.kiosk_tenants, label };
    }
    if (!row.tenant_id || row.tenant_slug === null || row.tenant_name === null) return null;
    const tenant: TenantRef = { id: row.tenant_id, slug: row.tenant_slug, name: row.tenant_name };
    return { kind: row.kind, tokenId: row.id, tenant, label };
  }

  /** Revokes a token at once and tells every gateway to drop its sockets. */
  async revoke(tokenId: string): Promise<void> {
    await this.tokens.revoke(tokenId);
    await this.changefeed.control({ type: 'token:revoked', tokenId });
  }

  /** A tenant-bound token (kiosk or integration), shown once. A kiosk token made here reads that one tenant. */
  async createTenantToken(
    kind: Exclude<TokenKind, 'user'>,
    tenantId: string,
    label: string,
    createdBy: string | null,
  ): Promise<{ id: string; token: string }> {
    if (kind === 'kiosk') return this.createKioskToken([tenantId], label, createdBy);
    const { token, hash } = newToken(kind);
    const id = await this.tokens.insert({ hash, kind, tenantId, label, createdBy, expiresAt: null });
    return { id, token };
  }

  /**
   * A kiosk token bound to these tenants (docs/api.md §12), shown once; the caller has checked who may create it.
   * Its list never changes: a tenant is not taken off a token (revoke it and create another).
   */
  async createKioskToken(tenantIds: string[], label: string, createdBy: string | null): Promise<{ id: string; token: string }> {
    if (tenantIds.length === 0) throw validationFailed([{ path: 'tenants', message: 'A kiosk token reads at least one tenant.' }]);
    const { token, hash } = newToken('kiosk');
    const expiresAt = new Date(Date.now() + this.ttl.kioskDays * 86_400_000);
    const id = await this.tokens.insertKiosk({ hash, tenantIds: [...new Set(tenantIds)], label, createdBy, expiresAt });
    return { id, token };
  }

  /** Revokes a tenant token of the given kind; not_found for other tenants' tokens (no probing). */
  async revokeTenantToken(kind: Exclude<TokenKind, 'user'>, tenantId: string, tokenId: string): Promise<void> {
    if (kind === 'kiosk') return this.revokeKioskToken([tenantId], tokenId);
    if (!(await this.tokens.revokeIntegration(tenantId, tokenId))) throw notFound('The token');
    await this.changefeed.control({ type: 'token:revoked', tokenId });
  }

  /**
   * Revokes a kiosk token bound to any of these tenants (those the caller may manage tokens in), whatever its
   * other tenants; not_found for every other id. Revoking it again succeeds (the gateways are told again).
   */
  async revokeKioskToken(tenantIds: string[], tokenId: string): Promise<void> {
    if (!(await this.tokens.revokeKiosk(tenantIds, tokenId))) throw notFound('The token');
    await this.changefeed.control({ type: 'token:revoked', tokenId });
  }

  /**
   * The valid kiosk tokens bound to any of the `managed` tenants, newest first (at most `limit`), naming of each
   * token's tenants only those in `visible` (the caller's own memberships).
   */
  async kioskTokens(managed: TenantRef[], visible: ReadonlySet<string>, limit = 500): Promise<KioskTokenView[]> {
    const rows = await this.tokens.kioskTokensOf(managed.map((t) => t.id), limit);
    return rows.map((row) => {
      const shown = row.tenants.filter((t) => visible.has(t.slug));
      return {
        id: row.id,
        label: row.label ?? '(unlabelled token)',
        tenants: shown.map((t) => ({ slug: t.slug, name: t.name })),
        otherTenants: row.tenants.length - shown.length,
        createdAt: new Date(row.created_at).toISOString(),
        expiresAt: row.expires_at ? new Date(row.expires_at).toISOString() : null,
      };
    });
  }
}
