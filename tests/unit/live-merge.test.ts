// The dashboard's merge of live pushes and HTTP reads (dashboard/src/lib/runs-store.ts), in Node: keep the
// highest version, re-read without regressing, rows entering and leaving with the filters, paging.
import { describe, expect, it } from 'vitest';
import {
  compareNewestFirst,
  countTransition,
  matchesFilter,
  RunsStore,
  TRIMMED,
  type BoardFilter,
  type BoardRun,
  type BucketCounts,
} from '../../dashboard/src/lib/runs-store.ts';

const NOW = Date.parse('2026-11-23T12:00:00.000Z');
const ALL: BoardFilter = { types: [], buckets: [], range: '30d' };

let serial = 0;
/** A run created `minutesAgo` before NOW; later overrides describe its next versions. */
function run(over: Partial<BoardRun> & { minutesAgo?: number } = {}): BoardRun {
  const { minutesAgo = 1, ...rest } = over;
  serial += 1;
  const createdAt = new Date(NOW - minutesAgo * 60_000).toISOString();
  return {
    id: `00000000-0000-4000-8000-${String(serial).padStart(12, '0')}`,
    tenant: 'acme',
    label: 'Demo batch',
    type: 'demo.batch',
    status: 'queued',
    outcome: 'pending',
    bucket: 'queued',
    counts: { total: 10, processed: 0, succeeded: 0, failed: 0, skipped: 0 },
    failureCount: 0,
    scope: {},
    initiator: null,
    createdAt,
    startedAt: null,
    completedAt: null,
    updatedAt: createdAt,
    version: 1,
    related: [],
    ...rest,
  };
}

/** The same run at a later version. */
function next(previous: BoardRun, over: Partial<BoardRun>): BoardRun {
  return { ...previous, version: previous.version + 1, ...over };
}

const running = (r: BoardRun, processed: number): BoardRun =>
  next(r, { status: 'running', bucket: 'running', counts: { ...r.counts, processed, succeeded: processed } });
const completed = (r: BoardRun, bucket: 'succeeded' | 'failed' = 'succeeded'): BoardRun =>
  next(r, { status: 'completed', outcome: bucket, bucket, completedAt: new Date(NOW).toISOString() });

function loaded(runs: BoardRun[], filter: BoardFilter = ALL, nextCursor: string | null = null): RunsStore {
  const store = new RunsStore(filter);
  store.replace({ runs: [...runs].sort(compareNewestFirst), nextCursor }, store.mark(), NOW);
  return store;
}

const ids = (store: RunsStore) => store.rows.map((r) => r.id);

describe('version merge', () => {
  it('keeps the highest version when updates arrive out of order', () => {
    const a = run();
    const store = loaded([a]);
    const v2 = running(a, 2);
    const v3 = running(v2, 5);
    expect(store.apply(v3, NOW)).toBe(true);
    expect(store.apply(v2, NOW)).toBe(false); // older than what is shown
    expect(store.rows[0]).toEqual(v3);
    expect(store.rows[0]?.counts.processed).toBe(5);
  });

  it('ignores a duplicate update (same version) without producing new rows', () => {
    const a = run();
    const store = loaded([a]);
    const v2 = running(a, 3);
    expect(store.apply(v2, NOW)).toBe(true);
    const rows = store.rows;
    expect(store.apply({ ...v2 }, NOW)).toBe(false);
    expect(store.rows).toBe(rows); // same array: nothing re-renders
  });

  it('updates a row in place, keeping its position', () => {
    const older = run({ minutesAgo: 10 });
    const middle = run({ minutesAgo: 5 });
    const newer = run({ minutesAgo: 1 });
    const store = loaded([older, middle, newer]);
    expect(ids(store)).toEqual([newer.id, middle.id, older.id]);
    store.apply(running(middle, 4), NOW);
    expect(ids(store)).toEqual([newer.id, middle.id, older.id]);
    expect(store.rows[1]?.bucket).toBe('running');
  });

  it('ignores an older version of a run it has seen but does not show', () => {
    const a = run();
    const store = loaded([], { ...ALL, buckets: ['running'] });
    const v2 = running(a, 1);
    const v3 = completed(v2);
    expect(store.apply(v3, NOW)).toBe(false); // completed: not shown under "running"
    expect(store.apply(v2, NOW)).toBe(false); // late "running" copy must not bring it back
    expect(store.rows).toEqual([]);
  });
});

