// The board's filters live in the URL (bookmarkable, shareable): ?type=…&bucket=…&range=24h, or a custom
// range as ISO instants: ?from=2026-11-23T08:00:00.000Z&to=2026-11-23T12:00:00.000Z (then `range` is left out);
// a search as ?q=… and failure reasons as ?failureCode=worker_lost (repeatable), as the API takes them (§11).
import { isCustomRange, isServerFiltered, type BoardFilter } from './runs-store.ts';
import { BUCKETS, DEFAULT_RANGE, isBucket, isRange, RANGE_LABELS, type Bucket, type RangePreset } from './vocabulary.ts';

const TYPE = /^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$/;
const MAX_VALUES = 20;
/** The API's bounds (server/http/contract.ts runsQuery): `q` 1–100 characters after trimming; codes snake_case, ≤ 64. */
export const MAX_SEARCH = 100;
const FAILURE_CODE = /^[a-z][a-z0-9_]*$/;
const MAX_CODE = 64;
/** A full date with a time (an offset or Z optional): what `toISOString` writes and people paste. */
const ISO_INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})?$/;

export function parseFilter(params: Pick<URLSearchParams, 'get' | 'getAll'>): BoardFilter {
  const types = [...new Set(params.getAll('type').filter((t) => TYPE.test(t) && t.length <= 100))].slice(0, MAX_VALUES);
  const buckets = BUCKETS.filter((b) => params.getAll('bucket').includes(b));
  const range = params.get('range') ?? '';
  const from = parseInstant(params.get('from'));
  const to = parseInstant(params.get('to'));
  const q = searchText(params.get('q') ?? '');
  const failureCodes = [...new Set(params.getAll('failureCode').filter(isFailureCode))].slice(0, MAX_VALUES);
  return {
    types,
    buckets,
    range: isRange(range) ? range : DEFAULT_RANGE,
    ...(from !== null ? { from } : {}),
    ...(to !== null ? { to } : {}),
    ...(q !== '' ? { q } : {}),
    ...(failureCodes.length > 0 ? { failureCodes } : {}),
  };
}

export function isFailureCode(value: string): boolean {
  return value.length <= MAX_CODE && FAILURE_CODE.test(value);
}

/**
 * Search text as the API takes it: control characters (NUL included, a 400) become spaces, surrounding
 * spaces go, at most 100 characters — never half of a character outside the Basic Multilingual Plane.
 */
export function searchText(value: string): string {
  // eslint-disable-next-line no-control-regex
  let text = value.replace(/[\u0000-\u001f\u007f]/g, ' ').trim();
  if (text.length > MAX_SEARCH) {
    text = text.slice(0, MAX_SEARCH);
    if (/[\ud800-\udbff]$/.test(text)) text = text.slice(0, -1);
    text = text.trimEnd();
  }
  return text;
}

/** The search (and failure reasons) of a filter, to carry them over when something else changes. */
function searchPart(filter: BoardFilter): Pick<BoardFilter, 'q' | 'failureCodes'> {
  return {
    ...(filter.q ? { q: filter.q } : {}),
    ...(filter.failureCodes && filter.failureCodes.length > 0 ? { failureCodes: filter.failureCodes } : {}),
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
  if (filter.q) params.set('q', filter.q);
  for (const code of filter.failureCodes ?? []) params.append('failureCode', code);
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
  return { types: filter.types, buckets: filter.buckets, range, ...searchPart(filter) };
}

/** The search as typed (normalized as the API takes it); an empty one removes the search. */
export function withSearch(filter: BoardFilter, text: string): BoardFilter {
  const { q: _q, ...rest } = filter;
  const q = searchText(text);
  return q === '' ? rest : { ...rest, q };
}

/** Adds or removes one failure reason; the others stay, in the order they were chosen. */
export function toggleFailureCode(filter: BoardFilter, code: string): BoardFilter {
  const current = filter.failureCodes ?? [];
  return withFailureCodes(filter, current.includes(code) ? current.filter((c) => c !== code) : [...current, code]);
}

/** These failure reasons (none: no reason filter); the other filters stay. */
export function withFailureCodes(filter: BoardFilter, codes: readonly string[]): BoardFilter {
  const failureCodes = [...new Set(codes.filter(isFailureCode))].slice(0, MAX_VALUES);
  const { failureCodes: _codes, ...rest } = filter;
  return failureCodes.length > 0 ? { ...rest, failureCodes } : rest;
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
      ...searchPart(filter),
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
  return (
    filter.types.length > 0 || filter.buckets.length > 0 || filter.range !== DEFAULT_RANGE || isCustomRange(filter) || isServerFiltered(filter)
  );
}

/** The stats window of the filter's range (counters, failure reasons); null for a custom range, which is not counted. */
export function statsWindow(filter: BoardFilter): RangePreset | null {
  return isCustomRange(filter) ? null : filter.range;
}

/** The range as the end of a sentence: `in the last 24 hours`, `since Nov 23, 8:00 AM`, `between … and …`. */
export function rangePhrase(filter: BoardFilter): string {
  const at = (iso: string) => short.format(new Date(iso));
  if (filter.from && filter.to) return `between ${at(filter.from)} and ${at(filter.to)}`;
  if (filter.from) return `since ${at(filter.from)}`;
  if (filter.to) return `in the 30 days up to ${at(filter.to)}`;
  return `in the ${RANGE_LABELS[filter.range].toLowerCase()}`;
}

/**
 * What an empty board says under a search or reason filter: `No runs match “foo” in the last 24 hours`,
 * `No runs with failure reason worker_lost in the last 7 days`; null without either (the usual empty state applies).
 */
export function searchEmptyText(filter: BoardFilter): string | null {
  const codes = filter.failureCodes ?? [];
  if (!filter.q && codes.length === 0) return null;
  const reasons = codes.length > 0 ? ` with failure reason ${codes.join(' or ')}` : '';
  if (filter.q) return `No runs match “${filter.q}”${reasons} ${rangePhrase(filter)}`;
  return `No runs${reasons} ${rangePhrase(filter)}`;
}

export { isBucket, isCustomRange, isServerFiltered };
