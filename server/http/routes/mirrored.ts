import { Router, type Request } from 'express';
import { z } from 'zod';
import { requireTenantAccess, type Need, type TenantAccess } from '../../../db/access/policy.ts';
import type { RunEvent } from '../../../db/runs/lifecycle.ts';
import type { Services } from '../../../db/services.ts';
import { safeString } from '../../../db/validation.ts';
import { actorOf } from '../auth.ts';
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

const tokenBody = z.strictObject({ label: safeString().trim().min(1).max(200) });

/** Mirrored runs: events reported by the owning system, and the integration tokens it reports with. */
export function mirroredRoutes(services: Services): Router {
  const router = Router({ mergeParams: true });
  const { reports, auth } = services;
  const access = (req: Request, need: Need): TenantAccess =>
    requireTenantAccess(actorOf(req), String((req.params as { tenant?: string }).tenant), need);

  router.post('/runs/:id/events', async (req, res) => {
    const { tenant } = access(req, 'report');
    const runId = uuidParam(req.params.id, 'The run');
    const { eventId: id, ...event } = parse(eventBody, req.body);
    const run = await reports.report(tenant, runId, event as RunEvent, id);
    res.json({ run });
  });

  router.post('/integration-tokens', async (req, res) => {
    const { tenant, actor } = access(req, { role: 'owner' });
    const { label } = parse(tokenBody, req.body);
    const created = await auth.createTenantToken('integration', tenant.id, label, actor.kind === 'user' ? actor.user.id : null);
    res.status(201).json(created);
  });

  router.delete('/integration-tokens/:id', async (req, res) => {
    const { tenant } = access(req, { role: 'owner' });
    await auth.revokeTenantToken('integration', tenant.id, uuidParam(req.params.id, 'The token'));
    res.status(204).end();
  });

  return router;
}
