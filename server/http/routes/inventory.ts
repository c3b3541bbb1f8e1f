import { Router } from 'express';
import type { Services } from '../../../db/services.ts';
import { tenantAccess } from '../auth.ts';
import { inventoryQuery, type InventoryPage } from '../contract.ts';
import { parse } from '../validate.ts';

/** The inventory (docs/api.md §10): read from the database only, by members and the tenant's kiosks. */
export function inventoryRoutes(services: Services): Router {
  const router = Router({ mergeParams: true });
  const { inventory } = services;

  router.get('/inventory', async (req, res) => {
    const { tenant } = tenantAccess(req, 'read');
    const { q, policyType, limit, cursor } = parse(inventoryQuery, req.query, 'query');
    res.json(
      (await inventory.list(tenant.id, {
        limit,
        ...(q !== undefined ? { q } : {}),
        ...(policyType !== undefined ? { policyType } : {}),
        ...(cursor !== undefined ? { cursor } : {}),
      })) satisfies InventoryPage,
    );
  });

  return router;
}
