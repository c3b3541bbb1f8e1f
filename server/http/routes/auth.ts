import { Router } from 'express';
import { rateLimited, unauthorized } from '../../../db/errors.ts';
import type { Services } from '../../../db/services.ts';
import { authenticate, actorOf, SESSION_COOKIE } from '../auth.ts';
import { loginBody, type LoginAnswer, type Me } from '../contract.ts';
import type { LoginLimiter } from '../login-limiter.ts';
import { parse } from '../validate.ts';
import { requireUser } from '../../../db/access/policy.ts';


export function authRoutes(services: Services, limiter: LoginLimiter): Router {
  const router = Router();
  const { auth, config } = services;

  router.post('/login', async (req, res) => {
    const { email, password } = parse(loginBody, req.body);
    const ip = req.ip ?? 'unknown';
    if (await limiter.isBlocked(email, ip)) throw rateLimited('Too many failed sign-in attempts. Try again later.');
    const result = await auth.login(email, password);
    if (!result) {
      await limiter.recordFailure(email, ip);
      throw unauthorized('Email or password is incorrect.');
    }
    await limiter.reset(email, ip);
    res.cookie(SESSION_COOKIE, result.token, {
      httpOnly: true,
      sameSite: 'lax',
      secure: config.cookieSecure ?? req.secure,
      path: '/',
      expires: result.expiresAt,
    });
    res.status(200).json({ token: result.token, user: result.user, memberships: result.memberships } satisfies LoginAnswer);
  });

  router.post('/logout', authenticate(auth), async (req, res) => {
    const actor = requireUser(actorOf(req));
    await auth.revoke(actor.tokenId);
    res.clearCookie(SESSION_COOKIE, { path: '/' });
    res.status(204).end();
  });

  return router;
}

export function meRoutes(services: Services): Router {
  const router = Router();
  router.get('/', async (req, res) => {
    const actor = requireUser(actorOf(req));
    res.json({ user: actor.user, memberships: await services.auth.memberships(actor.user.id) } satisfies Me);
  });
  return router;
}
