import { Router } from 'express';
import { forbidden, notFound, validationFailed } from '../../../db/errors.ts';
import { DispatchFailedError } from '../../../db/runs/start.ts';
import type { Services } from '../../../db/services.ts';
import type { Metrics } from '../../metrics.ts';
import { actorOf, tenantAccess, tenantOf } from '../auth.ts';
import {
  failureReasonsQuery,
  runsQuery,
  startBody,
  statsQuery,
  type BaselinesAnswer,
  type FailureReasonsAnswer,
  type OperationTypesAnswer,
  type RunAnswer,
  type RunHistoryAnswer,
  type RunsPage,
  type Stats,
  type StartAnswer,
} from '../contract.ts';
import { parse, uuidParam } from '../validate.ts';
import { backupRoutes } from './backups.ts';
import { driftRoutes } from './drift.ts';
import { inventoryRoutes } from './inventory.ts';
import { mirroredRoutes } from './mirrored.ts';
import { policySourceRoutes } from './policy-source.ts';
import { restoreRoutes } from './restores.ts';
import { addTenantTokenRoutes } from './tenant-tokens.ts';
import { webhookRoutes } from './webhooks.ts';

const DEFAULT_WINDOW_DAYS = 30;

/** Everything under /api/tenants/:tenant — each handler starts with the one access check. */
export function tenantRoutes(services: Services, metrics: Metrics): Router {
  const router = Router({ mergeParams: true });
  const { catalog, runs, starter, auth } = services;

  router.get('/operation-types', async (req, res) => {
    const { actor, role, tenant } = tenantAccess(req, 'read');
    if (actor.kind !== 'user' || !role) throw forbidden('This needs a tenant member.');
    const baseline = await runs.baselinesOf(tenant.id);
    res.json({ types: catalog.all().map((d) => catalog.view(d, role, tenant.slug, baseline(d.type))) } satisfies OperationTypesAnswer);
  });

  // docs/api.md §11: what the board, detail and wall judge "slower than usual" by; kiosk walls read it too.
  router.get('/baselines', async (req, res) => {
    const { tenant } = tenantAccess(req, 'read');
    const baseline = await runs.baselinesOf(tenant.id);
    res.json({ types: catalog.all().map((d) => ({ type: d.type, label: d.label, ...baseline(d.type) })) } satisfies BaselinesAnswer);
  });

  router.get('/failure-reasons', async (req, res) => {
    const { tenant } = tenantAccess(req, 'read');
    const { window, limit } = parse(failureReasonsQuery, req.query, 'query');
    res.json({ window, reasons: await runs.failureReasons(tenant.id, window, limit) } satisfies FailureReasonsAnswer);
  });

  router.post('/runs', async (req, res) => {
    // Readonly members and kiosks start nothing (docs/api.md §2): refused before any input is read.
    tenantAccess(req, 'start');
    const body = parse(startBody, req.body);
    try {
      const answer = await starter.start(actorOf(req), tenantOf(req), {
        type: body.type,
        scope: body.scope,
        ...(body.initiator ? { initiator: body.initiator } : {}),
      });
      metrics.runStarts.inc({ result: answer.reused ? 'reused' : 'created' });
      res.status(answer.reused ? 200 : 202).json(answer satisfies StartAnswer);
    } catch (error) {
      if (error instanceof DispatchFailedError) metrics.runStarts.inc({ result: 'dispatch_failed' });
      throw error;
    }
  });

  router.get('/runs', async (req, res) => {
    const { tenant, actor } = tenantAccess(req, 'read');
    const query = parse(runsQuery, req.query, 'query');
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
        ...(query.q !== undefined ? { q: query.q } : {}),
        ...(query.failureCode.length > 0 ? { failureCodes: query.failureCode } : {}),
        ...(query.initiator
          ? { initiatorId: query.initiator === 'me' && actor.kind === 'user' ? actor.user.id : query.initiator }
          : {}),
      }) satisfies RunsPage,
    );
  });

  router.get('/runs/:id', async (req, res) => {
    const { tenant } = tenantAccess(req, 'read');
    const run = await runs.get(tenant.id, uuidParam(req.params.id, 'The run'));
    if (!run) throw notFound('The run');
    res.json({ run } satisfies RunAnswer);
  });

  router.get('/runs/:id/history', async (req, res) => {
    const { tenant } = tenantAccess(req, 'read');
    const history = await runs.historyOf(tenant.id, uuidParam(req.params.id, 'The run'));
    if (!history) throw notFound('The run');
    res.json({ history } satisfies RunHistoryAnswer);
  });

  router.get('/stats', async (req, res) => {
    const { tenant } = tenantAccess(req, 'read');
    const { window } = parse(statsQuery, req.query, 'query');
    res.json((await runs.stats(tenant.id, window)) satisfies Stats);
  });

  addTenantTokenRoutes(router, auth, { path: '/kiosk-tokens', kind: 'kiosk', role: 'manager' });
  router.use(mirroredRoutes(services));
  router.use(policySourceRoutes(services));
  router.use(inventoryRoutes(services));
  router.use(driftRoutes(services));
  router.use(backupRoutes(services));
  router.use(restoreRoutes(services));
  router.use(webhookRoutes(services));

  return router;
}
