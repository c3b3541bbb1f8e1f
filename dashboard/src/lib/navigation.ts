import type { Role } from '../../../server/http/contract.ts';
import { mayManageWebhooks, type Permission } from './permissions.ts';

/** A same-site path to go back to after signing in; anything else (other origins, `//host`) goes home. */
export function safeNext(next: string | null): string {
  if (!next || !next.startsWith('/') || next.startsWith('//') || next.startsWith('/\\')) return '/';
  if (next.startsWith('/login')) return '/';
  return next;
}

export function loginPath(here: string): string {
  return here === '/' ? '/login' : `/login?next=${encodeURIComponent(here)}`;
}

/** Pages of no one tenant in the main navigation, before the tenant's own (docs/api.md §12). */
export const GLOBAL_LINKS = [{ href: '/overview', label: 'Overview', icon: 'grid' }] as const;

/**
 * A tenant's pages in the main navigation, in order; `match`: the paths under which the link is the current page
 * (a restore is a backup's). A page with a `permission` shows only to the roles it allows; its route still checks
 * and says why to anyone who opens it anyway.
 */
const TENANT_LINKS = [
  { path: 'operations', label: 'Operations', icon: 'list', match: ['operations'] },
  { path: 'operation-types', label: 'Operation types', icon: 'play', match: ['operation-types'] },
  { path: 'inventory', label: 'Inventory', icon: 'database', match: ['inventory'] },
  { path: 'drift', label: 'Drift', icon: 'diff', match: ['drift'] },
  { path: 'backups', label: 'Backups', icon: 'archive', match: ['backups', 'restores'] },
  { path: 'webhooks', label: 'Webhooks', icon: 'external', match: ['webhooks'], permission: mayManageWebhooks },
  { path: 'wall', label: 'Wall', icon: 'monitor', match: ['wall'] },
] as const satisfies readonly { path: string; label: string; icon: string; match: readonly string[]; permission?: (role: Role | null) => Permission }[];

export type TenantLink = (typeof TENANT_LINKS)[number];

/** The links a member of this role sees. */
export function tenantLinks(role: Role | null): TenantLink[] {
  return TENANT_LINKS.filter((link) => !('permission' in link) || link.permission(role).ok);
}
