import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import { OperationRun } from './entity.ts';

/** Event ids already applied to a run by a mirroring system: a retried event is a no-op. */
export const RunEventRecord = defineEntity({
  name: 'RunEventRecord',
  tableName: 'run_events',
  properties: {
    run: () => p.manyToOne(OperationRun).primary().deleteRule('cascade'),
    eventId: p.string().length(200).primary(),
    createdAt: p.datetime().defaultRaw('now()'),
  },
});
export type IRunEventRecord = InferEntity<typeof RunEventRecord>;
