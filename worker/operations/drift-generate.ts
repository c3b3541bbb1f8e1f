import { diffSettings, FieldPresenter } from '../../db/drift/diff.ts';
import type { DriftScope, DriftService } from '../../db/drift/service.ts';
import type { NewFinding } from '../../db/drift/store.ts';
import type { ComparedPolicy, InventoryService } from '../../db/inventory/service.ts';
import type { OperationHandler } from '../runner.ts';

/**
 * Compares two inventory snapshots (docs/api.md §10) and stores a finding per policy added, removed or
 * modified. Counts: one item per policy compared, unchanged ones included. Both snapshots are walked side
 * by side a window at a time and findings are written per window, so memory is bounded by a window.
 */
export function driftGenerate(deps: { inventory: InventoryService; drift: DriftService }): OperationHandler<DriftScope> {
  return async (ctx) => {
    const { baselineRunId, currentRunId } = ctx.scope;
    // The starter checked both; re-checked here because a sync can be purged while this run waits.
    const [baseline, current] = await Promise.all([
      deps.inventory.snapshot(ctx.tenant.id, baselineRunId),
      deps.inventory.snapshot(ctx.tenant.id, currentRunId),
    ]);
    if (!baseline || !current) {
      ctx.abort({ code: 'inventory_not_found', message: `The ${baseline ? 'current' : 'baseline'} inventory snapshot is not a successful sync of this tenant (any more).` });
      return;
    }
    ctx.setTotal(await deps.inventory.unionSize(baselineRunId, currentRunId));
    const presenter = new FieldPresenter();
    for await (const window of deps.inventory.walk(baselineRunId, currentRunId)) {
      ctx.signal.throwIfAborted();
      const differing = window.filter((p) => !p.baseline || !p.current || p.baseline.settings_hash !== p.current.settings_hash);
      // Settings may be large (up to 256 KB a policy): read and diff the differing ones a few at a time, and
      // write the window's findings in as few statements as a bounded buffer allows.
      const pending: NewFinding[] = [];
      let buffered = 0;
      for (let start = 0; start < differing.length; start += SETTINGS_BATCH) {
        const findings = await findingsOf(deps.inventory, presenter, baselineRunId, currentRunId, differing.slice(start, start + SETTINGS_BATCH));
        pending.push(...findings);
        buffered += findings.reduce((sum, f) => sum + f.fields.length, 0);
        if (buffered >= MAX_BUFFERED_FIELDS) {
          await deps.drift.record(ctx.run.id, ctx.tenant.id, pending.splice(0));
          buffered = 0;
        }
      }
      await deps.drift.record(ctx.run.id, ctx.tenant.id, pending);
      ctx.succeeded(window.length);
    }
  };
}

/** Policies whose settings are held in memory at once while they are diffed. */
const SETTINGS_BATCH = 50;
/** Findings are written once this many fields are waiting (each at most ~400 characters), or per window. */
const MAX_BUFFERED_FIELDS = 10_000;

/** The findings of policies that differ (settings are read only for those). */
async function findingsOf(inventory: InventoryService, presenter: FieldPresenter, baselineRunId: string, currentRunId: string, differing: ComparedPolicy[]): Promise<NewFinding[]> {
  const [before, after] = await Promise.all([
    inventory.settingsOf(baselineRunId, differing.filter((p) => p.baseline).map((p) => p.externalId)),
    inventory.settingsOf(currentRunId, differing.filter((p) => p.current).map((p) => p.externalId)),
  ]);
  return differing.map((policy) => {
    const shown = (policy.current ?? policy.baseline)!;
    const { fields, omitted } = diffSettings(before.get(policy.externalId) ?? null, after.get(policy.externalId) ?? null, presenter);
    return {
      externalId: policy.externalId,
      name: shown.name,
      policyType: shown.policy_type,
      change: !policy.baseline ? 'added' : !policy.current ? 'removed' : 'modified',
      fields,
      fieldsOmitted: omitted,
    };
  });
}
