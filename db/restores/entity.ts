import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import { BackupSet } from '../backups/entity.ts';
import type { DriftField } from '../drift/entity.ts';
import { OperationRun } from '../runs/entity.ts';
import { Tenant, User } from '../tenants/entities.ts';

export const RESTORE_STATUSES = ['draft', 'previewed', 'executing', 'completed', 'completed_with_errors', 'failed', 'discarded'] as const;
export type RestoreStatus = (typeof RESTORE_STATUSES)[number];

export const RESTORE_ACTIONS = ['create', 'update', 'unchanged'] as const;
export type RestoreAction = (typeof RESTORE_ACTIONS)[number];

export const RESTORE_ITEM_RESULTS = ['applied', 'failed', 'skipped'] as const;
export type RestoreItemResult = (typeof RESTORE_ITEM_RESULTS)[number];

/**
 * A restore workflow: its own record (draft → previewed → executing → completed | completed_with_errors |
 * failed, or discarded), mirrored from `previewed` onward by its `restore.execute` run.
 */
export const Restore = defineEntity({
  name: 'Restore',
  tableName: 'restores',
  properties: {
    id: p.uuid().primary().defaultRaw('gen_random_uuid()'),
    tenant: () => p.manyToOne(Tenant).deleteRule('cascade'),
    backupSet: () => p.manyToOne(BackupSet).deleteRule('cascade').index(),
    /** The policies to restore; null: every policy of the backup set. */
    policyIds: p.json<string[]>().nullable(),
    status: p.enum(RESTORE_STATUSES),
    run: () => p.manyToOne(OperationRun).nullable().deleteRule('set null').index(),
    createdBy: () => p.manyToOne(User).nullable().deleteRule('set null'),
    createdAt: p.datetime().defaultRaw('now()'),
    updatedAt: p.datetime().defaultRaw('now()'),
  },
  indexes: [{ name: 'restores_tenant_created', expression: 'create index "restores_tenant_created" on "restores" ("tenant_id", "created_at" desc, "id" desc)' }],
});
export type IRestore = InferEntity<typeof Restore>;

/** One policy of a restore: what the preview found it would do, and (once executed) what happened. */
export const RestoreItem = defineEntity({
  name: 'RestoreItem',
  tableName: 'restore_items',
  properties: {
    restore: () => p.manyToOne(Restore).primary().deleteRule('cascade'),
    externalId: p.string().length(200).primary(),
    name: p.string().length(400),
    policyType: p.string().length(200),
    action: p.enum(RESTORE_ACTIONS),
    fields: p.json<DriftField[]>().defaultRaw(`'[]'::jsonb`),
    result: p.enum(RESTORE_ITEM_RESULTS).nullable(),
    errorCode: p.string().length(100).nullable(),
    appliedAt: p.datetime().nullable(),
  },
});
export type IRestoreItem = InferEntity<typeof RestoreItem>;
