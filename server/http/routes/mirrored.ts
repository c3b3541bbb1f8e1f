import { Router } from 'express';
import { authorOf } from '../../../db/access/actor.ts';
import type { RunEvent } from '../../../db/runs/lifecycle.ts';
import type { Services } from '../../../db/services.ts';
import { tenantAccess } from '../auth.ts';
import { runEventBody, type RunAnswer } from '../contract.ts';
import { addTenantTokenRoutes } from './tenant-tokens.ts';
import { parse, uuidParam } from '../validate.ts';

/** Mirrored runs: events reported by the owning system, and the integration tokens it reports with. */
export function mirroredRoutes(services: Services): Router {
  const router = Router({ mergeParams: true });
  const { mirrored, auth } = services;

  router.post('/runs/:id/events', async (req, res) => {
    const { tenant, actor } = tenantAccess(req, 'report');
    const runId = uuidParam(req.params.id, 'The run');
    const { eventId: id, ...event } = parse(runEventBody, req.body);
    const run = await mirrored.report(tenant, runId, event as RunEvent, authorOf(actor), id);
    res.json({ run } satisfies RunAnswer);
  });

  addTenantTokenRoutes(router, auth, { path: '/integration-tokens', kind: 'integration', role: 'owner' });

  return router;
}
