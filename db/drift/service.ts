import { driftGenerate } from '../catalog/operations.ts';
import { AppError, notFound, validationFailed } from '../errors.ts';
import { CompletedRunCache } from '../inventory/cache.ts';
import type { InventoryService } from '../inventory/service.ts';
import type { RunOutcome } from '../runs/model.ts';
import type { RunQueries } from '../runs/queries.ts';
import type { DriftChange, DriftField } from './entity.ts';
import { decodeFindingCursor, type DriftStore, type FindingFilters, type NewFinding } from './store.ts';

const DRIFT_TYPE = driftGenerate.type;

export type DriftScope = { baselineRunId: string; currentRunId: string };

/** A generation as the Drift page shows it; `outcome` is `pending` while it runs. */
export type DriftGeneration = {
  runId: string;
  baselineRunId: string;
  currentRunId: string;
  completedAt: string | null;
  outcome: RunOutcome;
};

export type DriftFindingView = {
  id: string;
  policy: { externalId: string; name: string; policyType: string };
  change: DriftChange;
  fields: DriftField[];
  /** Fields that differ beyond those listed (a finding lists at most 200). */
  fieldsOmitted: number;
};

/** `GET …/drift/findings`: one generation's findings (default: the latest successful one). */
export type DriftFindingsPage = {
  generation: DriftGeneration | null;
  counts: Record<DriftChange, number>;
  findings: DriftFindingView[];
  nextCursor: string | null;
};

export type DriftFindingsQuery = FindingFilters & { run?: string };

/** Whether drift can be generated now, and why not. */
export type DriftReadiness = { ok: boolean; reason?: string; successfulSyncs: number };

/** `GET …/drift/status`: what the Drift page's "Generate drift" control needs. */
export type DriftStatus = {
  canGenerate: boolean;
  reason?: string;
  successfulSyncs: number;
  latestSync: { runId: string; completedAt: string } | null;
};

const noCounts = (): Record<DriftChange, number> => ({ added: 0, removed: 0, modified: 0 });
const scopeId = (scope: Record<string, unknown>, key: keyof DriftScope) => (typeof scope[key] === 'string' ? (scope[key] as string) : '');
const NOT_A_SYNC = 'is not a successful inventory sync of this tenant';

/** Drift findings (docs/api.md §10): the rule of which snapshots a generation compares, and its reads. */
export class DriftService {
  constructor(
    private readonly store: DriftStore,
    private readonly inventory: InventoryService,
    private readonly runs: RunQueries,
  ) {}

  readonly #counts = new CompletedRunCache<Record<DriftChange, number>>();

  /**
   * The scope preparer of `drift.generate` (runs before the run exists; a refusal creates nothing). Without
   * ids: the tenant's two latest successful syncs, older as baseline. With both: each must be a successful
   * sync of this tenant (another tenant's run looks missing), and they must differ.
   */
  async prepareScope(tenantId: string, scope: Partial<DriftScope>): Promise<DriftScope> {
    const baselineRunId = scope.baselineRunId?.toLowerCase();
    const currentRunId = scope.currentRunId?.toLowerCase();
    if (baselineRunId === undefined && currentRunId === undefined) {
      const [current, baseline] = await this.inventory.latestSnapshots(tenantId, 2);
      if (!current || !baseline) {
        throw new AppError(
          409,
          'insufficient_inventory',
          `Drift compares two successful inventory syncs and this tenant has ${current ? 'one' : 'none'}. Run an inventory sync${current ? '' : ' twice'} first.`,
        );
      }
      return { baselineRunId: baseline.runId, currentRunId: current.runId };
    }
    if (baselineRunId === undefined || currentRunId === undefined) {
      const missing = baselineRunId === undefined ? 'baselineRunId' : 'currentRunId';
      throw validationFailed([{ path: `scope.${missing}`, message: 'Give both run ids, or neither to compare the two latest syncs.' }]);
    }
    if (baselineRunId === currentRunId) {
      throw validationFailed([{ path: 'scope.currentRunId', message: 'must be a different sync than the baseline' }]);
    }
    const [baseline, current] = await Promise.all([this.inventory.snapshot(tenantId, baselineRunId), this.inventory.snapshot(tenantId, currentRunId)]);
    const details = [
      ...(baseline ? [] : [{ path: 'scope.baselineRunId', message: NOT_A_SYNC }]),
      ...(current ? [] : [{ path: 'scope.currentRunId', message: NOT_A_SYNC }]),
    ];
    if (details.length > 0) throw validationFailed(details);
    return { baselineRunId, currentRunId };
  }

