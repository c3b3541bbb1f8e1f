import type { QueryCreator, Selectable } from 'kysely';
import { queries, type Database } from '../database.ts';
import type { Orm } from '../orm.ts';
import { MAX_AUTHOR_NAME, type ChangeAuthor, type RunUpdateKind } from './model.ts';

/** A statement's run row, as the CTE `r` of the statement that changed it. */
type WithRun = QueryCreator<Database & { r: Selectable<Database['operation_runs']> }>;

export type HistoryRow = Selectable<Database['run_history']>;

/** The one owner of `run_history` SQL: rows are only ever inserted (by the statement of their change). */
export class RunHistoryStore {
  constructor(private readonly orm: Orm) {}

  /**
   * The history row of the change a statement just made, as a CTE of that statement: it reads the changed run
   * from `r` (the run's new version, status and counts; `updated_at` is the change's instant).
   */
  insertFromRun(q: WithRun, kind: RunUpdateKind, by: ChangeAuthor) {
    return q
      .insertInto('run_history')
      .columns(['run_id', 'version', 'kind', 'status', 'total', 'processed', 'succeeded', 'failed', 'skipped', 'at', 'by_kind', 'by_name'])
      .expression((eb) =>
        eb
          .selectFrom('r')
          .select((s) => [
            s.ref('r.id').as('run_id'),
            'r.version',
            s.val(kind).as('kind'),
            'r.status',
            'r.total',
            'r.processed',
            'r.succeeded',
            'r.failed',
            'r.skipped',
            s.ref('r.updated_at').as('at'),
            s.val(by.kind).as('by_kind'),
            s.val(by.name.slice(0, MAX_AUTHOR_NAME)).as('by_name'),
          ]),
      );
  }

  /** A run's history, oldest first. */
  async list(runId: string): Promise<HistoryRow[]> {
    return queries(this.orm).selectFrom('run_history').selectAll().where('run_id', '=', runId).orderBy('version').execute();
  }
}
