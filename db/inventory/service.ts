import { inventorySync } from '../catalog/operations.ts';
import type { RunQueries } from '../runs/queries.ts';
import { isSuccessful } from '../runs/queries.ts';
import { settingsHash, type SourcePolicy } from '../sources/source.ts';
import { isSafeText } from '../validation.ts';
import { CompletedRunCache } from './cache.ts';
import { INVENTORY_LIMITS, MAX_SETTINGS_DEPTH, settingsProblem, type SettingsProblem } from './limits.ts';
import { decodeInventoryCursor, type InventoryFilters, type InventoryRecord, type InventoryStore, type SnapshotEntry } from './store.ts';

const SYNC_TYPE = inventorySync.type;

/** The snapshot a page shows: the latest successful sync's. */
export type InventorySnapshot = { runId: string; completedAt: string; itemCount: number };

export type InventoryPolicy = {
  externalId: string;
  name: string;
  policyType: string;
  lastModified: string | null;
  /** The sync that last read this policy: the snapshot's run. */
  lastSeenRunId: string;
};

export type InventoryQuery = InventoryFilters;

/** `GET …/inventory`: a page of the latest snapshot's policies, its policy types and the next cursor. */
export type InventoryPage = {
  snapshot: InventorySnapshot | null;
  policies: InventoryPolicy[];
  policyTypes: { policyType: string; count: number }[];
  nextCursor: string | null;
};

/** What one write of a page of policies did: rows added, repeats of policies already stored, refusals. */
export type RecordResult = { stored: number; repeated: number; refused: { externalId: string; code: string; message: string }[] };

/** One policy of a comparison window: in the baseline, the current snapshot, or both. */
export type ComparedPolicy = { externalId: string; baseline?: SnapshotEntry; current?: SnapshotEntry };

const UNSTORABLE = 'source_item_unreadable';
const PROBLEMS: Record<SettingsProblem, string> = {
  unsafe_text: "The policy's settings contain text that cannot be stored (NUL bytes or broken Unicode).",
  too_deep: `The policy's settings nest deeper than ${MAX_SETTINGS_DEPTH} levels.`,
};

/** Safe text cut to `max` chars (never inside a surrogate pair). */
function fit(text: string, max: number): string {
  const clean = text.replaceAll('\0', '').toWellFormed();
  return clean.length <= max ? clean : clean.slice(0, max).toWellFormed().replace(/\uFFFD$/, '');
}

function instantOrNull(value: string | null): Date | null {
  if (value === null) return null;
  const date = new Date(value);
  return Number.isNaN(date.getTime()) || date.getUTCFullYear() < 1970 || date.getUTCFullYear() > 9999 ? null : date;
}

/**
 * Inventory snapshots (docs/api.md §10): written by `inventory.sync` runs, one snapshot per run, and read
 * by pages and by drift from the database only. A snapshot counts once its run completed successfully.
 */
export class InventoryService {
  constructor(
    private readonly store: InventoryStore,
    private readonly runs: RunQueries,
  ) {}

  readonly #policyTypes = new CompletedRunCache<{ policyType: string; count: number }[]>();

  /** The latest successful (succeeded or partially succeeded) sync of the tenant, or null. */
  async latestSnapshot(tenantId: string): Promise<InventorySnapshot | null> {
    const [run] = await this.runs.latestSuccessful(tenantId, SYNC_TYPE, 1);
    if (!run) return null;
    const types = await this.policyTypesOf(run.id);
    return { runId: run.id, completedAt: run.completedAt!, itemCount: types.reduce((sum, t) => sum + t.count, 0) };
  }

  /** A completed snapshot's types and counts: it never changes, so each process counts it once. */
  private policyTypesOf(runId: string): Promise<{ policyType: string; count: number }[]> {
    return this.#policyTypes.get(runId, () => this.store.policyTypes(runId));
  }

  /** A page of the latest snapshot's policies (`q`: part of a name or an exact id; `policyType`: exact). */
  async list(tenantId: string, query: InventoryQuery): Promise<InventoryPage> {
    // A bad cursor is a bad request whether or not there is a snapshot to page through.
    if (query.cursor) decodeInventoryCursor(query.cursor);
    const [run] = await this.runs.latestSuccessful(tenantId, SYNC_TYPE, 1);
    if (!run) return { snapshot: null, policies: [], policyTypes: [], nextCursor: null };
    const [{ rows, nextCursor }, policyTypes] = await Promise.all([this.store.list(run.id, query), this.policyTypesOf(run.id)]);
    return {
      snapshot: { runId: run.id, completedAt: run.completedAt!, itemCount: policyTypes.reduce((sum, t) => sum + t.count, 0) },
      policies: rows.map((row) => ({
        externalId: row.external_id,
        name: row.name,
        policyType: row.policy_type,
        lastModified: row.last_modified ? new Date(row.last_modified).toISOString() : null,
        lastSeenRunId: run.id,
      })),
      policyTypes,
      nextCursor,
    };
  }

