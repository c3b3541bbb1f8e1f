import { sql, type Selectable } from 'kysely';
import { clockTimestamp, queries, type Database, type Tx } from '../database.ts';
import type { DriftField } from '../drift/entity.ts';
import type { Orm } from '../orm.ts';
import { cursorInstant, decodeCursor, encodeCursor } from '../pagination.ts';
import type { RestoreAction, RestoreItemResult, RestoreStatus } from './entity.ts';

/** A restore as every restore query selects it, with its backup set's name. */
export type RestoreRow = Omit<Selectable<Database['restores']>, 'created_by_id'> & { backup_set_name: string };

export type RestoreItemRow = Omit<Selectable<Database['restore_items']>, 'restore_id'>;

/** One planned item of a preview. */
export type PlannedItem = { external_id: string; name: string; policy_type: string; action: RestoreAction; fields: DriftField[] };

const COLUMNS = [
  'r.id', 'r.tenant_id', 'r.backup_set_id', 'b.name as backup_set_name', 'r.policy_ids', 'r.status', 'r.run_id', 'r.created_at', 'r.updated_at',
] as const;

const ITEM_COLUMNS = ['external_id', 'name', 'policy_type', 'action', 'fields', 'result', 'error_code', 'applied_at'] as const;

/** jsonb arrays are sent as JSON text (the driver would send a JS array as a PostgreSQL array). */
const jsonb = <T>(value: T) => sql<T>`${JSON.stringify(value)}::jsonb`;

/**
 * The one owner of `restores` and `restore_items` SQL. Status changes are conditional updates (`from` → `to`),
 * so of two concurrent transitions exactly one applies; the rules of which transition is allowed are the
 * service's.
 */
export class RestoreStore {
  constructor(private readonly orm: Orm) {}

