import { authorOf, type Caller, type TenantRef } from '../access/actor.ts';
import type { BackupService } from '../backups/service.ts';
import type { DriftField } from '../drift/entity.ts';
import type { InventoryService } from '../inventory/service.ts';
import { AppError, invalidTransition, notFound, validationFailed } from '../errors.ts';
import type { RunLifecycle } from '../runs/lifecycle.ts';
import { author, type RunOutcome } from '../runs/model.ts';
import type { RunQueries } from '../runs/queries.ts';
import { DispatchFailedError, type RunStarter } from '../runs/start.ts';
import type { RunView } from '../runs/view.ts';
import { planItem } from './plan.ts';
import type { RestoreAction, RestoreItemResult, RestoreStatus } from './entity.ts';
import type { PlannedItem, RestoreItemRow, RestoreRow, RestoreStore } from './store.ts';

export const RESTORE_OWNER = 'restores';
export const RESTORE_TYPE = 'restore.execute';

export type RestoreItemView = {
  policy: { externalId: string; name: string; policyType: string };
  action: RestoreAction;
  fields: DriftField[];
  result: RestoreItemResult | null;
  errorCode: string | null;
};

export type RestoreCounts = Record<RestoreAction, number>;

/** A restore in lists: everything but its items. */
export type RestoreSummary = {
  id: string;
  status: RestoreStatus;
  backupSet: { id: string; name: string };
  /** The policies chosen; null: every policy of the backup set. */
  policyIds: string[] | null;
  /** Its `restore.execute` run, from `previewed` on; null for a draft. */
  runId: string | null;
  createdAt: string;
  updatedAt: string;
  counts: RestoreCounts;
};

export type RestoreView = RestoreSummary & { items: RestoreItemView[] };

export type RestorePage = { restores: RestoreSummary[]; nextCursor: string | null };

/** What a preview reads of the inventory: the latest successful snapshot, and its policies' settings. */
export type InventorySnapshots = Pick<InventoryService, 'latestSnapshot' | 'settingsOf'>;

/** One item of a restore as its driver applies it: the preview's plan with the captured settings. */
export type RestoreWorkItem = {
  externalId: string;
  name: string;
  policyType: string;
  action: RestoreAction;
  result: RestoreItemResult | null;
  errorCode: string | null;
  /** The captured settings to write back (null for `unchanged` items and items already done). */
  settings: Record<string, unknown> | null;
};

export type RestoreWork = { restoreId: string; tenantId: string; items: RestoreWorkItem[] };

/** The restore's end, from its run's outcome. */
const SETTLED: Record<Exclude<RunOutcome, 'pending'>, RestoreStatus> = {
  succeeded: 'completed',
  partially_succeeded: 'completed_with_errors',
  failed: 'failed',
};

const DISCARDED = { code: 'restore_discarded', message: 'The restore was discarded before it was executed.' };
/** Ends the run of a restore discarded before its run could be ended (a cut-short discard). */
const RESTORE_RECONCILE = author('system', 'restore reconcile');
const EDITABLE: RestoreStatus[] = ['draft', 'previewed'];

/** Timestamps may reach us as Date or as PostgreSQL's text, depending on the driver's parsing. */
const iso = (value: Date | string): string => new Date(value).toISOString();

const emptyCounts = (): RestoreCounts => ({ create: 0, update: 0, unchanged: 0 });

const itemView = (row: RestoreItemRow): RestoreItemView => ({
  policy: { externalId: row.external_id, name: row.name, policyType: row.policy_type },
  action: row.action,
  fields: row.fields,
  result: row.result,
  errorCode: row.error_code,
});

const summaryOf = (row: RestoreRow, counts: RestoreCounts): RestoreSummary => ({
  id: row.id,
  status: row.status,
  backupSet: { id: row.backup_set_id, name: row.backup_set_name },
  policyIds: row.policy_ids,
  runId: row.run_id,
  createdAt: iso(row.created_at),
  updatedAt: iso(row.updated_at),
  counts,
});

/**
 * Restores (docs/api.md §10): a workflow with its own record — draft → previewed → executing → completed |
 * completed_with_errors | failed, or discarded — mirrored from `previewed` on by its `restore.execute` run,
 * which it drives through the same lifecycle events as any mirrored run. Transitions are conditional updates,
 * so concurrent requests cannot both move a restore (nor apply it twice). Reads use the database only.
 */
export class RestoreService {
  constructor(
    private readonly store: RestoreStore,
    private readonly deps: {
      backups: BackupService;
      inventory: InventorySnapshots;
      starter: RunStarter;
      lifecycle: RunLifecycle;
      runs: RunQueries;
    },
  ) {}

