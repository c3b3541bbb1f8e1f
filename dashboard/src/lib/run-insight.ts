// What a run's type usually does (docs/api.md §11 baselines) in words, for the run detail: the ETA of a running
// run and the type's figures over 30 days. Pure; the figures come from `Baselines` (baselines.svelte.ts).
import type { TypeBaseline } from '../../../server/http/contract.ts';
import { duration, formatCount } from './format.ts';

/** A rough length of time: "8 s", "45 s", "2 min", "1 h 20 min", "2 d 3 h". */
export function roughDuration(ms: number): string {
  const s = Math.max(0, ms) / 1000;
  if (s < 10) return `${Math.max(1, Math.round(s))} s`;
  if (s < 60) return `${Math.min(55, Math.round(s / 5) * 5)} s`;
  const min = Math.round(s / 60);
  if (min < 60) return `${min} min`;
  const h = Math.floor(min / 60);
  if (h < 48) return min % 60 === 0 ? `${h} h` : `${h} h ${min % 60} min`;
  const d = Math.floor(h / 24);
  return h % 24 === 0 ? `${d} d` : `${d} d ${h % 24} h`;
}

/** "≈ 2 min left"; "finishing…" once under a second. */
export function etaLabel(ms: number): string {
  return ms < 1000 ? 'finishing…' : `≈ ${roughDuration(ms)} left`;
}

/** Where the estimate comes from: the run's own rate once it has processed part of a known total, else its type's median. */
export function etaBasis(run: { counts: { total: number; processed: number } }): string {
  return run.counts.total > 0 && run.counts.processed > 0 ? 'Estimated from this run’s own rate' : 'Estimated from the usual duration of this operation type';
}

/** "4.2%", "0%", "100%"; "—" without runs. */
export function failureRateText(rate: number | null): string {
  if (rate === null || !Number.isFinite(rate)) return '—';
  const pct = Math.min(100, Math.max(0, rate * 100));
  if (pct === 0 || pct === 100) return `${pct}%`;
  return `${pct < 10 ? pct.toFixed(1).replace(/\.0$/, '') : Math.round(pct)}%`;
}

export type BaselineFact = { label: string; value: string };

/** The type's figures as the detail lists them; empty when no run of it completed in the last 30 days. */
export function baselineFacts(baseline: Pick<TypeBaseline, 'runs30d' | 'failureRate30d' | 'p50DurationMs' | 'p95DurationMs'> | undefined): BaselineFact[] {
  if (!baseline || baseline.runs30d === 0) return [];
  const ms = (value: number | null) => (value === null ? '—' : duration(value));
  return [
    { label: 'Usual duration (p50)', value: ms(baseline.p50DurationMs) },
    { label: 'Slower than usual after (p95)', value: ms(baseline.p95DurationMs) },
    { label: 'Failure rate (30 days)', value: failureRateText(baseline.failureRate30d) },
    { label: 'Runs (30 days)', value: formatCount(baseline.runs30d) },
  ];
}