describe('resync (HTTP re-read)', () => {
  it('replaces the rows with what the API says', () => {
    const a = run({ minutesAgo: 3 });
    const b = run({ minutesAgo: 2 });
    const store = loaded([a, b]);
    const c = run({ minutesAgo: 1 });
    const mark = store.mark();
    store.replace({ runs: [c, completed(b)], nextCursor: null }, mark, NOW); // a was purged, b finished
    expect(ids(store)).toEqual([c.id, b.id]);
    expect(store.rows[1]?.bucket).toBe('succeeded');
  });

  it('does not regress a newer version pushed while the read was under way', () => {
    const a = run();
    const store = loaded([a]);
    const mark = store.mark();
    const readCopy = running(a, 2); // what the database said when the read ran
    const pushed = running(readCopy, 7); // pushed after the read's snapshot, before its answer
    store.apply(pushed, NOW);
    store.replace({ runs: [readCopy], nextCursor: null }, mark, NOW);
    expect(store.rows).toHaveLength(1);
    expect(store.rows[0]?.version).toBe(pushed.version);
    expect(store.rows[0]?.counts.processed).toBe(7);
  });

  it('keeps a run pushed during the read that the read did not include yet', () => {
    const a = run({ minutesAgo: 5 });
    const store = loaded([a]);
    const mark = store.mark();
    const fresh = run({ minutesAgo: 0 });
    store.apply(fresh, NOW);
    store.replace({ runs: [a], nextCursor: null }, mark, NOW);
    expect(ids(store)).toEqual([fresh.id, a.id]);
  });

  it('drops a run that was shown before the read but is gone from it', () => {
    const a = run({ minutesAgo: 5 });
    const b = run({ minutesAgo: 4 });
    const store = loaded([a, b]);
    store.replace({ runs: [a], nextCursor: null }, store.mark(), NOW);
    expect(ids(store)).toEqual([a.id]);
  });

  it('takes the read when it is newer than anything pushed, and ignores the late push afterwards', () => {
    const a = run();
    const store = loaded([a]);
    const v2 = running(a, 1);
    const v3 = completed(v2);
    store.replace({ runs: [v3], nextCursor: null }, store.mark(), NOW);
    expect(store.apply(v2, NOW)).toBe(false);
    expect(store.rows[0]?.bucket).toBe('succeeded');
  });
});