  async create(tenant: TenantRef, createdById: string | null, input: { backupSetId: string; policyIds?: string[] }): Promise<RestoreView> {
    const set = await this.deps.backups.require(tenant.id, input.backupSetId);
    const policyIds = input.policyIds ?? null;
    if (policyIds) {
      const present = await this.deps.backups.presentIds(set.id, policyIds);
      const missing = policyIds.flatMap((id, index) => (present.has(id) ? [] : [{ path: `policyIds.${index}`, message: 'is not captured in this backup set' }]));
      if (missing.length > 0) throw validationFailed(missing.slice(0, 20), 'Some policies are not in the backup set.');
    } else if (set.itemCount === 0) {
      throw new AppError(409, 'backup_set_empty', 'The backup set has no captured policies yet; add policies to it first.');
    }
    const id = await this.store.insert({ tenantId: tenant.id, backupSetId: set.id, policyIds, createdById });
    return this.view((await this.store.get(tenant.id, id))!);
  }

  async list(tenantId: string, page: { limit: number; cursor?: string }): Promise<RestorePage> {
    const { rows, nextCursor } = await this.store.list(tenantId, page);
    const settled = await Promise.all(rows.map((row) => this.reconcile(row)));
    const counts = await this.store.actionCounts(settled.map((row) => row.id));
    return { restores: settled.map((row) => summaryOf(row, counts.get(row.id) ?? emptyCounts())), nextCursor };
  }

  /** A restore of this tenant with its items; null for an unknown id or another tenant's restore. */
  async get(tenantId: string, id: string): Promise<RestoreView | null> {
    const row = await this.store.get(tenantId, id);
    if (!row) return null;
    const settled = await this.reconcile(row);
    if (settled.status === 'discarded' && settled.run_id) await this.endDiscardedRun(settled);
    return this.view(settled);
  }

  /**
   * Computes, from the database only, what executing would change: each selected captured policy against the
   * latest successful inventory snapshot. The first preview starts the restore's `restore.execute` run (queued
   * until executed); previewing again recomputes the items and keeps that run.
   */
  async preview(actor: Caller, tenant: TenantRef, id: string): Promise<RestoreView> {
    const restore = await this.require(tenant.id, id);
    if (!EDITABLE.includes(restore.status)) throw invalidTransition(`The restore is ${restore.status}; only a draft or previewed restore can be previewed.`);
    const snapshot = await this.deps.inventory.latestSnapshot(tenant.id);
    if (!snapshot) {
      throw new AppError(409, 'no_inventory', 'There is no successful inventory sync yet, so there is nothing to compare the backup with. Run an inventory sync first.');
    }
    const captured = await this.deps.backups.captured(restore.backup_set_id, restore.policy_ids);
    const current = await this.deps.inventory.settingsOf(snapshot.runId, captured.map((item) => item.external_id));
    const items: PlannedItem[] = captured.map((item) => ({
      external_id: item.external_id,
      name: item.name,
      policy_type: item.policy_type,
      ...planItem(item, current.get(item.external_id)),
    }));

    let runId = restore.run_id;
    let startedHere = false;
    if (!runId) {
      const { run, reused } = await this.deps.starter.start(
        actor,
        tenant.slug,
        { type: RESTORE_TYPE, scope: { restoreId: restore.id, backupSetId: restore.backup_set_id, backupSetName: restore.backup_set_name } },
        { owner: RESTORE_OWNER },
      );
      runId = run.id;
      startedHere = !reused;
    }
    const saved = await this.store.savePreview(restore.id, EDITABLE, runId, items);
    // Discarded (or executed) meanwhile, or linked to another run by a concurrent preview: a run started here
    // for nothing must not stay queued.
    if (startedHere && saved?.runId !== runId) await this.deps.lifecycle.fail(runId, DISCARDED, authorOf(actor), ['queued']);
    if (!saved) {
      const now = await this.require(tenant.id, id);
      throw invalidTransition(`The restore is ${now.status}; only a draft or previewed restore can be previewed.`);
    }
    return this.view((await this.store.get(tenant.id, id))!);
  }

  /**
   * previewed → executing, in one conditional update (of two concurrent executes exactly one wins); the run
   * is started and its job handed to the workers, whose driver applies the items. If the job cannot be
   * queued, the run fails `dispatch_failed` and the restore ends `failed` (503).
   */
  async startExecution(actor: Caller, tenant: TenantRef, id: string): Promise<RestoreView> {
    const won = await this.store.transition(tenant.id, id, ['previewed'], 'executing');
    if (!won) {
      const restore = await this.require(tenant.id, id);
      throw invalidTransition(`The restore is ${restore.status}; only a previewed restore can be executed.`);
    }
    const runId = won.run_id;
    const started = runId ? await this.deps.lifecycle.applyEvent(runId, { kind: 'started' }, authorOf(actor), `restore:${id}:started`) : null;
    let run: RunView | null = started?.outcome === 'applied' ? started.run : null;
    if (runId && started?.outcome === 'duplicate') run = await this.deps.runs.get(tenant.id, runId);
    if (!run || run.status !== 'running') {
      // Its run ended (or vanished) before it could start: nothing was applied.
      await this.store.transition(tenant.id, id, ['executing'], 'failed');
      throw invalidTransition("The restore's run has already ended; create and preview a new restore.");
    }
    try {
      await this.deps.starter.dispatch(run);
    } catch (error) {
      if (error instanceof DispatchFailedError) await this.store.transition(tenant.id, id, ['executing'], 'failed');
      throw error;
    }
    return this.view((await this.store.get(tenant.id, id))!);
  }

