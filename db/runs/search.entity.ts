import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import { Tenant } from '../tenants/entities.ts';
import { OperationRun } from './entity.ts';

/**
 * What a run's search matches as text (docs/api.md §11): its type and its scope's values, lower-cased, written
 * once with the run (a scope never changes). Kept beside the run rather than in it, so the trigram index is
 * never touched by the run's progress writes.
 */
export const RunSearchText = defineEntity({
  name: 'RunSearchText',
  tableName: 'run_search',
  properties: {
    run: () => p.manyToOne(OperationRun).primary().deleteRule('cascade'),
    tenant: () => p.manyToOne(Tenant).deleteRule('cascade'),
    text: p.text(),
  },
  indexes: [
    // The scope's part of the text (after the type): search-store.ts `SCOPE_TEXT`. Searches probe runs by their
    // key (a common text) or read this index (a rare one); the run's tenant is checked on the run.
    {
      name: 'run_search_scope_text',
      expression: `create index "run_search_scope_text" on "run_search" using gin ((substr("text", length(split_part("text", ' ', 1)) + 2)) gin_trgm_ops)`,
    },
  ],
});
export type IRunSearchText = InferEntity<typeof RunSearchText>;
