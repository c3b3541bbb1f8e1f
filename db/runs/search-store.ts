import type { QueryCreator, Selectable } from 'kysely';
import { sql, type SqlBool } from 'kysely';
import { queries, type Database } from '../database.ts';
import type { Orm } from '../orm.ts';

type WithRun = QueryCreator<Database & { r: Selectable<Database['operation_runs']> }>;

/** Stored search text is cut to this: a scope's first values are what people search for. */
const MAX_SEARCH_TEXT = 2_000;

/**
 * The scope's part of a search text, after the type and its space: what the trigram index holds and the text
 * search matches. The type is found through the catalog (its type and label, queries.ts `search`); left in, its
 * trigrams — in every run of the type — would make a label such as "Inventory sync" a candidate in every
 * inventory.sync run, each rechecked. Types have no spaces. Must stay the expression of `run_search_scope_text`.
 */
const SCOPE_TEXT = sql<string>`substr(s.text, length(split_part(s.text, ' ', 1)) + 2)`;

/** A LIKE pattern that matches `text` literally anywhere (`%`, `_` and `\` lose their meaning). */
export const containsPattern = (text: string): string => `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

/**
 * A run's search text: its type and every string, number and boolean in its scope (at any depth), lower-cased;
 * the search matches the scope's part (`SCOPE_TEXT`). Keys are not values: `{ "policyId": "abc" }` is found by
 * "abc", not by "policyid".
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

  /** Whether the scope text of the run `r` contains `needle` (lower-case, literal): one primary-key probe per run. */
  runTextContains(needle: string) {
    const text = queries(this.orm).selectFrom('run_search as s').select(SCOPE_TEXT.as('text')).where(sql<SqlBool>`s.run_id = r.id`);
    return sql<SqlBool>`(${text}) like ${containsPattern(needle)} escape '\\'`;
  }

  /**
   * A search row of the run `r` whose scope text contains `needle` (lower-case, literal), for EXISTS: a
   * primary-key probe per run, or the trigram index for a rare text. The tenant is the run's own and not
   * repeated: repeated, it makes PostgreSQL take a text to be as rare among the tenant's runs as among all runs
   * (it cannot know that every match belongs to the tenant), so it collects and sorts every match of a common
   * word instead of walking the newest runs.
   */
  ofRunContaining(needle: string) {
    return queries(this.orm)
      .selectFrom('run_search as s')
      .select(sql.lit(1).as('found'))
      .where(sql<SqlBool>`s.run_id = r.id`)
      .where(sql<SqlBool>`${SCOPE_TEXT} like ${containsPattern(needle)} escape '\\'`);
  }
}
