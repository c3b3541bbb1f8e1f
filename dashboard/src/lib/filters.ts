// The board's filters live in the URL (bookmarkable, shareable): ?type=…&bucket=…&range=24h.
import type { BoardFilter } from './runs-store.ts';
import { BUCKETS, DEFAULT_RANGE, isBucket, isRange, type Bucket } from './vocabulary.ts';

const TYPE = /^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$/;
const MAX_VALUES = 20;

export function parseFilter(params: Pick<URLSearchParams, 'get' | 'getAll'>): BoardFilter {
  const types = [...new Set(params.getAll('type').filter((t) => TYPE.test(t) && t.length <= 100))].slice(0, MAX_VALUES);
  const buckets = BUCKETS.filter((b) => params.getAll('bucket').includes(b));
  const range = params.get('range') ?? '';
  return { types, buckets, range: isRange(range) ? range : DEFAULT_RANGE };
}

/** The query string of a filter; defaults are left out so the plain board has a plain URL. */
export function filterSearch(filter: BoardFilter): string {
  const params = new URLSearchParams();
  for (const type of filter.types) params.append('type', type);
  for (const bucket of filter.buckets) params.append('bucket', bucket);
  if (filter.range !== DEFAULT_RANGE) params.set('range', filter.range);
  const search = params.toString();
  return search ? `?${search}` : '';
}

export function toggleBucket(filter: BoardFilter, bucket: Bucket): BoardFilter {
  const buckets = filter.buckets.includes(bucket) ? filter.buckets.filter((b) => b !== bucket) : [...filter.buckets, bucket];
  return { ...filter, buckets: BUCKETS.filter((b) => buckets.includes(b)) };
}

export function isFiltered(filter: BoardFilter): boolean {
  return filter.types.length > 0 || filter.buckets.length > 0 || filter.range !== DEFAULT_RANGE;
}

export { isBucket };
