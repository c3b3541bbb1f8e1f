import type { Role } from '../access/roles.ts';

/** A user on the wire (login, /me). */
export type UserView = { id: string; email: string; name: string };

/** One of a user's memberships on the wire. */
export type MembershipView = { tenant: { slug: string; name: string }; role: Role };
