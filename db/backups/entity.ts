import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import { OperationRun } from '../runs/entity.ts';
import { Tenant, User } from '../tenants/entities.ts';

/** A named set of captured policy settings, to restore from later. */
export const BackupSet = defineEntity({
  name: 'BackupSet',
  tableName: 'backup_sets',
  properties: {
    id: p.uuid().primary().defaultRaw('gen_random_uuid()'),
    tenant: () => p.manyToOne(Tenant).deleteRule('cascade'),
    name: p.string().length(200),
    createdAt: p.datetime().defaultRaw('now()'),
    createdBy: () => p.manyToOne(User).nullable().deleteRule('set null'),
  },
  indexes: [{ name: 'backup_sets_tenant_created', expression: 'create index "backup_sets_tenant_created" on "backup_sets" ("tenant_id", "created_at" desc, "id" desc)' }],
});
export type IBackupSet = InferEntity<typeof BackupSet>;

/** A policy's settings as captured into a backup set; capturing it again replaces them (if they changed). */
export const BackupItem = defineEntity({
  name: 'BackupItem',
  tableName: 'backup_items',
  properties: {
    backupSet: () => p.manyToOne(BackupSet).primary().deleteRule('cascade'),
    externalId: p.string().length(200).primary(),
    name: p.string().length(400),
    policyType: p.string().length(200),
    settings: p.json<Record<string, unknown>>(),
    settingsHash: p.string().length(64),
    capturedAt: p.datetime().defaultRaw('now()'),
    // The run that captured it; kept when that run is purged.
    run: () => p.manyToOne(OperationRun).nullable().deleteRule('set null').index(),
  },
});
export type IBackupItem = InferEntity<typeof BackupItem>;
