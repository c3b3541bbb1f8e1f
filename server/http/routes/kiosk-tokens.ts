import { Router } from 'express';
import { requireTenantAccess, requireUser, tenantsWhere } from '../../../db/access/policy.ts';
import { forbidden } from '../../../db/errors.ts';
import type { Services } from '../../../db/services.ts';
import { actorOf } from '../auth.ts';
import { multiKioskBody, type KioskTokensAnswer, type TokenCreated } from '../contract.ts';
import { parse, uuidParam } from '../validate.ts';

/** Who may create, list and revoke kiosk tokens in a tenant (as on the tenant's own kiosk-token routes). */
const MANAGE = { role: 'manager' } as const;

/**
 * Kiosk tokens bound to several tenants (docs/api.md §12), for signed-in users: created by an owner or manager of
 * every tenant listed, listed and revoked by an owner or manager of any of a token's tenants. One tenant's own
 * routes (`/api/tenants/:tenant/kiosk-tokens`) make and revoke the same tokens, bound to that tenant.
 */
export function kioskTokenRoutes(services: Services): Router {
  const router = Router();
  const { auth } = services;

  router.post('/', async (req, res) => {
    const user = requireUser(actorOf(req));
    // A user who manages no tenant at all is refused before the body is read.
    if (tenantsWhere(user, MANAGE).length === 0) throw forbidden('This needs the manager role or higher in every tenant listed.');
    const { label, tenants } = parse(multiKioskBody, req.body);
    // The one access check, per tenant: a tenant the caller is no member of (or that does not exist) is a 403.
    const bound = tenants.map((slug) => requireTenantAccess(user, slug, MANAGE).tenant);
    const created = await auth.createKioskToken(bound.map((t) => t.id), label, user.user.id);
    res.status(201).json(created satisfies TokenCreated);
  });

  router.get('/', async (req, res) => {
    const user = requireUser(actorOf(req));
    const visible = new Set(tenantsWhere(user, 'read').map((t) => t.slug));
    res.json({ tokens: await auth.kioskTokens(tenantsWhere(user, MANAGE), visible) } satisfies KioskTokensAnswer);
  });

  router.delete('/:id', async (req, res) => {
    const user = requireUser(actorOf(req));
    // Any one of the token's tenants will do; a token bound to none of the caller's managed tenants is not found.
    const managed = tenantsWhere(user, MANAGE).map((t) => t.id);
    await auth.revokeKioskToken(managed, uuidParam(req.params.id, 'The token'));
    res.status(204).end();
  });

  return router;
}
