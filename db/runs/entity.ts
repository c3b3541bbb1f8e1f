import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import { Tenant, User } from '../tenants/entities.ts';
import { RUN_OUTCOMES, RUN_STATUSES, type RunFailure } from './model.ts';

/**
 * The canonical operation run. Its SQL lives in store.ts (insert-or-reuse and guarded transitions are single
 * statements there); this definition owns the schema and the indexes they rely on.
 */
export const OperationRun = defineEntity({
  name: 'OperationRun',
  tableName: 'operation_runs',
  properties: {
    id: p.uuid().primary().defaultRaw('gen_random_uuid()'),
    tenant: () => p.manyToOne(Tenant).deleteRule('cascade'),
    type: p.string().length(100),
    status: p.enum(RUN_STATUSES),
    outcome: p.enum(RUN_OUTCOMES),
    identityHash: p.string().length(64),
    scope: p.json<Record<string, unknown>>(),
    total: p.integer().default(0),
    processed: p.integer().default(0),
    succeeded: p.integer().default(0),
    failed: p.integer().default(0),
    skipped: p.integer().default(0),
    failures: p.json<RunFailure[]>().defaultRaw(`'[]'::jsonb`),
    failureCount: p.integer().default(0),
    initiator: () => p.manyToOne(User).nullable().deleteRule('set null').index(),
    createdAt: p.datetime().defaultRaw('now()'),
    startedAt: p.datetime().nullable(),
    completedAt: p.datetime().nullable(),
    updatedAt: p.datetime().defaultRaw('now()'),
    heartbeatAt: p.datetime().nullable(),
    /** When the run's history last recorded a change: progress is recorded at most every few seconds. */
    historyAt: p.datetime().nullable(),
    version: p.integer().default(1),
  },
  uniques: [
    {
      // De-duplication: at most one active run per identity, enforced by the database.
      name: 'operation_runs_active_identity',
      properties: ['tenant', 'identityHash'],
      where: `status in ('queued', 'running')`,
    },
  ],
  checks: [
    {
      name: 'operation_runs_counts_check',
      expression: `"total" >= 0 and "processed" >= 0 and "succeeded" >= 0 and "failed" >= 0 and "skipped" >= 0 and "failure_count" >= 0 and "version" >= 1`,
    },
  ],
  indexes: [
    // Carries type/status/outcome so window stats are an index-only scan.
    { name: 'operation_runs_tenant_created', expression: 'create index "operation_runs_tenant_created" on "operation_runs" ("tenant_id", "created_at" desc, "id" desc) include ("type", "status", "outcome")' },
    { name: 'operation_runs_tenant_initiator_created', expression: 'create index "operation_runs_tenant_initiator_created" on "operation_runs" ("tenant_id", "initiator_id", "created_at" desc, "id" desc) where "initiator_id" is not null' },
    { name: 'operation_runs_tenant_type_created', expression: 'create index "operation_runs_tenant_type_created" on "operation_runs" ("tenant_id", "type", "created_at" desc, "id" desc)' },
    { name: 'operation_runs_running_heartbeat', expression: `create index "operation_runs_running_heartbeat" on "operation_runs" ("heartbeat_at") where status = 'running'` },
    { name: 'operation_runs_created', properties: ['createdAt'] },
    // Baselines (durations and failure rate per type) are an index-only scan of the tenant's completed runs.
    { name: 'operation_runs_tenant_completed', expression: `create index "operation_runs_tenant_completed" on "operation_runs" ("tenant_id", "completed_at") include ("type", "outcome", "started_at") where status = 'completed'` },
  ],
});
export type IOperationRun = InferEntity<typeof OperationRun>;
