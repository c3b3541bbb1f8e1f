import { Router } from 'express';
import { forbidden } from '../../../db/errors.ts';
import type { Services } from '../../../db/services.ts';
import { tenantAccess } from '../auth.ts';
import { policySourceBody, type PolicySourceAnswer } from '../contract.ts';
import { parse } from '../validate.ts';

/** The tenant's policy source (docs/api.md §10): members read it, owners set it. The credential never comes back. */
export function policySourceRoutes(services: Services): Router {
  const router = Router({ mergeParams: true });
  const { sources } = services;

  router.get('/policy-source', async (req, res) => {
    // Members only: a wall display (kiosk token) has no business knowing where policies come from.
    const { tenant, actor } = tenantAccess(req, 'read');
    if (actor.kind !== 'user') throw forbidden('This needs a tenant member.');
    res.json({ source: await sources.view(tenant.id) } satisfies PolicySourceAnswer);
  });

  router.put('/policy-source', async (req, res) => {
    const { tenant, actor } = tenantAccess(req, { role: 'owner' });
    const body = parse(policySourceBody, req.body);
    const source = await sources.set(tenant.id, actor.kind === 'user' ? actor.user.id : null, body);
    res.json({ source } satisfies PolicySourceAnswer);
  });

  return router;
}
