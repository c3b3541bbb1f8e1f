// A restore as its page shows it (docs/api.md §10): where it is in draft → previewed → executing → completed |
// completed_with_errors | failed (or discarded), what its preview would change, and the sentence the execute
// confirmation asks about. Pure. The server holds the transition rules (409 when out of order); the page only
// offers what would be accepted.
import type { RestoreAnswer } from '../../../server/http/contract.ts';

export type Restore = RestoreAnswer['restore'];
type RestoreView = Restore;
export type RestoreStatus = RestoreView['status'];
export type RestoreItem = RestoreView['items'][number];
export type RestoreAction = RestoreItem['action'];
export type RestoreCounts = RestoreView['counts'];
export type RestoreResult = NonNullable<RestoreItem['result']>;

export const STATUS_LABELS: Record<RestoreStatus, string> = {
  draft: 'Draft',
  previewed: 'Previewed',
  executing: 'Executing',
  completed: 'Completed',
  completed_with_errors: 'Completed with errors',
  failed: 'Failed',
  discarded: 'Discarded',
};

/** Actions in the order the preview lists them (the type makes the list complete). */
export const ACTION_LABELS: Record<RestoreAction, { label: string; heading: string; verb: string }> = {
  create: { label: 'Create', heading: 'Created', verb: 'created' },
  update: { label: 'Update', heading: 'Updated', verb: 'updated' },
  unchanged: { label: 'Unchanged', heading: 'Unchanged', verb: 'unchanged' },
};
export const ACTIONS = Object.keys(ACTION_LABELS) as RestoreAction[];

export const RESULT_LABELS: Record<RestoreResult, string> = { applied: 'Applied', failed: 'Failed', skipped: 'Skipped' };

const EDITABLE: readonly RestoreStatus[] = ['draft', 'previewed'];
const SETTLED: readonly RestoreStatus[] = ['completed', 'completed_with_errors', 'failed', 'discarded'];

export const canPreview = (status: RestoreStatus) => EDITABLE.includes(status);
export const canDiscard = (status: RestoreStatus) => EDITABLE.includes(status);
export const canExecute = (status: RestoreStatus) => status === 'previewed';
export const isSettled = (status: RestoreStatus) => SETTLED.includes(status);

export type StepState = 'done' | 'current' | 'upcoming' | 'warning' | 'failed' | 'stopped';
export type Step = { key: string; label: string; state: StepState };

/**
 * The stepper: draft → previewed → executing → the end (its label and tone from the status). A discarded
 * restore ends where it stopped: after the draft, or after its preview (`previewed`: it had one, i.e. a run).
 */
export function restoreSteps(status: RestoreStatus, previewed: boolean): Step[] {
  if (status === 'discarded') {
    return [
      { key: 'draft', label: 'Draft', state: 'done' },
      ...(previewed ? [{ key: 'previewed', label: 'Previewed', state: 'done' as const }] : []),
      { key: 'discarded', label: 'Discarded', state: 'stopped' },
    ];
  }
  const order: RestoreStatus[] = ['draft', 'previewed', 'executing'];
  const at = order.indexOf(status);
  const steps: Step[] = order.map((key, index) => ({
    key,
    label: STATUS_LABELS[key],
    state: at === -1 || index < at ? 'done' : index === at ? 'current' : 'upcoming',
  }));
  const end: Step =
    status === 'completed_with_errors'
      ? { key: 'end', label: STATUS_LABELS.completed_with_errors, state: 'warning' }
      : status === 'failed'
        ? { key: 'end', label: STATUS_LABELS.failed, state: 'failed' }
        : { key: 'end', label: STATUS_LABELS.completed, state: status === 'completed' ? 'done' : 'upcoming' };
  return [...steps, end];
}

const policies = (n: number) => `${n} ${n === 1 ? 'policy' : 'policies'}`;

/** How many policies executing would change. */
export function changing(counts: RestoreCounts): number {
  return counts.create + counts.update;
}

/**
 * What executing does, in one sentence for its confirmation: "Restore 7 policies: 3 created, 4 updated.
 * 12 unchanged are skipped." (parts that are zero are left out).
 */
export function executeSummary(counts: RestoreCounts): string {
  const total = changing(counts);
  const skipped = counts.unchanged === 0 ? '' : ` ${counts.unchanged} unchanged ${counts.unchanged === 1 ? 'is' : 'are'} skipped.`;
  if (total === 0) return `Nothing to restore: ${counts.unchanged === 1 ? 'the policy is' : `all ${policies(counts.unchanged)} are`} unchanged.`;
  const parts = (['create', 'update'] as const).filter((a) => counts[a] > 0).map((a) => `${counts[a]} ${ACTION_LABELS[a].verb}`);
  return `Restore ${policies(total)}: ${parts.join(', ')}.${skipped}`;
}

/** Items by action, in ACTIONS order; actions without items are left out. */
export function itemsByAction(items: readonly RestoreItem[]): { action: RestoreAction; items: RestoreItem[] }[] {
  return ACTIONS.map((action) => ({ action, items: items.filter((i) => i.action === action) })).filter((g) => g.items.length > 0);
}

/** Results of an executed restore: how many items ended each way (null results not counted). */
export function resultCounts(items: readonly RestoreItem[]): Record<RestoreResult, number> {
  const counts: Record<RestoreResult, number> = { applied: 0, failed: 0, skipped: 0 };
  for (const item of items) if (item.result) counts[item.result] += 1;
  return counts;
}
