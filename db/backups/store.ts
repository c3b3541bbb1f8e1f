import { sql } from 'kysely';
import { clockTimestamp, queries } from '../database.ts';
import type { Orm } from '../orm.ts';
import { cursorInstant, decodeCursor, encodeCursor } from '../pagination.ts';

export type BackupSetRow = { id: string; name: string; created_at: Date; item_count: number };

/** A captured policy as pages show it (no settings). */
export type BackupItemRow = {
  external_id: string;
  name: string;
  policy_type: string;
  settings_hash: string;
  captured_at: Date;
  run_id: string | null;
};

/** A captured policy with its settings: what a restore writes back. */
export type CapturedPolicy = {
  external_id: string;
  name: string;
  policy_type: string;
  settings: Record<string, unknown>;
  settings_hash: string;
};

/** The one owner of `backup_sets` and `backup_items` SQL. */
export class BackupStore {
  constructor(private readonly orm: Orm) {}

  async insertSet(set: { tenantId: string; name: string; createdById: string | null }): Promise<BackupSetRow> {
    const row = await queries(this.orm)
      .insertInto('backup_sets')
      .values({ tenant_id: set.tenantId, name: set.name, created_by_id: set.createdById, created_at: clockTimestamp })
      .returning(['id', 'name', 'created_at'])
      .executeTakeFirstOrThrow();
    return { ...row, item_count: 0 };
  }

  /** A set of this tenant with its item count; another tenant's set is not found. */
  async findSet(tenantId: string, id: string): Promise<BackupSetRow | null> {
    const row = await this.setsWithCounts().where('s.tenant_id', '=', tenantId).where('s.id', '=', id).executeTakeFirst();
    return row ? { ...row, item_count: Number(row.item_count) } : null;
  }

  /** A keyset page of the tenant's sets, newest first. */
  async listSets(tenantId: string, page: { limit: number; cursor?: string }): Promise<{ rows: BackupSetRow[]; nextCursor: string | null }> {
    let query = this.setsWithCounts()
      .select(sql<string>`${sql.raw(cursorInstant('s.created_at'))}`.as('cursor_at'))
      .where('s.tenant_id', '=', tenantId);
    if (page.cursor) {
      const { createdAt, id } = decodeCursor(page.cursor);
      query = query.where(sql<boolean>`(s.created_at, s.id) < (${createdAt}::timestamptz, ${id}::uuid)`);
    }
    const rows = await query.orderBy('s.created_at', 'desc').orderBy('s.id', 'desc').limit(page.limit + 1).execute();
    const kept = rows.slice(0, page.limit);
    const last = kept.at(-1);
    return {
      rows: kept.map(({ cursor_at: _cursor, ...row }) => ({ ...row, item_count: Number(row.item_count) })),
      nextCursor: rows.length > page.limit && last ? encodeCursor(last.cursor_at, last.id) : null,
    };
  }

  /** Every item of a set, by name. */
  async items(backupSetId: string): Promise<BackupItemRow[]> {
    return queries(this.orm)
      .selectFrom('backup_items')
      .select(['external_id', 'name', 'policy_type', 'settings_hash', 'captured_at', 'run_id'])
      .where('backup_set_id', '=', backupSetId)
      .orderBy('name')
      .orderBy('external_id')
      .execute();
  }

  /** The settings hash a policy was captured with in this set, or null when it is not in it. */
  async capturedHash(backupSetId: string, externalId: string): Promise<string | null> {
    const row = await queries(this.orm)
      .selectFrom('backup_items')
      .select('settings_hash')
      .where('backup_set_id', '=', backupSetId)
      .where('external_id', '=', externalId)
      .executeTakeFirst();
    return row?.settings_hash ?? null;
  }

  /** Captures a policy into a set, replacing an earlier capture of it. */
  async upsertItem(backupSetId: string, item: CapturedPolicy & { run_id: string | null }): Promise<void> {
    await queries(this.orm)
      .insertInto('backup_items')
      .values({
        backup_set_id: backupSetId,
        external_id: item.external_id,
        name: item.name,
        policy_type: item.policy_type,
        settings: item.settings,
        settings_hash: item.settings_hash,
        captured_at: clockTimestamp,
        run_id: item.run_id,
      })
      .onConflict((oc) =>
        oc.columns(['backup_set_id', 'external_id']).doUpdateSet((eb) => ({
          name: eb.ref('excluded.name'),
          policy_type: eb.ref('excluded.policy_type'),
          settings: eb.ref('excluded.settings'),
          settings_hash: eb.ref('excluded.settings_hash'),
          captured_at: eb.ref('excluded.captured_at'),
          run_id: eb.ref('excluded.run_id'),
        })),
      )
      .execute();
  }

  /** Captured policies with their settings: all of the set's, or only those of `externalIds`. */
  async captured(backupSetId: string, externalIds: string[] | null): Promise<CapturedPolicy[]> {
    let query = queries(this.orm)
      .selectFrom('backup_items')
      .select(['external_id', 'name', 'policy_type', 'settings', 'settings_hash'])
      .where('backup_set_id', '=', backupSetId);
    if (externalIds) {
      if (externalIds.length === 0) return [];
      query = query.where('external_id', 'in', externalIds);
    }
    return query.orderBy('external_id').execute();
  }

  /** Which of `externalIds` the set holds. */
  async presentIds(backupSetId: string, externalIds: string[]): Promise<Set<string>> {
    if (externalIds.length === 0) return new Set();
    const rows = await queries(this.orm)
      .selectFrom('backup_items')
      .select('external_id')
      .where('backup_set_id', '=', backupSetId)
      .where('external_id', 'in', externalIds)
      .execute();
    return new Set(rows.map((row) => row.external_id));
  }

  private setsWithCounts() {
    return queries(this.orm)
      .selectFrom('backup_sets as s')
      .select(['s.id', 's.name', 's.created_at'])
      .select((eb) =>
        eb
          .selectFrom('backup_items as i')
          .select(eb.fn.countAll<string>().as('n'))
          .whereRef('i.backup_set_id', '=', 's.id')
          .as('item_count'),
      );
  }
}
