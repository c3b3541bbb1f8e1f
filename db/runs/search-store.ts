import type { QueryCreator, Selectable } from 'kysely';
import { sql, type SqlBool } from 'kysely';
import { queries, type Database } from '../database.ts';
import type { Orm } from '../orm.ts';

type WithRun = QueryCreator<Database & { r: Selectable<Database['operation_runs']> }>;

/** Stored search text is cut to this: a scope's first values are what people search for. */
const MAX_SEARCH_TEXT = 2_000;

/** A LIKE pattern that matches `text` literally anywhere (`%`, `_` and `\` lose their meaning). */
export const containsPattern = (text: string): string => `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

/**
 * What a run's search matches as text: its type and every string, number and boolean in its scope (at any
 * depth), lower-cased. Keys are not values: `{ "policyId": "abc" }` is found by "abc", not by "policyid".
 */
export function searchTextOf(type: string, scope: unknown): string {
  const values: string[] = [type];
  const visit = (value: unknown, depth: number): void => {
    if (depth > 20) return;
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') values.push(String(value));
    else if (Array.isArray(value)) for (const item of value) visit(item, depth + 1);
    else if (value && typeof value === 'object') for (const item of Object.values(value)) visit(item, depth + 1);
  };
  visit(scope, 0);
  return values.join(' ').toLowerCase().slice(0, MAX_SEARCH_TEXT);
}

/** The one owner of `run_search` SQL: one row per run, written with the run (a scope never changes). */
export class RunSearchStore {
  constructor(private readonly orm: Orm) {}

  /** The new run's search row, as a CTE of the start statement (nothing when the run was not inserted). */
  insertFromRun(q: WithRun, text: string) {
    return q
      .insertInto('run_search')
      .columns(['run_id', 'tenant_id', 'text'])
      .expression((eb) => eb.selectFrom('r').select((s) => [s.ref('r.id').as('run_id'), 'r.tenant_id', s.val(text).as('text')]));
  }

  /** Ids of the tenant's runs whose text contains `needle` (lower-case, literal), as a subquery: GIN trigram scan. */
  runsContaining(tenantId: string, needle: string) {
    return queries(this.orm)
      .selectFrom('run_search as s')
      .select('s.run_id')
      .where('s.tenant_id', '=', tenantId)
      .where(sql<SqlBool>`s.text like ${containsPattern(needle)} escape '\\'`);
  }
}