  /** Stores findings of a generation run (the worker's writer). */
  async record(runId: string, tenantId: string, findings: readonly NewFinding[]): Promise<void> {
    if (findings.length > 0) await this.store.insertBatch(runId, tenantId, findings);
  }

  /**
   * A page of a generation's findings: `run` names one (404 unless it is a drift run of this tenant), else
   * the latest successful generation; none yet is an empty answer.
   */
  async findings(tenantId: string, query: DriftFindingsQuery): Promise<DriftFindingsPage> {
    if (query.cursor) decodeFindingCursor(query.cursor);
    const generation = await this.generation(tenantId, query.run);
    if (!generation) return { generation: null, counts: noCounts(), findings: [], nextCursor: null };
    const filters: FindingFilters = { limit: query.limit, ...(query.change ? { change: query.change } : {}), ...(query.cursor ? { cursor: query.cursor } : {}) };
    // A completed generation's counts never change; a running one's are counted afresh.
    const counts = () => this.store.countsByChange(generation.runId);
    const [{ rows, nextCursor }, byChange] = await Promise.all([
      this.store.list(generation.runId, filters),
      generation.completedAt ? this.#counts.get(generation.runId, counts) : counts(),
    ]);
    return {
      generation,
      counts: { ...byChange },
      findings: rows.map((row) => ({
        id: row.id,
        policy: { externalId: row.external_id, name: row.name, policyType: row.policy_type },
        change: row.change,
        fields: row.fields,
        fieldsOmitted: row.fields_omitted,
      })),
      nextCursor,
    };
  }

  /**
   * The SQL of a findings page (`$n` placeholders), for the benchmark to send straight to PostgreSQL; a
   * completed generation's counts are counted once (`countsSql`).
   */
  findingsSql(runId: string, filters: FindingFilters): { sql: string; params: unknown[] } {
    const { sql, parameters } = this.store.listQuery(runId, filters).compile();
    return { sql, params: [...parameters] };
  }

  countsSql(runId: string): { sql: string; params: unknown[] } {
    const { sql, parameters } = this.store.countsQuery(runId).compile();
    return { sql, params: [...parameters] };
  }

  /** Whether a generation can start now: it needs two successful syncs. */
  async canGenerate(tenantId: string): Promise<DriftReadiness> {
    const successfulSyncs = await this.inventory.countSnapshots(tenantId);
    if (successfulSyncs >= 2) return { ok: true, successfulSyncs };
    return {
      ok: false,
      reason:
        successfulSyncs === 0
          ? 'Drift compares two successful inventory syncs; this tenant has none yet.'
          : 'Drift compares two successful inventory syncs; this tenant has one so far. Sync the inventory again.',
      successfulSyncs,
    };
  }

  async status(tenantId: string): Promise<DriftStatus> {
    const [readiness, [latest]] = await Promise.all([this.canGenerate(tenantId), this.inventory.latestSnapshots(tenantId, 1)]);
    return {
      canGenerate: readiness.ok,
      ...(readiness.reason ? { reason: readiness.reason } : {}),
      successfulSyncs: readiness.successfulSyncs,
      latestSync: latest ?? null,
    };
  }

  private async generation(tenantId: string, runId?: string): Promise<DriftGeneration | null> {
    let run;
    if (runId !== undefined) {
      run = await this.runs.get(tenantId, runId);
      if (!run || run.type !== DRIFT_TYPE) throw notFound('The drift generation');
    } else {
      [run] = await this.runs.latestSuccessful(tenantId, DRIFT_TYPE, 1);
      if (!run) return null;
    }
    return {
      runId: run.id,
      baselineRunId: scopeId(run.scope, 'baselineRunId'),
      currentRunId: scopeId(run.scope, 'currentRunId'),
      completedAt: run.completedAt,
      outcome: run.outcome,
    };
  }
}

