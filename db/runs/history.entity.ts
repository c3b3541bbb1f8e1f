import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import { AUTHOR_KINDS, RUN_STATUSES, RUN_UPDATE_KINDS } from './model.ts';
import { OperationRun } from './entity.ts';

/**
 * A run's history (docs/api.md §11): one row per recorded change, keyed by the version the change produced,
 * written in the statement that makes the change and deleted with its run. Append-only.
 */
export const RunHistoryRecord = defineEntity({
  name: 'RunHistoryRecord',
  tableName: 'run_history',
  properties: {
    run: () => p.manyToOne(OperationRun).primary().deleteRule('cascade'),
    version: p.integer().primary(),
    kind: p.enum(RUN_UPDATE_KINDS),
    status: p.enum(RUN_STATUSES),
    total: p.integer(),
    processed: p.integer(),
    succeeded: p.integer(),
    failed: p.integer(),
    skipped: p.integer(),
    at: p.datetime(),
    byKind: p.enum(AUTHOR_KINDS),
    byName: p.string().length(200),
  },
});
export type IRunHistoryRecord = InferEntity<typeof RunHistoryRecord>;
