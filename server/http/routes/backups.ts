import { Router } from 'express';
import { notFound } from '../../../db/errors.ts';
import type { Services } from '../../../db/services.ts';
import { tenantAccess } from '../auth.ts';
import { backupSetBody, pageQuery, type BackupSetAnswer, type BackupSetsPage } from '../contract.ts';
import { parse, uuidParam } from '../validate.ts';

/** Backup sets (docs/api.md §10). Policies are added by `backup_set.add_policies` runs (`POST …/runs`). */
export function backupRoutes(services: Services): Router {
  const router = Router({ mergeParams: true });
  const { backups } = services;

  router.post('/backup-sets', async (req, res) => {
    const { tenant, actor } = tenantAccess(req, { role: 'operator' });
    const { name } = parse(backupSetBody, req.body);
    const backupSet = await backups.create(tenant, name, actor.kind === 'user' ? actor.user.id : null);
    res.status(201).json({ backupSet: { ...backupSet, items: [] } } satisfies BackupSetAnswer);
  });

  router.get('/backup-sets', async (req, res) => {
    const { tenant } = tenantAccess(req, 'read');
    const { limit, cursor } = parse(pageQuery, req.query, 'query');
    res.json((await backups.list(tenant.id, { limit, ...(cursor ? { cursor } : {}) })) satisfies BackupSetsPage);
  });

  router.get('/backup-sets/:id', async (req, res) => {
    const { tenant } = tenantAccess(req, 'read');
    const backupSet = await backups.get(tenant.id, uuidParam(req.params.id, 'The backup set'));
    if (!backupSet) throw notFound('The backup set');
    res.json({ backupSet } satisfies BackupSetAnswer);
  });

  return router;
}
