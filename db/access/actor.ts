import { author, type ChangeAuthor } from '../runs/model.ts';
import type { Role } from './roles.ts';

export type TenantRef = { id: string; slug: string; name: string };

/** Who is calling, resolved from a bearer token or the session cookie. */
export type Actor =
  | {
      kind: 'user';
      tokenId: string;
      user: { id: string; email: string; name: string };
      memberships: { tenant: TenantRef; role: Role }[];
    }
  /** A wall display's token: reads its tenants (one or several, ordered by slug; never none) and nothing else. */
  | { kind: 'kiosk'; tokenId: string; tenants: TenantRef[]; label: string }
  | { kind: 'integration'; tokenId: string; tenant: TenantRef; label: string };

/** Runboard itself (the scheduler), acting in one tenant. Never resolved from a token. */
export type SystemActor = { kind: 'system'; name: string; tenant: TenantRef };

/** Whoever asks a service for something: a token's actor, or Runboard itself. */
export type Caller = Actor | SystemActor;

export const systemActor = (tenant: TenantRef, name: string): SystemActor => ({ kind: 'system', name, tenant });

/** Who a caller is in a run's history: the user's name, the integration token's label, Runboard's job. */
export function authorOf(caller: Caller): ChangeAuthor {
  switch (caller.kind) {
    case 'user':
      return author('user', caller.user.name);
    case 'integration':
      return author('integration', caller.label);
    case 'kiosk':
      // Kiosk tokens change nothing; named all the same, should a route ever let one.
      return author('system', `kiosk ${caller.label}`);
    case 'system':
      return author('system', caller.name);
  }
}
