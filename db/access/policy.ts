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
 * only as a member with a sufficient role, or as that tenant's own kiosk token reading it. Non-members get
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
  if (actor.tenant.slug !== tenantSlug) throw forbidden();
  // Runboard's own scheduled work in its tenant: anything but reporting, which is the mirroring system's.
  if (actor.kind === 'system' && need !== 'report') return { tenant: actor.tenant, role: null, actor };
  if (actor.kind === 'kiosk' && need === 'read') return { tenant: actor.tenant, role: null, actor };
  if (actor.kind === 'integration' && (need === 'start' || need === 'report')) return { tenant: actor.tenant, role: null, actor };
  throw forbidden();
}

/** Routes that belong to a signed-in person (inbox, /me, logout), never to kiosk or integration tokens. */
export function requireUser(actor: Actor): Extract<Actor, { kind: 'user' }> {
  if (actor.kind !== 'user') throw forbidden('This needs a signed-in user.');
  return actor;
}