describe('filters', () => {
  it('a new run that matches the filters appears at the top', () => {
    const a = run({ minutesAgo: 10 });
    const b = run({ minutesAgo: 5 });
    const store = loaded([a, b], { ...ALL, types: ['demo.batch'] });
    const fresh = run({ minutesAgo: 0 });
    expect(store.apply(fresh, NOW)).toBe(true);
    expect(store.rows[0]?.id).toBe(fresh.id);
    expect(store.rows).toHaveLength(3);
  });

  it('a new run of another type stays out', () => {
    const store = loaded([run({ type: 'inventory.sync' })], { ...ALL, types: ['inventory.sync'] });
    expect(store.apply(run({ minutesAgo: 0, type: 'demo.batch' }), NOW)).toBe(false);
    expect(store.rows).toHaveLength(1);
  });

  it('a run that no longer matches the filters leaves', () => {
    const a = run();
    const r = running(a, 1);
    const store = loaded([r], { ...ALL, buckets: ['queued', 'running'] });
    expect(ids(store)).toEqual([r.id]);
    expect(store.apply(completed(r, 'failed'), NOW)).toBe(true);
    expect(store.rows).toEqual([]);
  });

  it('a run that starts matching enters at its own place, not at the top', () => {
    const newest = run({ minutesAgo: 1, bucket: 'failed', status: 'completed', outcome: 'failed' });
    const oldest = run({ minutesAgo: 30, bucket: 'failed', status: 'completed', outcome: 'failed' });
    const middle = running(run({ minutesAgo: 10 }), 3);
    const store = loaded([newest, oldest], { ...ALL, buckets: ['failed'] });
    store.apply(completed(middle, 'failed'), NOW);
    expect(ids(store)).toEqual([newest.id, middle.id, oldest.id]);
  });

  it('the time range applies to runs pushed live', () => {
    const filter: BoardFilter = { ...ALL, range: '1h' };
    expect(matchesFilter(run({ minutesAgo: 30 }), filter, NOW)).toBe(true);
    expect(matchesFilter(run({ minutesAgo: 90 }), filter, NOW)).toBe(false);
  });

  it('an old run beyond the loaded pages waits for "load more"', () => {
    const rows = [run({ minutesAgo: 1 }), run({ minutesAgo: 2 })];
    const store = loaded(rows, ALL, 'cursor-2');
    const old = completed(run({ minutesAgo: 60 }));
    expect(store.apply(old, NOW)).toBe(false);
    expect(store.rows).toHaveLength(2);
    // …and comes with the next page, in order, once.
    store.append({ runs: [old], nextCursor: null }, NOW);
    expect(ids(store)).toEqual([rows[0]!.id, rows[1]!.id, old.id]);
    store.append({ runs: [old], nextCursor: null }, NOW);
    expect(store.rows).toHaveLength(3);
  });

  it('a re-read of an incomplete page leaves later pushed runs to the next page', () => {
    const store = loaded([run({ minutesAgo: 1 })], ALL, 'c1');
    const mark = store.mark();
    const page = [run({ minutesAgo: 2 }), run({ minutesAgo: 3 })];
    // pushed during the read, but older than the read's last row
    const older = run({ minutesAgo: 20 });
    store.apply(older, NOW);
    store.replace({ runs: page, nextCursor: 'c2' }, mark, NOW);
    expect(ids(store)).toEqual(page.map((r) => r.id));
  });

  it('new filters keep rows visible until the next read replaces them', () => {
    const a = run();
    const store = loaded([a]);
    store.setFilter({ ...ALL, buckets: ['failed'] });
    expect(ids(store)).toEqual([a.id]);
    store.replace({ runs: [], nextCursor: null }, store.mark(), NOW);
    expect(store.rows).toEqual([]);
  });
});

describe('bucket counters', () => {
  const zero: BucketCounts = { queued: 0, running: 0, succeeded: 0, partially_succeeded: 0, failed: 0 };
  const from = NOW - 86_400_000;

  it('counts a new run and follows it through its buckets', () => {
    const a = run();
    let counts = countTransition(zero, undefined, a, from)!;
    expect(counts.queued).toBe(1);
    const r = running(a, 1);
    counts = countTransition(counts, a, r, from)!;
    expect(counts).toMatchObject({ queued: 0, running: 1 });
    counts = countTransition(counts, r, completed(r, 'failed'), from)!;
    expect(counts).toMatchObject({ running: 0, failed: 1 });
  });

  it('cannot tell for a run first seen mid-way: null asks for a re-read', () => {
    const a = run();
    expect(countTransition(zero, undefined, running(a, 1), from)).toBeNull();
  });

  it('a run created before the window counts while active, not once finished (as /stats does)', () => {
    const a = running(run({ minutesAgo: 48 * 60 }), 1);
    const counts = countTransition({ ...zero, running: 1 }, a, completed(a), from)!;
    expect(counts).toMatchObject({ running: 0, succeeded: 0 });
  });
});

describe('bounded rows', () => {
  it('drops the oldest rows beyond maxRows and says more can be loaded', () => {
    const rows = [run({ minutesAgo: 3 }), run({ minutesAgo: 2 })];
    const store = new RunsStore(ALL, 2);
    store.replace({ runs: [...rows].sort(compareNewestFirst), nextCursor: null }, store.mark(), NOW);
    const fresh = run({ minutesAgo: 0 });
    store.apply(fresh, NOW);
    expect(ids(store)).toEqual([fresh.id, rows[1]!.id]);
    expect(store.nextCursor).toBe(TRIMMED);
    // an update of the dropped run does not bring it back
    expect(store.apply(running(rows[0]!, 1), NOW)).toBe(false);
  });
});
