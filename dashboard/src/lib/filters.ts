// The board's filters live in the URL (bookmarkable, shareable): ?type=…&bucket=…&range=24h, or a custom
// range as ISO instants: ?from=2026-11-23T08:00:00.000Z&to=2026-11-23T12:00:00.000Z (then `range` is left out).
import { isCustomRange, type BoardFilter } from './runs-store.ts';
import { BUCKETS, DEFAULT_RANGE, isBucket, isRange, RANGE_LABELS, type Bucket } from './vocabulary.ts';

const TYPE = /^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$/;
const MAX_VALUES = 20;
/** A full date with a time (an offset or Z optional): what `toISOString` writes and people paste. */
const ISO_INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})?$/;

export function parseFilter(params: Pick<URLSearchParams, 'get' | 'getAll'>): BoardFilter {
  const types = [...new Set(params.getAll('type').filter((t) => TYPE.test(t) && t.length <= 100))].slice(0, MAX_VALUES);
  const buckets = BUCKETS.filter((b) => params.getAll('bucket').includes(b));
  const range = params.get('range') ?? '';
  const from = parseInstant(params.get('from'));
  const to = parseInstant(params.get('to'));
  return {
    types,
    buckets,
    range: isRange(range) ? range : DEFAULT_RANGE,
    ...(from !== null ? { from } : {}),
    ...(to !== null ? { to } : {}),
  };
}

/** An ISO instant from the URL, normalized (`toISOString`); null when absent or not a date and time. */
export function parseInstant(value: string | null): string | null {
  if (!value || value.length > 40 || !ISO_INSTANT.test(value)) return null;
  const ms = Date.parse(value);
  return Number.isFinite(ms) ? new Date(ms).toISOString() : null;
}

/** The query string of a filter; defaults are left out so the plain board has a plain URL. */
export function filterSearch(filter: BoardFilter): string {
  const params = new URLSearchParams();
  for (const type of filter.types) params.append('type', type);
  for (const bucket of filter.buckets) params.append('bucket', bucket);
  if (isCustomRange(filter)) {
    if (filter.from !== undefined) params.set('from', filter.from);
    if (filter.to !== undefined) params.set('to', filter.to);
  } else if (filter.range !== DEFAULT_RANGE) params.set('range', filter.range);
  const search = params.toString();
  return search ? `?${search}` : '';
}

export function toggleBucket(filter: BoardFilter, bucket: Bucket): BoardFilter {
  const buckets = filter.buckets.includes(bucket) ? filter.buckets.filter((b) => b !== bucket) : [...filter.buckets, bucket];
  return { ...filter, buckets: BUCKETS.filter((b) => buckets.includes(b)) };
}

/** Adds or removes one type; the order follows `order` (the types as offered) so the URL stays stable. */
export function toggleType(filter: BoardFilter, type: string, order: readonly string[]): BoardFilter {
  const types = filter.types.includes(type) ? filter.types.filter((t) => t !== type) : [...filter.types, type];
  const rank = (t: string) => (order.includes(t) ? order.indexOf(t) : order.length);
  return { ...filter, types: types.toSorted((a, b) => rank(a) - rank(b) || a.localeCompare(b)) };
}

/** A preset range; any custom range goes. */
export function withPreset(filter: BoardFilter, range: BoardFilter['range']): BoardFilter {
  return { types: filter.types, buckets: filter.buckets, range };
}

/** A custom range from the two datetime-local inputs (local time); an error message when it cannot be used. */
export function withCustomRange(
  filter: BoardFilter,
  fromLocal: string,
  toLocal: string,
): { filter: BoardFilter } | { error: string } {
  const from = fromLocal ? fromLocalInput(fromLocal) : null;
  const to = toLocal ? fromLocalInput(toLocal) : null;
  if ((fromLocal && from === null) || (toLocal && to === null)) return { error: 'Enter a complete date and time.' };
  if (from === null && to === null) return { error: 'Enter a start, an end, or both.' };
  if (from !== null && to !== null && Date.parse(from) >= Date.parse(to)) return { error: 'The end must be after the start.' };
  return {
    filter: {
      types: filter.types,
      buckets: filter.buckets,
      range: DEFAULT_RANGE,
      ...(from !== null ? { from } : {}),
      ...(to !== null ? { to } : {}),
    },
  };
}

const pad = (n: number) => String(n).padStart(2, '0');

/** An instant as a datetime-local input shows it: `YYYY-MM-DDTHH:mm` in the viewer's time zone. */
export function toLocalInput(iso: string | undefined): string {
  if (!iso) return '';
  const d = new Date(iso);
  if (!Number.isFinite(d.getTime())) return '';
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

/** A datetime-local value (the viewer's time zone) as an ISO instant; null when it is not one. */
export function fromLocalInput(value: string): string | null {
  const match = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?/.exec(value);
  if (!match) return null;
  const [, y, mo, d, h, mi, s] = match;
  const date = new Date(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s ?? 0));
  return Number.isFinite(date.getTime()) ? date.toISOString() : null;
}

const short = new Intl.DateTimeFormat(undefined, { month: 'short', day: 'numeric', hour: 'numeric', minute: '2-digit' });

/** The range in words, for the board's subtitle: `last 24 hours`, `Nov 23, 8:00 AM – Nov 23, 12:00 PM`, … */
export function rangeLabel(filter: BoardFilter): string {
  const at = (iso: string) => short.format(new Date(iso));
  if (filter.from && filter.to) return `${at(filter.from)} – ${at(filter.to)}`;
  if (filter.from) return `since ${at(filter.from)}`;
  if (filter.to) return `30 days up to ${at(filter.to)}`;
  return RANGE_LABELS[filter.range].toLowerCase();
}

export function isFiltered(filter: BoardFilter): boolean {
  return filter.types.length > 0 || filter.buckets.length > 0 || filter.range !== DEFAULT_RANGE || isCustomRange(filter);
}

export { isBucket, isCustomRange };
