import { Router } from 'express';
import { z } from 'zod';
import { forbidden, notFound, validationFailed } from '../../../db/errors.ts';
import { RUN_BUCKETS } from '../../../db/runs/model.ts';
import { STATS_WINDOWS, type StatsWindow } from '../../../db/runs/queries.ts';
import { DispatchFailedError } from '../../../db/runs/start.ts';
import type { Services } from '../../../db/services.ts';
import type { Metrics } from '../../metrics.ts';
import { actorOf, tenantAccess, tenantOf } from '../auth.ts';
import { mirroredRoutes } from './mirrored.ts';
import { addTenantTokenRoutes } from './tenant-tokens.ts';
import { isoDate, safeString } from '../../../db/validation.ts';
import { parse, uuidParam } from '../validate.ts';

const DEFAULT_WINDOW_DAYS = 30;
const TYPE = z.string().regex(/^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$/, 'must look like resource.action').max(100);
const oneOrMany = <T extends z.ZodType>(item: T) =>
  z.union([item, z.array(item).max(20)]).optional().transform((v) => (v === undefined ? [] : Array.isArray(v) ? v : [v]));

const listQuery = z.strictObject({
  type: oneOrMany(TYPE),
  resource: z.string().regex(/^[a-z][a-z0-9_]*$/, 'must be a resource name such as drift').max(60).optional(),
  bucket: oneOrMany(z.enum(RUN_BUCKETS)),
  initiator: z.union([z.literal('me'), z.uuid()]).optional(),
  from: isoDate().optional(),
  to: isoDate().optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
  cursor: z.string().max(200).optional(),
});

const startBody = z.strictObject({
  type: z.string().min(1).max(100),
  // Validated by the operation type's own strict schema (a record here would silently drop `__proto__`).
  scope: z.unknown().optional(),
  // Integration tokens only (CONTRACT §9): the member on whose behalf an external run is started.
  initiator: z.strictObject({ email: safeString().min(3).max(254) }).optional(),
});

const statsQuery = z.strictObject({
  window: z.enum(Object.keys(STATS_WINDOWS) as [StatsWindow, ...StatsWindow[]]).default('24h'),
});

/** Everything under /api/tenants/:tenant — each handler starts with the one access check. */
export function tenantRoutes(services: Services, metrics: Metrics): Router {
  const router = Router({ mergeParams: true });
  const { catalog, runs, starter, auth } = services;

  router.get('/operation-types', (req, res) => {
    const { actor, role } = tenantAccess(req, 'read');
    if (actor.kind !== 'user' || !role) throw forbidden('This needs a tenant member.');
    res.json({
      types: catalog.all().map((d) => ({
        type: d.type,
        label: d.label,
        description: d.description,
        minRole: d.minRole,
        external: d.external === true,
        canStart: catalog.canStart(d.type, role),
      })),
    });
  });

  router.post('/runs', async (req, res) => {
    // Readonly members and kiosks start nothing (CONTRACT §2): refused before any input is read.
    tenantAccess(req, 'start');
    const body = parse(startBody, req.body);
    try {
      const answer = await starter.start(actorOf(req), tenantOf(req), {
        type: body.type,
        scope: body.scope,
        ...(body.initiator ? { initiator: body.initiator } : {}),
      });
      metrics.runStarts.inc({ result: answer.reused ? 'reused' : 'created' });
      res.status(answer.reused ? 200 : 202).json(answer);
    } catch (error) {
      if (error instanceof DispatchFailedError) metrics.runStarts.inc({ result: 'dispatch_failed' });
      throw error;
    }
  });

  router.get('/runs', async (req, res) => {
    const { tenant, actor } = tenantAccess(req, 'read');
    const query = parse(listQuery, req.query, 'query');
    if (query.initiator === 'me' && actor.kind !== 'user') {
      throw validationFailed([{ path: 'query.initiator', message: '"me" needs a signed-in user.' }]);
    }
    const from = query.from ?? new Date(Date.now() - DEFAULT_WINDOW_DAYS * 86_400_000);
    res.json(
      await runs.list(tenant.id, {
        types: query.type,
        buckets: query.bucket,
        from,
        limit: query.limit,
        ...(query.resource ? { resource: query.resource } : {}),
        ...(query.to ? { to: query.to } : {}),
        ...(query.cursor ? { cursor: query.cursor } : {}),
        ...(query.initiator
          ? { initiatorId: query.initiator === 'me' && actor.kind === 'user' ? actor.user.id : query.initiator }
          : {}),
      }),
    );
  });

  router.get('/runs/:id', async (req, res) => {
    const { tenant } = tenantAccess(req, 'read');
    const run = await runs.get(tenant.id, uuidParam(req.params.id, 'The run'));
    if (!run) throw notFound('The run');
    res.json({ run });
  });

  router.get('/stats', async (req, res) => {
    const { tenant } = tenantAccess(req, 'read');
    const { window } = parse(statsQuery, req.query, 'query');
    res.json(await runs.stats(tenant.id, window));
  });

  addTenantTokenRoutes(router, auth, { path: '/kiosk-tokens', kind: 'kiosk', role: 'manager' });
  router.use(mirroredRoutes(services));

  return router;
}
