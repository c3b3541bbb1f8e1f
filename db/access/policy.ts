import { forbidden } from '../errors.ts';
import type { Actor, Caller, TenantRef } from './actor.ts';
import { roleAtLeast, type Role } from './roles.ts';

/**
 * What a tenant route needs: to read the tenant's runs; to start runs (members ≥ operator, or the tenant's
 * integration token — for mirrored types, checked by the starter); to report events of mirrored runs (the
 * tenant's integration token only); or a minimum membership role.
 */
export type Need = 'read' | 'start' | 'report' | { role: Role };

export type TenantAccess<A extends Caller = Actor> = { tenant: TenantRef; role: Role | null; actor: A };

/**
 * The one access check for every tenant route and socket handler. Deny by default: a caller gets through
 * only as a member with a sufficient role, or as a kiosk token bound to that tenant reading it. Non-members get
 * `forbidden` whether or not the tenant exists, so tenant names cannot be probed.
 */
export function requireTenantAccess<A extends Caller>(actor: A, tenantSlug: string, need: Need): TenantAccess<A> {
  if (actor.kind === 'user') {
    const membership = actor.memberships.find((m) => m.tenant.slug === tenantSlug);
    if (!membership || need === 'report') throw forbidden();
    const minimum: Role | null = need === 'read' ? null : need === 'start' ? 'operator' : need.role;
    if (minimum && !roleAtLeast(membership.role, minimum)) throw forbidden(`This needs the ${minimum} role or higher.`);
    return { tenant: membership.tenant, role: membership.role, actor };
  }
  if (actor.kind === 'kiosk') {
    // Each of its tenants (docs/api.md §12), to read only.
    const tenant = actor.tenants.find((t) => t.slug === tenantSlug);
    if (!tenant || need !== 'read') throw forbidden();
    return { tenant, role: null, actor };
  }
  if (actor.tenant.slug !== tenantSlug) throw forbidden();
  // Runboard's own scheduled work in its tenant: anything but reporting, which is the mirroring system's.
  if (actor.kind === 'system' && need !== 'report') return { tenant: actor.tenant, role: null, actor };
  if (actor.kind === 'integration' && (need === 'start' || need === 'report')) return { tenant: actor.tenant, role: null, actor };
  throw forbidden();
}

/**
 * Every tenant in which the caller passes `need`, by the same rule as requireTenantAccess: for routes that span
 * tenants (a member's tenants from a role, a kiosk token's tenants to read, a tenant token's own tenant).
 */
export function tenantsWhere(actor: Caller, need: Need): TenantRef[] {
  const candidates = actor.kind === 'user' ? actor.memberships.map((m) => m.tenant) : actor.kind === 'kiosk' ? actor.tenants : [actor.tenant];
  return candidates.filter((tenant) => {
    try {
      requireTenantAccess(actor, tenant.slug, need);
      return true;
    } catch {
      return false;
    }
  });
}

/** Routes that belong to a signed-in person (inbox, /me, logout), never to kiosk or integration tokens. */
export function requireUser(actor: Actor): Extract<Actor, { kind: 'user' }> {
  if (actor.kind !== 'user') throw forbidden('This needs a signed-in user.');
  return actor;
}
