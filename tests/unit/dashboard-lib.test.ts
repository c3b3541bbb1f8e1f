// The dashboard's pure helpers: URL filters (search and failure reasons too), failure grouping and export, time
// and rate formatting, the board's hints (slower than usual, reasons' types).
import { describe, expect, it } from 'vitest';
import { changesReasons, slowExplanation, typesText } from '../../dashboard/src/lib/board-insight.ts';
import { failuresCsv, groupFailures } from '../../dashboard/src/lib/failures.ts';
import {
  filterSearch,
  isFiltered,
  isServerFiltered,
  MAX_SEARCH,
  parseFilter,
  searchEmptyText,
  searchText,
  statsWindow,
  toggleBucket,
  toggleFailureCode,
  toLocalInput,
  withCustomRange,
  withFailureCodes,
  withPreset,
  withSearch,
} from '../../dashboard/src/lib/filters.ts';
import { duration, etaText, rate, relativeTime, timeLeft } from '../../dashboard/src/lib/format.ts';
import { safeNext } from '../../dashboard/src/lib/navigation.ts';
import { RunsStore, type BoardFilter, type BoardRun } from '../../dashboard/src/lib/runs-store.ts';

describe('board filters in the URL', () => {
  it('round-trips types, buckets and range, leaving defaults out', () => {
    const filter = parseFilter(new URLSearchParams('type=demo.batch&bucket=failed&bucket=running&range=24h'));
    expect(filter).toEqual({ types: ['demo.batch'], buckets: ['running', 'failed'], range: '24h' });
    expect(filterSearch(filter)).toBe('?type=demo.batch&bucket=running&bucket=failed&range=24h');
    expect(filterSearch(parseFilter(new URLSearchParams('')))).toBe('');
  });

  it('ignores values that are not types, buckets or presets', () => {
    const filter = parseFilter(new URLSearchParams('type=DROP%20TABLE&type=demo&bucket=nope&range=5y'));
    expect(filter).toEqual({ types: [], buckets: [], range: '30d' });
  });

  it('toggles a bucket on and off, in a stable order', () => {
    const base = parseFilter(new URLSearchParams('bucket=failed'));
    expect(toggleBucket(base, 'queued').buckets).toEqual(['queued', 'failed']);
    expect(toggleBucket(base, 'failed').buckets).toEqual([]);
  });
});

describe('failures', () => {
  const failures = [
    { code: 'item_failed', message: 'Boom', item: 'a' },
    { code: 'timeout', message: 'Took too long', item: 'b' },
    { code: 'item_failed', message: 'Boom', item: 'c' },
    { code: 'item_failed', message: 'Other boom' },
  ];

  it('groups by code, most frequent first, with items and distinct messages', () => {
    expect(groupFailures(failures)).toEqual([
      { code: 'item_failed', count: 3, messages: ['Boom', 'Other boom'], items: ['a', 'c'] },
      { code: 'timeout', count: 1, messages: ['Took too long'], items: ['b'] },
    ]);
  });

  it('exports CSV that quotes and defuses spreadsheet formulas', () => {
    const csv = failuresCsv([{ code: 'x', message: '=HYPERLINK("evil")', item: 'say "hi"' }]);
    expect(csv).toBe('code,message,item\r\n"x","\'=HYPERLINK(""evil"")","say ""hi"""\r\n');
  });
});

describe('formatting', () => {
  const now = Date.parse('2026-11-23T12:00:00Z');
  it('relative times and durations', () => {
    expect(relativeTime('2026-11-23T11:59:58Z', now)).toBe('just now');
    expect(relativeTime('2026-11-23T11:59:00Z', now)).toBe('1 min ago');
    expect(relativeTime('2026-11-21T12:00:00Z', now)).toBe('2 d ago');
    expect(duration(850)).toBe('850 ms');
    expect(duration(42_000)).toBe('42 s');
    expect(duration(185_000)).toBe('3 min 05 s');
  });

  it('measures the rate between start and last change, and counts the estimate down', () => {
    const run = {
      counts: { total: 100, processed: 50 },
      startedAt: '2026-11-23T11:59:50Z',
      updatedAt: '2026-11-23T12:00:00Z',
    };
    expect(rate(run)).toBe(5);
    expect(timeLeft(run, 5, now)).toBe(10_000);
    expect(timeLeft(run, 5, now + 4_000)).toBe(6_000);
    expect(etaText(6_000)).toBe('~6 s left');
    expect(etaText(400)).toBe('finishing…');
  });
});

describe('sign-in redirect target', () => {
  it.each([
    ['/t/acme/operations?bucket=failed', '/t/acme/operations?bucket=failed'],
    ['//evil.example/x', '/'],
    ['https://evil.example', '/'],
    ['/\\evil.example', '/'],
    ['/login?next=/x', '/'],
    [null, '/'],
  ])('%s → %s', (next, expected) => {
    expect(safeNext(next)).toBe(expected);
  });
});

