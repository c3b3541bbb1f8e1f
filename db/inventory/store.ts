import { sql, type SqlBool } from 'kysely';
import { queries } from '../database.ts';
import type { Orm } from '../orm.ts';
import { decodeKeyset, encodeKeyset } from './keyset.ts';

/** A policy as a sync stores it, already checked against the column limits (db/inventory/service.ts). */
export type InventoryRecord = {
  externalId: string;
  name: string;
  policyType: string;
  lastModified: Date | null;
  settings: Record<string, unknown>;
  settingsHash: string;
};

/** A policy of a snapshot as pages show it (never its settings). */
export type InventoryRow = { external_id: string; name: string; policy_type: string; last_modified: Date | null };

/** A policy of a snapshot as a comparison reads it: what identifies it and the hash of its settings. */
export type SnapshotEntry = { external_id: string; name: string; policy_type: string; settings_hash: string };

export type InventoryFilters = { q?: string; policyType?: string; limit: number; cursor?: string };

/** Rows per INSERT: 8 parameters a row stays far below PostgreSQL's 65,535 per statement. */
const INSERT_CHUNK = 1_000;

/** The (name, external id) of a list cursor; InvalidCursorError (a 400) for anything this store did not issue. */
export const decodeInventoryCursor = (cursor: string) => decodeKeyset(cursor, 2) as [string, string];

const likePattern = (text: string) => `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

/** The one owner of `inventory_items` SQL. A snapshot is the rows of one `inventory.sync` run. */
export class InventoryStore {
  constructor(private readonly orm: Orm) {}

  /**
   * Adds policies to a run's snapshot in multi-row INSERTs; a policy the run already stored (sources may
   * list an item on two pages) is left as it is. Returns how many rows were added.
   */
  async insertBatch(runId: string, tenantId: string, items: readonly InventoryRecord[]): Promise<number> {
    let inserted = 0;
    for (let start = 0; start < items.length; start += INSERT_CHUNK) {
      const chunk = items.slice(start, start + INSERT_CHUNK);
      const result = await queries(this.orm)
        .insertInto('inventory_items')
        .values(
          chunk.map((item) => ({
            run_id: runId,
            external_id: item.externalId,
            tenant_id: tenantId,
            name: item.name,
            policy_type: item.policyType,
            last_modified: item.lastModified,
            settings: item.settings,
            settings_hash: item.settingsHash,
          })),
        )
        .onConflict((oc) => oc.columns(['run_id', 'external_id']).doNothing())
        .executeTakeFirst();
      inserted += Number(result.numInsertedOrUpdatedRows ?? 0);
    }
    return inserted;
  }

  /** A keyset page by (name, external id), and the cursor of the next page (null on the last). */
  async list(runId: string, filters: InventoryFilters): Promise<{ rows: InventoryRow[]; nextCursor: string | null }> {
    const rows = await this.listQuery(runId, filters).execute();
    const page = rows.slice(0, filters.limit);
    const last = page.at(-1);
    return { rows: page, nextCursor: rows.length > filters.limit && last ? encodeKeyset([last.name, last.external_id]) : null };
  }

  /**
   * The list query (one row more than the page); public for the benchmark. `q` is a case-insensitive
   * substring of the name (LIKE wildcards escaped) or an exact external id.
   */
  listQuery(runId: string, filters: InventoryFilters) {
    let query = queries(this.orm)
      .selectFrom('inventory_items as i')
      .select(['i.external_id', 'i.name', 'i.policy_type', 'i.last_modified'])
      .where('i.run_id', '=', runId);
    if (filters.q) {
      const q = filters.q;
      query = query.where((eb) => eb.or([sql<SqlBool>`i.name ilike ${likePattern(q)} escape '\\'`, eb('i.external_id', '=', q)]));
    }
    if (filters.policyType) query = query.where('i.policy_type', '=', filters.policyType);
    if (filters.cursor) {
      const [name, externalId] = decodeInventoryCursor(filters.cursor);
      query = query.where(sql<SqlBool>`(i.name, i.external_id) > (${name}, ${externalId})`);
    }
    return query.orderBy('i.name').orderBy('i.external_id').limit(filters.limit + 1);
  }

  /** The snapshot's policy types with how many policies each has, by name. */
  async policyTypes(runId: string): Promise<{ policyType: string; count: number }[]> {
    const rows = await this.policyTypesQuery(runId).execute();
    return rows.map((row) => ({ policyType: row.policy_type, count: Number(row.count) }));
  }

  /** Public for the benchmark. */
  policyTypesQuery(runId: string) {
    return queries(this.orm)
      .selectFrom('inventory_items')
      .select((eb) => ['policy_type', eb.fn.countAll<string>().as('count')])
      .where('run_id', '=', runId)
      .groupBy('policy_type')
      .orderBy('policy_type');
  }

  async count(runId: string): Promise<number> {
    const row = await queries(this.orm)
      .selectFrom('inventory_items')
      .select((eb) => eb.fn.countAll<string>().as('count'))
      .where('run_id', '=', runId)
      .executeTakeFirstOrThrow();
    return Number(row.count);
  }

  /**
   * Up to `limit` entries of a snapshot in external-id order, after `after` (null: from the start) and up to
   * and including `through` when given. Comparisons are PostgreSQL's, so two snapshots read this way are
   * ordered alike whatever the database's collation.
   */
  async page(runId: string, after: string | null, limit: number, through?: string | null): Promise<SnapshotEntry[]> {
    let query = queries(this.orm)
      .selectFrom('inventory_items')
      .select(['external_id', 'name', 'policy_type', 'settings_hash'])
      .where('run_id', '=', runId);
    if (after !== null) query = query.where('external_id', '>', after);
    if (through !== undefined && through !== null) query = query.where('external_id', '<=', through);
    return query.orderBy('external_id').limit(limit).execute();
  }

  /** The settings of some policies of a snapshot, by external id. */
  async settingsOf(runId: string, externalIds: readonly string[]): Promise<Map<string, Record<string, unknown>>> {
    if (externalIds.length === 0) return new Map();
    const rows = await queries(this.orm)
      .selectFrom('inventory_items')
      .select(['external_id', 'settings'])
      .where('run_id', '=', runId)
      .where('external_id', 'in', [...externalIds])
      .execute();
    return new Map(rows.map((row) => [row.external_id, row.settings]));
  }

  /** How many distinct policies two snapshots hold together. */
  async unionCount(runA: string, runB: string): Promise<number> {
    const row = await queries(this.orm)
      .selectFrom('inventory_items')
      .select(sql<string>`count(distinct external_id)`.as('count'))
      .where('run_id', 'in', [runA, runB])
      .executeTakeFirstOrThrow();
    return Number(row.count);
  }
}
