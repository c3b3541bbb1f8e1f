import { Router } from 'express';
import type { Actor, TenantRef } from '../../../db/access/actor.ts';
import { forbidden } from '../../../db/errors.ts';
import type { Services } from '../../../db/services.ts';
import { actorOf } from '../auth.ts';
import { overviewQuery, type OverviewAnswer } from '../contract.ts';
import { parse } from '../validate.ts';

/**
 * The tenants an overview may show (docs/api.md §12), deny by default: every tenant a signed-in user is a member
 * of (any role reads), the tenants a kiosk token is bound to; an integration token reads nothing.
 */
function overviewTenants(actor: Actor): TenantRef[] {
  if (actor.kind === 'user') return actor.memberships.map((m) => m.tenant);
  if (actor.kind === 'kiosk') return actor.tenants;
  throw forbidden('This needs a signed-in user or a kiosk token.');
}

/** `GET /api/overview`: many tenants on one screen, each figure read for all of them at once. */
export function overviewRoutes(services: Services): Router {
  const router = Router();
  const { runs } = services;

  router.get('/', async (req, res) => {
    const mine = overviewTenants(actorOf(req));
    const { window, tenants: named } = parse(overviewQuery, req.query, 'query');
    // `?tenants=` narrows to those of the caller's tenants; a slug the caller cannot read is ignored, not refused.
    const shown = named.length > 0 ? mine.filter((t) => named.includes(t.slug)) : mine;
    const readAt = new Date().toISOString();
    res.json({ window, readAt, tenants: await runs.overview(shown, window) } satisfies OverviewAnswer);
  });

  return router;
}
