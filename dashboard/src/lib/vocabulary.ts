// The run vocabulary as the dashboard shows it. The lists come from the run's own model (db/runs/model.ts, pure:
// no I/O, safe in the browser), so buckets and time ranges cannot drift from what the server counts.
import type { NotificationView } from '../../../server/live/events.ts';
import { RUN_BUCKETS, STATS_WINDOWS, type RunBucket, type StatsWindow } from '../../../db/runs/model.ts';

export type Bucket = RunBucket;
export type NotificationLevel = NotificationView['level'];

export const BUCKETS = RUN_BUCKETS;

export const BUCKET_LABELS: Record<Bucket, string> = {
  queued: 'Queued',
  running: 'Running',
  succeeded: 'Succeeded',
  partially_succeeded: 'Partially succeeded',
  failed: 'Failed',
};

/** Short labels for tight places (counters on the wall). */
export const BUCKET_SHORT: Record<Bucket, string> = {
  queued: 'Queued',
  running: 'Running',
  succeeded: 'Succeeded',
  partially_succeeded: 'Partial',
  failed: 'Failed',
};

export function isBucket(value: string): value is Bucket {
  return (BUCKETS as readonly string[]).includes(value);
}

/** Time-range presets of the board: the windows of /stats (docs/api.md §3), in milliseconds. */
export const RANGES = Object.fromEntries(
  Object.entries(STATS_WINDOWS).map(([range, seconds]) => [range, seconds * 1000]),
) as Record<StatsWindow, number>;
export type RangePreset = StatsWindow;
export const DEFAULT_RANGE: RangePreset = '30d';
export const RANGE_LABELS: Record<RangePreset, string> = {
  '1h': 'Last hour',
  '24h': 'Last 24 hours',
  '7d': 'Last 7 days',
  '30d': 'Last 30 days',
};

export function isRange(value: string): value is RangePreset {
  return Object.hasOwn(RANGES, value);
}

/** `backup_set.add_policies` → `Backup set · add policies`, for types the catalog gave no label for. */
export function typeFallbackLabel(type: string): string {
  const [resource = type, ...action] = type.split('.');
  const words = (s: string) => s.replaceAll('_', ' ');
  const head = words(resource);
  const label = head.charAt(0).toUpperCase() + head.slice(1);
  return action.length > 0 ? `${label} · ${words(action.join('.'))}` : label;
}

/** A run's name: its type's label; for a type this install does not know, the server sends the type itself. */
export function runLabel(run: { type: string; label: string }): string {
  return run.label && run.label !== run.type ? run.label : typeFallbackLabel(run.type);
}
