import type { Role } from '../access/roles.ts';

/** A user on the wire (login, /me). */
export type UserView = { id: string; email: string; name: string };

/** One of a user's memberships on the wire. */
export type MembershipView = { tenant: { slug: string; name: string }; role: Role };

/**
 * A kiosk token as its managers list it (docs/api.md §12); never the token itself. A tenant of the token of which
 * the caller is no member is counted, not named, so tenant names are not shown to outsiders.
 */
export type KioskTokenView = {
  id: string;
  label: string;
  /** Its tenants of which the caller is a member, by slug. */
  tenants: { slug: string; name: string }[];
  /** How many more tenants it is bound to. */
  otherTenants: number;
  createdAt: string;
  expiresAt: string | null;
};
