import { Router, type Request } from 'express';
import { notFound } from '../../../db/errors.ts';
import type { Services } from '../../../db/services.ts';
import { actorOf, tenantAccess } from '../auth.ts';
import { pageQuery, restoreActionBody, restoreBody, type RestoreAnswer, type RestoresPage } from '../contract.ts';
import { parse, uuidParam } from '../validate.ts';

/**
 * Restores (docs/api.md §10): draft → preview → execute, or discard. Changing one needs the manager role;
 * reading needs membership (or the tenant's kiosk token). Out-of-order transitions answer 409.
 */
export function restoreRoutes(services: Services): Router {
  const router = Router({ mergeParams: true });
  const { restores } = services;

  /** The access check, then the (empty) body, then the restore's id — in the order of docs/api.md §3. */
  const action = (req: Request) => {
    const { tenant } = tenantAccess(req, { role: 'manager' });
    parse(restoreActionBody, req.body);
    return { tenant, id: uuidParam(req.params.id as string | undefined, 'The restore') };
  };

  router.post('/restores', async (req, res) => {
    const { tenant, actor } = tenantAccess(req, { role: 'manager' });
    const body = parse(restoreBody, req.body);
    const restore = await restores.create(tenant, actor.kind === 'user' ? actor.user.id : null, {
      backupSetId: body.backupSetId,
      ...(body.policyIds ? { policyIds: body.policyIds } : {}),
    });
    res.status(201).json({ restore } satisfies RestoreAnswer);
  });

  router.get('/restores', async (req, res) => {
    const { tenant } = tenantAccess(req, 'read');
    const { limit, cursor } = parse(pageQuery, req.query, 'query');
    res.json((await restores.list(tenant.id, { limit, ...(cursor ? { cursor } : {}) })) satisfies RestoresPage);
  });

  router.get('/restores/:id', async (req, res) => {
    const { tenant } = tenantAccess(req, 'read');
    const restore = await restores.get(tenant.id, uuidParam(req.params.id, 'The restore'));
    if (!restore) throw notFound('The restore');
    res.json({ restore } satisfies RestoreAnswer);
  });

  router.post('/restores/:id/preview', async (req, res) => {
    const { tenant, id } = action(req);
    res.json({ restore: await restores.preview(actorOf(req), tenant, id) } satisfies RestoreAnswer);
  });

  router.post('/restores/:id/execute', async (req, res) => {
    const { tenant, id } = action(req);
    res.json({ restore: await restores.startExecution(actorOf(req), tenant, id) } satisfies RestoreAnswer);
  });

  router.post('/restores/:id/discard', async (req, res) => {
    const { tenant, id } = action(req);
    res.json({ restore: await restores.discard(actorOf(req), tenant, id) } satisfies RestoreAnswer);
  });

  return router;
}
