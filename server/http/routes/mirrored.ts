import { Router } from 'express';
import { z } from 'zod';
import type { RunEvent } from '../../../db/runs/lifecycle.ts';
import type { Services } from '../../../db/services.ts';
import { safeString } from '../../../db/validation.ts';
import { tenantAccess } from '../auth.ts';
import { addTenantTokenRoutes } from './tenant-tokens.ts';
import { parse, uuidParam } from '../validate.ts';

const count = z.number().int().min(0).max(10_000_000);
const eventId = safeString().min(1).max(200).optional();
const failure = z.strictObject({
  code: safeString().min(1).max(100),
  message: safeString().max(2_000),
  item: safeString().max(200).optional(),
});

/** CONTRACT §9: `started` · `progress` (total sets the total; the others are increments) · `completed`. */
const eventBody = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('started'), eventId }),
  z.strictObject({
    kind: z.literal('progress'),
    eventId,
    total: count.optional(),
    succeeded: count.optional(),
    failed: count.optional(),
    skipped: count.optional(),
    failures: z.array(failure).max(1_000).optional(),
  }),
  z.strictObject({ kind: z.literal('completed'), eventId, abort: z.boolean().optional() }),
]);

/** Mirrored runs: events reported by the owning system, and the integration tokens it reports with. */
export function mirroredRoutes(services: Services): Router {
  const router = Router({ mergeParams: true });
  const { reports, auth } = services;

  router.post('/runs/:id/events', async (req, res) => {
    const { tenant } = tenantAccess(req, 'report');
    const runId = uuidParam(req.params.id, 'The run');
    const { eventId: id, ...event } = parse(eventBody, req.body);
    const run = await reports.report(tenant, runId, event as RunEvent, id);
    res.json({ run });
  });

  addTenantTokenRoutes(router, auth, { path: '/integration-tokens', kind: 'integration', role: 'owner' });

  return router;
}