  /** draft | previewed → discarded; a previewed restore's run ends `failed/restore_discarded` (never left queued). */
  async discard(actor: Caller, tenant: TenantRef, id: string): Promise<RestoreView> {
    const won = await this.store.transition(tenant.id, id, EDITABLE, 'discarded');
    if (!won) {
      const restore = await this.require(tenant.id, id);
      throw invalidTransition(`The restore is ${restore.status}; only a draft or previewed restore can be discarded.`);
    }
    if (won.run_id) await this.deps.lifecycle.fail(won.run_id, DISCARDED, authorOf(actor));
    return this.view((await this.store.get(tenant.id, id))!);
  }

  // The driver's side (worker/operations/restore-execute.ts) --------------------------------------------------

  /**
   * What the driver of a `restore.execute` run has to do: the restore's items (settings of those still to
   * apply). Null when there is nothing (left) to do: no restore mirrors the run, or it is not executing
   * (any more) — a restore whose run ended meanwhile is settled first.
   */
  async workOf(runId: string): Promise<RestoreWork | null> {
    const row = await this.store.byRun(runId);
    if (!row) return null;
    const settled = await this.reconcile(row);
    if (settled.status !== 'executing') return null;
    const items = await this.store.items(row.id);
    const toApply = items.filter((item) => item.result === null && item.action !== 'unchanged').map((item) => item.external_id);
    const captured = new Map((await this.deps.backups.captured(row.backup_set_id, toApply)).map((item) => [item.external_id, item.settings]));
    return {
      restoreId: row.id,
      tenantId: row.tenant_id,
      items: items.map((item) => ({
        externalId: item.external_id,
        name: item.name,
        policyType: item.policy_type,
        action: item.action,
        result: item.result,
        errorCode: item.error_code,
        settings: captured.get(item.external_id) ?? null,
      })),
    };
  }

  /** Records what happened to one item, once: false when it already had a result (a redelivered job). */
  async recordItem(restoreId: string, externalId: string, result: RestoreItemResult, errorCode: string | null = null): Promise<boolean> {
    return this.store.markItem(restoreId, externalId, result, errorCode);
  }

  /** Ends the restore of a run from the run's outcome, once the run has completed (the driver's last step). */
  async settle(runId: string): Promise<RestoreStatus | null> {
    const row = await this.store.byRun(runId);
    return row ? (await this.reconcile(row)).status : null;
  }

  // ---------------------------------------------------------------------------------------------------------

  private async require(tenantId: string, id: string): Promise<RestoreRow> {
    const row = await this.store.get(tenantId, id);
    if (!row) throw notFound('The restore');
    return row;
  }

  /**
   * An executing restore whose run has completed (its driver ended it, or the run was swept as worker_lost
   * when the worker died) takes its end from the run's outcome, persisted at once.
   */
  private async reconcile(row: RestoreRow): Promise<RestoreRow> {
    if (row.status !== 'executing') return row;
    const run = row.run_id ? await this.deps.runs.get(row.tenant_id, row.run_id) : null;
    if (run && (run.status !== 'completed' || run.outcome === 'pending')) return row;
    const to = run ? SETTLED[run.outcome as Exclude<RunOutcome, 'pending'>] : 'failed';
    await this.store.transition(row.tenant_id, row.id, ['executing'], to);
    return (await this.store.get(row.tenant_id, row.id)) ?? row;
  }

  /** A discarded restore's run that is somehow still active (its discard was cut short) is ended now. */
  private async endDiscardedRun(row: RestoreRow): Promise<void> {
    const run = await this.deps.runs.get(row.tenant_id, row.run_id!);
    if (run && run.status !== 'completed') await this.deps.lifecycle.fail(run.id, DISCARDED, RESTORE_RECONCILE);
  }

  private async view(row: RestoreRow): Promise<RestoreView> {
    const items = await this.store.items(row.id);
    const counts = emptyCounts();
    for (const item of items) counts[item.action] += 1;
    return { ...summaryOf(row, counts), items: items.map(itemView) };
  }
}
