import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import { OperationRun } from '../runs/entity.ts';
import { Tenant } from '../tenants/entities.ts';

/**
 * One policy of an inventory snapshot. A snapshot belongs to the `inventory.sync` run that read it, so it
 * is purged with that run; the inventory a page shows is the snapshot of the latest successful sync.
 */
export const InventoryItem = defineEntity({
  name: 'InventoryItem',
  tableName: 'inventory_items',
  properties: {
    run: () => p.manyToOne(OperationRun).primary().deleteRule('cascade'),
    externalId: p.string().length(200).primary(),
    tenant: () => p.manyToOne(Tenant).deleteRule('cascade'),
    name: p.string().length(400),
    policyType: p.string().length(200),
    lastModified: p.datetime().nullable(),
    settings: p.json<Record<string, unknown>>(),
    settingsHash: p.string().length(64),
  },
  indexes: [
    { name: 'inventory_items_run_name', expression: 'create index "inventory_items_run_name" on "inventory_items" ("run_id", "name", "external_id")' },
    { name: 'inventory_items_tenant', properties: ['tenant'] },
  ],
});
export type IInventoryItem = InferEntity<typeof InventoryItem>;