  async insert(restore: { tenantId: string; backupSetId: string; policyIds: string[] | null; createdById: string | null }): Promise<string> {
    const row = await queries(this.orm)
      .insertInto('restores')
      .values({
        tenant_id: restore.tenantId,
        backup_set_id: restore.backupSetId,
        policy_ids: restore.policyIds ? jsonb(restore.policyIds) : null,
        status: 'draft',
        created_by_id: restore.createdById,
        created_at: clockTimestamp,
        updated_at: clockTimestamp,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    return row.id;
  }

  /** A restore of this tenant; another tenant's is not found. */
  async get(tenantId: string, id: string): Promise<RestoreRow | null> {
    const row = await this.select().where('r.tenant_id', '=', tenantId).where('r.id', '=', id).executeTakeFirst();
    return (row as RestoreRow | undefined) ?? null;
  }

  /** The restore a run mirrors (its tenant comes with it). */
  async byRun(runId: string): Promise<RestoreRow | null> {
    const row = await this.select().where('r.run_id', '=', runId).executeTakeFirst();
    return (row as RestoreRow | undefined) ?? null;
  }

  async list(tenantId: string, page: { limit: number; cursor?: string }): Promise<{ rows: RestoreRow[]; nextCursor: string | null }> {
    let query = this.select()
      .select(sql<string>`${sql.raw(cursorInstant('r.created_at'))}`.as('cursor_at'))
      .where('r.tenant_id', '=', tenantId);
    if (page.cursor) {
      const { createdAt, id } = decodeCursor(page.cursor);
      query = query.where(sql<boolean>`(r.created_at, r.id) < (${createdAt}::timestamptz, ${id}::uuid)`);
    }
    const rows = await query.orderBy('r.created_at', 'desc').orderBy('r.id', 'desc').limit(page.limit + 1).execute();
    const kept = rows.slice(0, page.limit);
    const last = kept.at(-1);
    return {
      rows: kept.map(({ cursor_at: _cursor, ...row }) => row as RestoreRow),
      nextCursor: rows.length > page.limit && last ? encodeCursor(last.cursor_at, last.id) : null,
    };
  }

  /** Items of a restore by external id. */
  async items(restoreId: string): Promise<RestoreItemRow[]> {
    return queries(this.orm).selectFrom('restore_items').select(ITEM_COLUMNS).where('restore_id', '=', restoreId).orderBy('external_id').execute() as Promise<
      RestoreItemRow[]
    >;
  }

  /** How many items of each action a restore has, per restore. */
  async actionCounts(restoreIds: string[]): Promise<Map<string, Record<RestoreAction, number>>> {
    const counts = new Map<string, Record<RestoreAction, number>>();
    if (restoreIds.length === 0) return counts;
    const rows = await queries(this.orm)
      .selectFrom('restore_items')
      .select(['restore_id', 'action', (eb) => eb.fn.countAll<string>().as('n')])
      .where('restore_id', 'in', restoreIds)
      .groupBy(['restore_id', 'action'])
      .execute();
    for (const row of rows) {
      const entry = counts.get(row.restore_id) ?? { create: 0, update: 0, unchanged: 0 };
      entry[row.action] = Number(row.n);
      counts.set(row.restore_id, entry);
    }
    return counts;
  }

  /**
   * A preview's result in one transaction: under the restore's row lock, and only while it is in one of
   * `from`, its items are replaced, it becomes `previewed` and keeps its run (or takes `runId` if it has none).
   * Null when the restore had moved on (nothing is written); else the run it is linked to.
   */
  async savePreview(restoreId: string, from: RestoreStatus[], runId: string, items: PlannedItem[]): Promise<{ runId: string } | null> {
    return this.orm.em.fork().transactional(async (tx: Tx) => {
      const db = queries(this.orm, tx);
      const locked = await db
        .selectFrom('restores')
        .select(['id', 'run_id'])
        .where('id', '=', restoreId)
        .where('status', 'in', from)
        .forUpdate()
        .executeTakeFirst();
      if (!locked) return null;
      await db.deleteFrom('restore_items').where('restore_id', '=', restoreId).execute();
      // In slices: one INSERT holds at most 65,535 parameters.
      for (let i = 0; i < items.length; i += 1_000) {
        await db
          .insertInto('restore_items')
          .values(
            items.slice(i, i + 1_000).map((item) => ({
              restore_id: restoreId,
              external_id: item.external_id,
              name: item.name,
              policy_type: item.policy_type,
              action: item.action,
              fields: jsonb(item.fields),
            })),
          )
          .execute();
      }
      const linked = locked.run_id ?? runId;
      await db
        .updateTable('restores')
        .set({ status: 'previewed', run_id: linked, updated_at: clockTimestamp })
        .where('id', '=', restoreId)
        .execute();
      return { runId: linked };
    });
  }

  /** `from` → `to` in one conditional statement; the changed row, or null when it was in no status of `from`. */
  async transition(tenantId: string, restoreId: string, from: RestoreStatus[], to: RestoreStatus): Promise<{ run_id: string | null } | null> {
    const row = await queries(this.orm)
      .updateTable('restores')
      .set({ status: to, updated_at: clockTimestamp })
      .where('id', '=', restoreId)
      .where('tenant_id', '=', tenantId)
      .where('status', 'in', from)
      .returning('run_id')
      .executeTakeFirst();
    return row ?? null;
  }

  /** Records an item's result once: false when it already had one (a redelivered job). */
  async markItem(restoreId: string, externalId: string, result: RestoreItemResult, errorCode: string | null): Promise<boolean> {
    const rows = await queries(this.orm)
      .updateTable('restore_items')
      .set({ result, error_code: errorCode, ...(result === 'applied' ? { applied_at: clockTimestamp } : {}) })
      .where('restore_id', '=', restoreId)
      .where('external_id', '=', externalId)
      .where('result', 'is', null)
      .returning('external_id')
      .execute();
    return rows.length > 0;
  }

  private select() {
    return queries(this.orm)
      .selectFrom('restores as r')
      .innerJoin('backup_sets as b', 'b.id', 'r.backup_set_id')
      .select(COLUMNS);
  }
}
