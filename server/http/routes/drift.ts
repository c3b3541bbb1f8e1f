import { Router } from 'express';
import type { Services } from '../../../db/services.ts';
import { tenantAccess } from '../auth.ts';
import { driftFindingsQuery, type DriftFindingsPage, type DriftStatus } from '../contract.ts';
import { parse, uuidParam } from '../validate.ts';

/** Drift (docs/api.md §10): findings of a generation and whether one can start, read by members and kiosks. */
export function driftRoutes(services: Services): Router {
  const router = Router({ mergeParams: true });
  const { drift } = services;

  router.get('/drift/findings', async (req, res) => {
    const { tenant } = tenantAccess(req, 'read');
    const { run, change, limit, cursor } = parse(driftFindingsQuery, req.query, 'query');
    res.json(
      (await drift.findings(tenant.id, {
        limit,
        ...(run !== undefined ? { run: uuidParam(run, 'The drift generation') } : {}),
        ...(change !== undefined ? { change } : {}),
        ...(cursor !== undefined ? { cursor } : {}),
      })) satisfies DriftFindingsPage,
    );
  });

  router.get('/drift/status', async (req, res) => {
    const { tenant } = tenantAccess(req, 'read');
    res.json((await drift.status(tenant.id)) satisfies DriftStatus);
  });

  return router;
}