describe('board search, failure reasons and "slower than usual"', () => {
  const NOW = Date.parse('2026-11-23T12:00:00.000Z');
  const boardRun = (over: Partial<BoardRun> = {}): BoardRun => ({
    id: '00000000-0000-4000-8000-000000000001',
    tenant: 'acme',
    label: 'Demo batch',
    type: 'demo.batch',
    status: 'running',
    outcome: 'pending',
    bucket: 'running',
    counts: { total: 10, processed: 2, succeeded: 2, failed: 0, skipped: 0 },
    failureCount: 0,
    scope: {},
    initiator: null,
    createdAt: new Date(NOW - 60_000).toISOString(),
    startedAt: new Date(NOW - 50_000).toISOString(),
    completedAt: null,
    updatedAt: new Date(NOW - 1_000).toISOString(),
    version: 2,
    related: [],
    ...over,
  });

  it('round-trips q and repeated failureCode with the other filters, leaving them out when unset', () => {
    const filter = parseFilter(new URLSearchParams('type=demo.batch&q=nightly%20sync&failureCode=worker_lost&failureCode=timeout&range=24h'));
    expect(filter).toEqual({ types: ['demo.batch'], buckets: [], range: '24h', q: 'nightly sync', failureCodes: ['worker_lost', 'timeout'] });
    expect(filterSearch(filter)).toBe('?type=demo.batch&q=nightly+sync&failureCode=worker_lost&failureCode=timeout&range=24h');
    expect(parseFilter(new URLSearchParams(filterSearch(filter)))).toEqual(filter);
    expect(parseFilter(new URLSearchParams('q=&failureCode='))).toEqual({ types: [], buckets: [], range: '30d' });
    expect(filterSearch(parseFilter(new URLSearchParams('q=%20%20')))).toBe('');
  });

  it('takes the search as the API does: trimmed, no control characters, at most 100 characters, whole characters', () => {
    expect(parseFilter(new URLSearchParams('q=%20%20Worker_Lost%20')).q).toBe('Worker_Lost');
    expect(parseFilter(new URLSearchParams('q=a%00b')).q).toBe('a b');
    expect(searchText('x'.repeat(150))).toHaveLength(MAX_SEARCH);
    // An emoji (two UTF-16 units) across the limit is dropped whole rather than cut in half (a 400).
    const cut = searchText(`${'x'.repeat(99)}😀tail`);
    expect(cut).toBe('x'.repeat(99));
    expect(searchText('100% _literal\\')).toBe('100% _literal\\');
  });

  it('keeps only snake_case failure codes of at most 64 characters, once each, at most 20', () => {
    const codes = parseFilter(new URLSearchParams('failureCode=worker_lost&failureCode=Worker_Lost&failureCode=1x&failureCode=a-b&failureCode=worker_lost')).failureCodes;
    expect(codes).toEqual(['worker_lost']);
    expect(parseFilter(new URLSearchParams(`failureCode=${'a'.repeat(65)}`)).failureCodes).toBeUndefined();
    const many = new URLSearchParams(Array.from({ length: 25 }, (_, i): [string, string] => ['failureCode', `code_${i}`]));
    expect(parseFilter(many).failureCodes).toHaveLength(20);
  });

  it('search and reasons survive other filter changes, and count as filtering', () => {
    const base: BoardFilter = { types: [], buckets: [], range: '24h', q: 'acme', failureCodes: ['timeout'] };
    expect(withPreset(base, '7d')).toEqual({ ...base, range: '7d' });
    expect(toggleBucket(base, 'failed')).toEqual({ ...base, buckets: ['failed'] });
    const custom = withCustomRange(base, toLocalInput('2026-11-23T08:00:00.000Z'), '');
    expect(custom).toMatchObject({ filter: { q: 'acme', failureCodes: ['timeout'], from: '2026-11-23T08:00:00.000Z' } });
    expect(isFiltered({ types: [], buckets: [], range: '30d', q: 'x' })).toBe(true);
    expect(isFiltered({ types: [], buckets: [], range: '30d', failureCodes: ['x'] })).toBe(true);
    expect(isFiltered({ types: [], buckets: [], range: '30d' })).toBe(false);
  });

  it('sets and clears the search, toggles reasons', () => {
    const base: BoardFilter = { types: ['demo.batch'], buckets: [], range: '24h' };
    expect(withSearch(base, '  drift ')).toEqual({ ...base, q: 'drift' });
    expect(withSearch({ ...base, q: 'drift' }, '   ')).toEqual(base);
    const one = toggleFailureCode(base, 'worker_lost');
    expect(one).toEqual({ ...base, failureCodes: ['worker_lost'] });
    const two = toggleFailureCode(one, 'timeout');
    expect(two.failureCodes).toEqual(['worker_lost', 'timeout']);
    expect(toggleFailureCode(two, 'worker_lost').failureCodes).toEqual(['timeout']);
    expect(toggleFailureCode(one, 'worker_lost')).toEqual(base);
    expect(toggleFailureCode(base, 'Not A Code')).toEqual(base);
    expect(withFailureCodes(two, [])).toEqual(base);
  });

  it('the reasons window is the board’s preset range, none for a custom one', () => {
    expect(statsWindow({ types: [], buckets: [], range: '1h' })).toBe('1h');
    expect(statsWindow({ types: [], buckets: [], range: '30d', from: '2026-11-23T08:00:00.000Z' })).toBeNull();
  });

  it('an empty result says what was searched, and where', () => {
    const base: BoardFilter = { types: [], buckets: [], range: '24h' };
    expect(searchEmptyText(base)).toBeNull();
    expect(searchEmptyText({ ...base, q: 'foo' })).toBe('No runs match “foo” in the last 24 hours');
    expect(searchEmptyText({ ...base, range: '7d', failureCodes: ['worker_lost'] })).toBe('No runs with failure reason worker_lost in the last 7 days');
    expect(searchEmptyText({ ...base, q: 'foo', failureCodes: ['a', 'b'] })).toBe('No runs match “foo” with failure reason a or b in the last 24 hours');
    expect(searchEmptyText({ ...base, q: 'foo', from: '2026-11-23T08:00:00.000Z' })).toMatch(/^No runs match “foo” since /);
  });

  it('under a search or reason filter, pushes change shown rows but add none; a re-read decides', () => {
    const filter: BoardFilter = { types: [], buckets: [], range: '30d', q: 'nightly' };
    expect(isServerFiltered(filter)).toBe(true);
    expect(isServerFiltered({ ...filter, q: undefined, failureCodes: ['timeout'] })).toBe(true);
    expect(isServerFiltered({ types: ['demo.batch'], buckets: ['failed'], range: '1h' })).toBe(false);
    const shown = boardRun();
    const other = boardRun({ id: '00000000-0000-4000-8000-000000000002', version: 1, createdAt: new Date(NOW - 30_000).toISOString() });
    const store = new RunsStore(filter);
    store.replace({ runs: [shown], nextCursor: null }, store.mark(), NOW);
    // A new run: the client cannot tell whether it matches the search, so it is not added.
    expect(store.apply(other, NOW)).toBe(false);
    expect(store.rows.map((r) => r.id)).toEqual([shown.id]);
    // A change of a run shown applies in place.
    const progressed = { ...shown, version: 3, counts: { ...shown.counts, processed: 5, succeeded: 5 } };
    expect(store.apply(progressed, NOW)).toBe(true);
    expect(store.rows[0]?.counts.processed).toBe(5);
    // A re-read: a run pushed meanwhile that the read did not return stays out.
    const mark = store.mark();
    store.apply({ ...other, version: 2 }, NOW);
    store.replace({ runs: [progressed], nextCursor: null }, mark, NOW);
    expect(store.rows.map((r) => r.id)).toEqual([shown.id]);
    // Without the search, new runs enter as before.
    store.setFilter({ types: [], buckets: [], range: '30d' });
    expect(store.apply({ ...other, version: 3 }, NOW)).toBe(true);
    expect(store.rows.map((r) => r.id)).toEqual([other.id, shown.id]);
  });

  it('explains "slower than usual" in words', () => {
    expect(slowExplanation(250_000, { runs30d: 42, p95DurationMs: 90_000 })).toBe(
      'Running 4 min 10 s; usually done within 1 min 30 s (p95 of 42 runs in 30 days)',
    );
    expect(slowExplanation(5_000, { runs30d: 1, p95DurationMs: 2_000 })).toBe('Running 5 s; usually done within 2 s (p95 of 1 run in 30 days)');
    expect(slowExplanation(5_000, { runs30d: 0, p95DurationMs: null })).toBe('Running 5 s');
  });

  it('names the types of a reason by label, the first few', () => {
    const labels: Record<string, string> = { 'demo.batch': 'Demo batch', 'inventory.sync': 'Inventory sync', 'drift.generate': 'Drift generation' };
    const labelOf = (type: string) => labels[type] ?? type;
    expect(typesText([], labelOf)).toBe('—');
    expect(typesText(['inventory.sync', 'demo.batch'], labelOf)).toBe('Demo batch, Inventory sync');
    expect(typesText(['inventory.sync', 'demo.batch', 'drift.generate', 'x.y'], labelOf)).toBe('Demo batch, Drift generation +2 more');
  });

  it('re-reads the reasons for runs of its tenant that completed with failures only', () => {
    const run = boardRun({ failureCount: 3 });
    expect(changesReasons({ tenant: 'acme', kind: 'completed', run }, 'acme')).toBe(true);
    expect(changesReasons({ tenant: 'acme', kind: 'progress', run }, 'acme')).toBe(false);
    expect(changesReasons({ tenant: 'acme', kind: 'completed', run: { ...run, failureCount: 0 } }, 'acme')).toBe(false);
    expect(changesReasons({ tenant: 'globex', kind: 'completed', run }, 'acme')).toBe(false);
  });
});
