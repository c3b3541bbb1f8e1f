import { queries, type Tx } from '../database.ts';
import type { Orm } from '../orm.ts';

/** The one owner of `run_events`: event ids a mirrored run's reporter already had applied. */
export class RunEventStore {
  constructor(private readonly orm: Orm) {}

  async seen(tx: Tx, runId: string, eventId: string): Promise<boolean> {
    const row = await queries(this.orm, tx)
      .selectFrom('run_events')
      .select('run_id')
      .where('run_id', '=', runId)
      .where('event_id', '=', eventId)
      .executeTakeFirst();
    return row !== undefined;
  }

  async record(tx: Tx, runId: string, eventId: string): Promise<void> {
    await queries(this.orm, tx).insertInto('run_events').values({ run_id: runId, event_id: eventId }).execute();
  }
}
