// The board's and the wall's hints (docs/api.md §11): why a running run is "slower than usual", which operation
// types a failure reason hit, which pushes change the reasons. Pure; the figures come from `Baselines` and
// `FailureReasons`.
import type { TypeBaseline } from '../../../server/http/contract.ts';
import type { RunUpdatePayload } from '../../../server/live/events.ts';
import { duration, formatCount } from './format.ts';

/**
 * The slow badge's explanation: `Running 4 min 10 s; usually done within 1 min 30 s (p95 of 42 runs in
 * 30 days)`. `elapsedMs` is the time since the run started.
 */
export function slowExplanation(elapsedMs: number, baseline: Pick<TypeBaseline, 'runs30d' | 'p95DurationMs'>): string {
  const usual = baseline.p95DurationMs === null ? '' : `; usually done within ${duration(baseline.p95DurationMs)}`;
  const basis = baseline.runs30d > 0 ? ` (p95 of ${formatCount(baseline.runs30d)} run${baseline.runs30d === 1 ? '' : 's'} in 30 days)` : '';
  return `Running ${duration(elapsedMs)}${usual}${usual ? basis : ''}`;
}

/** Operation types by label, the first few named: `Demo batch, Inventory sync +2 more`; `—` for none. */
export function typesText(types: readonly string[], labelOf: (type: string) => string, shown = 2): string {
  if (types.length === 0) return '—';
  const labels = [...new Set(types.map(labelOf))].sort((a, b) => a.localeCompare(b));
  const head = labels.slice(0, shown).join(', ');
  return labels.length > shown ? `${head} +${labels.length - shown} more` : head;
}

/** Whether a push can change the failure reasons: a run of this tenant that completed with failures. */
export function changesReasons(payload: Pick<RunUpdatePayload, 'tenant' | 'kind'> & { run: Pick<RunUpdatePayload['run'], 'failureCount'> }, tenant: string): boolean {
  return payload.tenant === tenant && payload.kind === 'completed' && payload.run.failureCount > 0;
}
