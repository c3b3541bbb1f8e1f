import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import { Tenant } from '../tenants/entities.ts';
import { OperationRun } from './entity.ts';

/**
 * Failures of a run per reason code (docs/api.md §11): how many, when first and last seen, the latest sanitized
 * message. Upserted in the statement that records the failures; deleted with the run. Backs `failureCode`
 * filters and the failure-reasons summary without expanding any run's failures list.
 */
export const RunFailureReason = defineEntity({
  name: 'RunFailureReason',
  tableName: 'run_failure_reasons',
  properties: {
    run: () => p.manyToOne(OperationRun).primary().deleteRule('cascade'),
    code: p.string().length(64).primary(),
    tenant: () => p.manyToOne(Tenant).deleteRule('cascade'),
    type: p.string().length(100),
    runCreatedAt: p.datetime(),
    failures: p.integer(),
    message: p.string().length(300),
    firstSeenAt: p.datetime(),
    lastSeenAt: p.datetime(),
  },
  indexes: [
    // The runs with a rare code (store.ts `listQuery` probes the primary key for a common one).
    { name: 'run_failure_reasons_code_run', expression: 'create index "run_failure_reasons_code_run" on "run_failure_reasons" ("code", "run_id")' },
    { name: 'run_failure_reasons_tenant_created', expression: 'create index "run_failure_reasons_tenant_created" on "run_failure_reasons" ("tenant_id", "run_created_at" desc)' },
  ],
});
export type IRunFailureReason = InferEntity<typeof RunFailureReason>;
