// Drift findings as the Drift page shows them (docs/api.md §10): grouped by change in a fixed order, with the
// generation and the change filter in the URL (?run=<id>&change=added). Pure.
import type { DriftFindingsPage } from '../../../server/http/contract.ts';

export type DriftFinding = DriftFindingsPage['findings'][number];
export type DriftChange = DriftFinding['change'];
export type DriftField = DriftFinding['fields'][number];

/** Every change, in the order the page lists them (the type makes the list complete). */
export const CHANGE_LABELS: Record<DriftChange, { label: string; plural: string; verb: string }> = {
  added: { label: 'Added', plural: 'Added policies', verb: 'added' },
  removed: { label: 'Removed', plural: 'Removed policies', verb: 'removed' },
  modified: { label: 'Modified', plural: 'Modified policies', verb: 'modified' },
};
export const CHANGES = Object.keys(CHANGE_LABELS) as DriftChange[];

export function isChange(value: string): value is DriftChange {
  return Object.hasOwn(CHANGE_LABELS, value);
}

export type DriftFilter = { run: string | null; change: DriftChange | null };

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A `run` that cannot name a run is left out (the latest generation is shown), like an unknown change. */
export function parseDriftFilter(params: Pick<URLSearchParams, 'get'>): DriftFilter {
  const run = params.get('run') ?? '';
  const change = params.get('change') ?? '';
  return { run: UUID.test(run) ? run.toLowerCase() : null, change: isChange(change) ? change : null };
}

export function driftSearch(filter: DriftFilter): string {
  const params = new URLSearchParams();
  if (filter.run) params.set('run', filter.run);
  if (filter.change) params.set('change', filter.change);
  const text = params.toString();
  return text ? `?${text}` : '';
}

export type FindingGroup = { change: DriftChange; findings: DriftFinding[] };

/** Findings by change, in CHANGES order; a change without findings (loaded) is left out. */
export function groupByChange(findings: readonly DriftFinding[]): FindingGroup[] {
  return CHANGES.map((change) => ({ change, findings: findings.filter((f) => f.change === change) })).filter((g) => g.findings.length > 0);
}

/** "1 added · 1 removed · 2 modified", or "No differences". */
export function changeSummary(counts: Record<DriftChange, number>): string {
  const parts = CHANGES.filter((c) => counts[c] > 0).map((c) => `${counts[c]} ${CHANGE_LABELS[c].verb}`);
  return parts.length > 0 ? parts.join(' · ') : 'No differences';
}
