// The run vocabulary as the dashboard shows it. Types come from the one live contract (server/live/events.ts);
// the lists below are checked against those types at compile time, so they cannot drift from the server.
import type { NotificationView, RunView } from '../../../server/live/events.ts';

export type Bucket = RunView['bucket'];
export type NotificationLevel = NotificationView['level'];

export const BUCKETS = ['queued', 'running', 'succeeded', 'partially_succeeded', 'failed'] as const satisfies readonly Bucket[];
// Fails to compile when the contract gains a bucket this list does not show.
const _everyBucket: [Exclude<Bucket, (typeof BUCKETS)[number]>] extends [never] ? true : never = true;
void _everyBucket;

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

/** Time-range presets of the board and of /stats (CONTRACT §3), in milliseconds. */
export const RANGES = { '1h': 3_600_000, '24h': 86_400_000, '7d': 604_800_000, '30d': 2_592_000_000 } as const;
export type RangePreset = keyof typeof RANGES;
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
