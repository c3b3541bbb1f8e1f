import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import { OperationRun } from '../runs/entity.ts';
import { Tenant } from '../tenants/entities.ts';

export const DRIFT_CHANGES = ['added', 'removed', 'modified'] as const;
export type DriftChange = (typeof DRIFT_CHANGES)[number];

/** One field that differs between the baseline and the current settings (values sanitized, cut to 200 chars). */
export type DriftField = { path: string; before: string | null; after: string | null };

/** A finding of a `drift.generate` run: one policy that was added, removed or modified between two snapshots. */
export const DriftFinding = defineEntity({
  name: 'DriftFinding',
  tableName: 'drift_findings',
  properties: {
    id: p.uuid().primary().defaultRaw('gen_random_uuid()'),
    run: () => p.manyToOne(OperationRun).deleteRule('cascade'),
    tenant: () => p.manyToOne(Tenant).deleteRule('cascade'),
    externalId: p.string().length(200),
    name: p.string().length(400),
    policyType: p.string().length(200),
    change: p.enum(DRIFT_CHANGES),
    fields: p.json<DriftField[]>().defaultRaw(`'[]'::jsonb`),
    /** Fields that differ beyond the ones kept in `fields` (a finding keeps at most 200). */
    fieldsOmitted: p.integer().default(0),
  },
  indexes: [
    { name: 'drift_findings_run_change_name', expression: 'create index "drift_findings_run_change_name" on "drift_findings" ("run_id", "change", "name", "id")' },
    { name: 'drift_findings_tenant', properties: ['tenant'] },
  ],
});
export type IDriftFinding = InferEntity<typeof DriftFinding>;
