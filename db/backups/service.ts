import type { TenantRef } from '../access/actor.ts';
import { notFound } from '../errors.ts';
import type { ScopePreparer } from '../runs/start.ts';
import type { SourcePolicy } from '../sources/source.ts';
import { settingsHash } from '../sources/source.ts';
import type { BackupItemRow, BackupSetRow, BackupStore, CapturedPolicy } from './store.ts';

/** A backup set in lists (docs/api.md §10). */
export type BackupSetSummary = { id: string; name: string; createdAt: string; itemCount: number };

/** A captured policy of a set: which policy, when, with which settings hash, by which run. */
export type BackupItemView = {
  policy: { externalId: string; name: string; policyType: string };
  capturedAt: string;
  settingsHash: string;
  runId: string | null;
};

export type BackupSetDetail = BackupSetSummary & { items: BackupItemView[] };

export type BackupSetPage = { backupSets: BackupSetSummary[]; nextCursor: string | null };

export type { CapturedPolicy };

/** What capturing one policy did: stored (new or changed settings), or skipped (captured with the same settings). */
export type CaptureResult = 'captured' | 'unchanged';

/** Timestamps may reach us as Date or as PostgreSQL's text, depending on the driver's parsing. */
const iso = (value: Date | string): string => new Date(value).toISOString();

const summaryOf = (row: BackupSetRow): BackupSetSummary => ({
  id: row.id,
  name: row.name,
  createdAt: iso(row.created_at),
  itemCount: row.item_count,
});

const itemView = (row: BackupItemRow): BackupItemView => ({
  policy: { externalId: row.external_id, name: row.name, policyType: row.policy_type },
  capturedAt: iso(row.captured_at),
  settingsHash: row.settings_hash,
  runId: row.run_id,
});

/**
 * Backup sets (docs/api.md §10): named sets of policy settings captured from the policy source by
 * `backup_set.add_policies` runs, read back by restores. Every read here is scoped to one tenant.
 */
export class BackupService {
  constructor(private readonly store: BackupStore) {}

  async create(tenant: TenantRef, name: string, createdById: string | null): Promise<BackupSetSummary> {
    return summaryOf(await this.store.insertSet({ tenantId: tenant.id, name, createdById }));
  }

  async list(tenantId: string, page: { limit: number; cursor?: string }): Promise<BackupSetPage> {
    const { rows, nextCursor } = await this.store.listSets(tenantId, page);
    return { backupSets: rows.map(summaryOf), nextCursor };
  }

  /** A set of this tenant with its items; null for an unknown id or another tenant's set. */
  async get(tenantId: string, id: string): Promise<BackupSetDetail | null> {
    const row = await this.store.findSet(tenantId, id);
    if (!row) return null;
    return { ...summaryOf(row), items: (await this.store.items(row.id)).map(itemView) };
  }

  /** A set of this tenant, or 404. */
  async require(tenantId: string, id: string): Promise<BackupSetSummary> {
    const row = await this.store.findSet(tenantId, id);
    if (!row) throw notFound('The backup set');
    return summaryOf(row);
  }

  /**
   * The scope preparer of `backup_set.add_policies`: the set must be one of this tenant's (else 404, and no
   * run is created); its name is recorded beside the identity so the run's related link reads as the set.
   */
  readonly prepareAddPolicies: ScopePreparer = async (tenant, scope) => {
    const set = await this.require(tenant.id, String(scope.backupSetId));
    return { ...scope, backupSetName: set.name };
  };

  /**
   * Captures a policy read from the source into a set, unless it was captured there with the same settings.
   * Two runs capturing the same policy at once both end with one row: the upsert keeps the later capture.
   */
  async capture(backupSetId: string, policy: SourcePolicy, runId: string): Promise<CaptureResult> {
    const hash = settingsHash(policy.settings);
    if ((await this.store.capturedHash(backupSetId, policy.externalId)) === hash) return 'unchanged';
    await this.store.upsertItem(backupSetId, {
      external_id: policy.externalId,
      name: policy.name,
      policy_type: policy.policyType,
      settings: policy.settings,
      settings_hash: hash,
      run_id: runId,
    });
    return 'captured';
  }

  /** Captured policies with their settings (all of the set's, or those of `externalIds`), by external id. */
  async captured(backupSetId: string, externalIds: string[] | null): Promise<CapturedPolicy[]> {
    return this.store.captured(backupSetId, externalIds);
  }

  /** Which of `externalIds` are captured in the set. */
  async presentIds(backupSetId: string, externalIds: string[]): Promise<Set<string>> {
    return this.store.presentIds(backupSetId, externalIds);
  }
}
