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
    // btree_gin puts the tenant in the same GIN index as the trigrams: a search reads one tenant's matches only.
    { name: 'run_search_tenant_text', expression: 'create index "run_search_tenant_text" on "run_search" using gin ("tenant_id", "text" gin_trgm_ops)' },
  ],
});
export type IRunSearchText = InferEntity<typeof RunSearchText>;