  /**
   * The SQL of a list page (`$n` placeholders), for the benchmark to send straight to PostgreSQL; the policy
   * types are counted once per snapshot (`policyTypesSql`).
   */
  listSql(runId: string, query: InventoryQuery): { sql: string; params: unknown[] } {
    const { sql, parameters } = this.store.listQuery(runId, query).compile();
    return { sql, params: [...parameters] };
  }

  policyTypesSql(runId: string): { sql: string; params: unknown[] } {
    const { sql, parameters } = this.store.policyTypesQuery(runId).compile();
    return { sql, params: [...parameters] };
  }

  /**
   * Stores a page of policies read by a sync run in its snapshot. A policy whose id cannot be stored, or
   * whose settings cannot (text PostgreSQL refuses, nesting past MAX_SETTINGS_DEPTH), is refused as unreadable; names and
   * types are cut to their columns. A policy listed twice is stored once.
   */
  async record(runId: string, tenantId: string, policies: readonly SourcePolicy[]): Promise<RecordResult> {
    const refused: RecordResult['refused'] = [];
    const seen = new Set<string>();
    const records: InventoryRecord[] = [];
    let repeated = 0;
    for (const policy of policies) {
      const { externalId } = policy;
      if (typeof externalId !== 'string' || externalId === '' || externalId.length > INVENTORY_LIMITS.externalId || !isSafeText(externalId)) {
        refused.push({ externalId: String(externalId), code: UNSTORABLE, message: 'The policy id is empty, longer than 200 characters or not text.' });
        continue;
      }
      const problem = settingsProblem(policy.settings);
      if (problem) {
        refused.push({ externalId, code: UNSTORABLE, message: PROBLEMS[problem] });
        continue;
      }
      if (seen.has(externalId)) {
        repeated++;
        continue;
      }
      seen.add(externalId);
      records.push({
        externalId,
        name: fit(String(policy.name ?? ''), INVENTORY_LIMITS.name),
        policyType: fit(String(policy.policyType ?? ''), INVENTORY_LIMITS.policyType),
        lastModified: instantOrNull(policy.lastModified),
        settings: policy.settings,
        settingsHash: settingsHash(policy.settings),
      });
    }
    const stored = records.length > 0 ? await this.store.insertBatch(runId, tenantId, records) : 0;
    return { stored, repeated: repeated + records.length - stored, refused };
  }

  /** A successful sync of this tenant (another tenant's run, or one that did not succeed, is null). */
  async snapshot(tenantId: string, runId: string): Promise<{ runId: string; completedAt: string } | null> {
    const run = await this.runs.get(tenantId, runId);
    if (!run || run.type !== SYNC_TYPE || !isSuccessful(run)) return null;
    return { runId: run.id, completedAt: run.completedAt! };
  }

  /** The tenant's latest successful syncs, newest first. */
  async latestSnapshots(tenantId: string, limit: number): Promise<{ runId: string; completedAt: string }[]> {
    const runs = await this.runs.latestSuccessful(tenantId, SYNC_TYPE, limit);
    return runs.map((run) => ({ runId: run.id, completedAt: run.completedAt! }));
  }

  async countSnapshots(tenantId: string): Promise<number> {
    return this.runs.countSuccessful(tenantId, SYNC_TYPE);
  }

  /** How many distinct policies two snapshots hold together: the size of their comparison. */
  unionSize(baselineRunId: string, currentRunId: string): Promise<number> {
    return this.store.unionCount(baselineRunId, currentRunId);
  }

  settingsOf(runId: string, externalIds: readonly string[]): Promise<Map<string, Record<string, unknown>>> {
    return this.store.settingsOf(runId, externalIds);
  }

  /**
   * Walks two snapshots side by side in external-id order, a window at a time (memory bounded by about two
   * pages): each window holds every policy of both snapshots in a key range, paired by id. The range ends
   * are chosen with PostgreSQL's comparisons only, so the walk never depends on JavaScript agreeing with the
   * database's collation.
   */
  async *walk(baselineRunId: string, currentRunId: string, pageSize = 500): AsyncGenerator<ComparedPolicy[]> {
    let after: string | null = null;
    for (;;) {
      let current = await this.store.page(currentRunId, after, pageSize);
      // null: the current snapshot ends inside this window.
      let through: string | null = current.length === pageSize ? current.at(-1)!.external_id : null;
      const baseline = await this.store.page(baselineRunId, after, pageSize, through);
      if (baseline.length === pageSize) {
        // The baseline may go on inside the range: end the window at its last id instead.
        const last = baseline.at(-1)!.external_id;
        if (last !== through) {
          through = last;
          current = await this.store.page(currentRunId, after, pageSize, through);
        }
      }
      if (current.length === 0 && baseline.length === 0) return;
      const byId = new Map(baseline.map((entry) => [entry.external_id, entry]));
      const window: ComparedPolicy[] = [];
      for (const entry of current) {
        const before = byId.get(entry.external_id);
        byId.delete(entry.external_id);
        window.push(before ? { externalId: entry.external_id, baseline: before, current: entry } : { externalId: entry.external_id, current: entry });
      }
      for (const entry of byId.values()) window.push({ externalId: entry.external_id, baseline: entry });
      yield window;
      if (through === null) return;
      after = through;
    }
  }
}
