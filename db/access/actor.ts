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
  | { kind: 'kiosk'; tokenId: string; tenant: TenantRef }
  | { kind: 'integration'; tokenId: string; tenant: TenantRef };

/** Runboard itself (the scheduler), acting in one tenant. Never resolved from a token. */
export type SystemActor = { kind: 'system'; name: string; tenant: TenantRef };

/** Whoever asks a service for something: a token's actor, or Runboard itself. */
export type Caller = Actor | SystemActor;

export const systemActor = (tenant: TenantRef, name: string): SystemActor => ({ kind: 'system', name, tenant });
