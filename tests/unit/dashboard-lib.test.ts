// The dashboard's pure helpers: URL filters, failure grouping and export, time and rate formatting.
import { describe, expect, it } from 'vitest';
import { failuresCsv, groupFailures } from '../../dashboard/src/lib/failures.ts';
import { filterSearch, parseFilter, toggleBucket } from '../../dashboard/src/lib/filters.ts';
import { duration, etaText, rate, relativeTime, timeLeft } from '../../dashboard/src/lib/format.ts';
import { safeNext } from '../../dashboard/src/lib/navigation.ts';

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
