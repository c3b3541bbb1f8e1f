import type { Request, RequestHandler } from 'express';
import type { Actor } from '../../db/access/actor.ts';
import { requireTenantAccess, type Need, type TenantAccess } from '../../db/access/policy.ts';
import type { AuthService } from '../../db/auth/service.ts';
import { forbidden, unauthorized } from '../../db/errors.ts';

export const SESSION_COOKIE = 'rb_session';

declare module 'express-serve-static-core' {
  interface Request {
    actor?: Actor;
    /** How the actor was identified; cookie-authenticated writes are origin-checked. */
    authVia?: 'bearer' | 'cookie';
  }
}

export function presentedToken(req: Request): { token: string; via: 'bearer' | 'cookie' } | null {
  const header = req.get('authorization');
  if (header) {
    const match = /^Bearer\s+(\S{1,200})$/i.exec(header);
    return match?.[1] ? { token: match[1], via: 'bearer' } : null;
  }
  const cookie = (req.cookies as Record<string, unknown> | undefined)?.[SESSION_COOKIE];
  return typeof cookie === 'string' && cookie.length <= 200 ? { token: cookie, via: 'cookie' } : null;
}

/** Resolves the caller; 401 when there is no valid token. */
export function authenticate(auth: AuthService): RequestHandler {
  return async (req, _res, next) => {
    const presented = presentedToken(req);
    const actor = presented ? await auth.authenticate(presented.token) : null;
    if (!actor || !presented) throw unauthorized();
    req.actor = actor;
    req.authVia = presented.via;
    next();
  };
}

export function actorOf(req: Request): Actor {
  if (!req.actor) throw unauthorized();
  return req.actor;
}

/** The `:tenant` path parameter of a tenant route. */
export function tenantOf(req: Request): string {
  return String((req.params as { tenant?: string }).tenant);
}

/** The one access check at the top of every tenant route (see db/access/policy.ts). */
export function tenantAccess(req: Request, need: Need): TenantAccess {
  return requireTenantAccess(actorOf(req), tenantOf(req), need);
}

/** The origin a request came from, or its own origin when the browser did not say. */
export function ownOrigin(req: Request): string {
  return `${req.protocol}://${req.get('host') ?? ''}`;
}

/**
 * CSRF defence for cookie sessions: a state-changing request that rides on the cookie must come from an
 * allowed origin (the server's own by default). Bearer-token requests carry no ambient authority.
 */
export function originGuard(allowedOrigins: string[]): RequestHandler {
  return (req, _res, next) => {
    const safe = req.method === 'GET' || req.method === 'HEAD' || req.method === 'OPTIONS';
    const origin = req.get('origin');
    // Any request that presents its own Authorization header carries no ambient (cookie) authority.
    if (safe || req.authVia === 'bearer' || req.get('authorization') || !origin) return next();
    const allowed = allowedOrigins.length > 0 ? allowedOrigins : [ownOrigin(req)];
    if (!allowed.includes(origin)) throw forbidden('This request came from an origin that is not allowed.');
    next();
  };
}
