// The pure rules behind search, failure reasons, history and baselines (docs/api.md §11): the id-prefix range,
// a run's search text, a change's failures per reason code, "slower than usual", the ETA, the baseline cache,
// and the contract's parsing of the new query parameters. No I/O: the integration suite covers the SQL.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { NO_BASELINE, RunBaselines } from '../../db/runs/baselines.ts';
import { etaMs, HISTORY_PROGRESS_EVERY_MS, isSlowerThanUsual, type RunBaseline, type RunStatus } from '../../db/runs/model.ts';
import { idPrefixRange } from '../../db/runs/queries.ts';
import { reasonDeltas } from '../../db/runs/reason-store.ts';
import { containsPattern, searchTextOf } from '../../db/runs/search-store.ts';
import type { RunStore } from '../../db/runs/store.ts';
import { failureReasonsQuery, runsQuery } from '../../server/http/contract.ts';

const ID = '3f2b8c1d-4e5a-4b6c-8d7e-9f0a1b2c3d4e';

describe('idPrefixRange: a run id or its first 8+ characters as a range of ids', () => {
  it('pads a prefix with 0s and fs into the two ends of the range, dashes where a uuid has them', () => {
    expect(idPrefixRange('3f2b8c1d')).toEqual(['3f2b8c1d-0000-0000-0000-000000000000', '3f2b8c1d-ffff-ffff-ffff-ffffffffffff']);
    // A trailing dash in its place is still a prefix.
    expect(idPrefixRange('3f2b8c1d-')).toEqual(idPrefixRange('3f2b8c1d'));
    expect(idPrefixRange('3f2b8c1d-4e')).toEqual(['3f2b8c1d-4e00-0000-0000-000000000000', '3f2b8c1d-4eff-ffff-ffff-ffffffffffff']);
    expect(idPrefixRange('3f2b8c1d-4e5a-4b6c-8d7e-9f0a1b')).toEqual(['3f2b8c1d-4e5a-4b6c-8d7e-9f0a1b000000', '3f2b8c1d-4e5a-4b6c-8d7e-9f0a1bffffff']);
  });

  it('a whole id is a range of exactly that id', () => {
    expect(idPrefixRange(ID)).toEqual([ID, ID]);
  });

  it.each([
    ['7 characters', '3f2b8c1'],
    ['empty', ''],
    ['longer than an id', `${ID}0`],
    ['no dashes (32 hex digits)', ID.replaceAll('-', '')],
    ['a dash in the wrong place', '3f2b-8c1d4e5a'],
    ['a dash moved by one', '3f2b8c1d4-e5a'],
    ['a doubled dash', '3f2b8c1d--4e5a'],
    ['9 hex digits (no dash where one belongs)', '3f2b8c1d4'],
    ['a non-hex letter', '3f2b8c1g'],
    ['upper-case hex (the caller lower-cases first)', '3F2B8C1D'],
    ['spaces', ' 3f2b8c1d'],
    ['a LIKE wildcard', '3f2b8c1%'],
    ['a dash one place early in the second group', '3f2b8c1d-4e5-a'],
  ])('%s is not an id prefix', (_, text) => {
    expect(idPrefixRange(text)).toBeUndefined();
  });

  it('property: an id lies in the range of a prefix exactly when it begins with that prefix', () => {
    const uuid = fc.uuid().map((u) => u.toLowerCase());
    fc.assert(
      fc.property(uuid, uuid, fc.integer({ min: 8, max: 36 }), (id, other, length) => {
        const prefix = id.slice(0, length);
        const range = idPrefixRange(prefix);
        expect(range, prefix).toBeDefined();
        const [low, high] = range!;
        const inRange = (candidate: string) => low <= candidate && candidate <= high;
        expect(inRange(id)).toBe(true);
        expect(inRange(other)).toBe(other.startsWith(prefix));
        // A near neighbour (last digit of the prefix changed) starts elsewhere and lies outside.
        const last = prefix.at(-1)!;
        if (last !== '-') {
          const swapped = `${prefix.slice(0, -1)}${last === '0' ? '1' : '0'}${id.slice(length)}`;
          expect(inRange(swapped)).toBe(false);
        }
      }),
      { numRuns: 500 },
    );
  });
});

describe("searchTextOf: what a run's search matches as text", () => {
  it('is the type and every string, number and boolean of the scope, lower-cased; keys are not values', () => {
    const text = searchTextOf('demo.batch', { key: 'Alpha-Widget', items: 42, abort: true, nested: { Deep: ['MiXeD', 7, false, null] } });
    expect(text).toBe('demo.batch alpha-widget 42 true mixed 7 false');
    expect(text).not.toContain('key');
    expect(text).not.toContain('deep');
    expect(text).not.toContain('nested');
    expect(text).not.toContain('null');
  });

  it('keeps characters that are wildcards elsewhere as they are', () => {
    expect(searchTextOf('demo.external', { key: '50%_off \\ .*+?^${}()|[]' })).toBe('demo.external 50%_off \\ .*+?^${}()|[]');
  });

  it('an empty or absent scope is the type alone', () => {
    expect(searchTextOf('runs.purge', {})).toBe('runs.purge');
    expect(searchTextOf('runs.purge', undefined)).toBe('runs.purge');
  });

  it('is cut at 2,000 characters, and values nested deeper than 20 levels are left out', () => {
    expect(searchTextOf('demo.batch', { key: 'x'.repeat(5_000) })).toHaveLength(2_000);
    let deep: unknown = 'bottom';
    for (let i = 0; i < 25; i++) deep = { a: deep };
    expect(searchTextOf('demo.batch', { top: 'Top', deep })).toBe('demo.batch top');
    let shallow: unknown = 'found';
    for (let i = 0; i < 19; i++) shallow = [shallow];
    expect(searchTextOf('demo.batch', shallow)).toBe('demo.batch found');
  });

  it('containsPattern escapes LIKE wildcards and the escape character', () => {
    expect(containsPattern('50%_off\\x')).toBe('%50\\%\\_off\\\\x%');
    expect(containsPattern('plain')).toBe('%plain%');
  });
});

describe("reasonDeltas: a change's failures grouped by reason code", () => {
  it('counts each code in order of first appearance; the last message of a code wins', () => {
    expect(
      reasonDeltas([
        { code: 'quota_exceeded', message: 'first quota', item: 'a' },
        { code: 'timeout', message: 'slow' },
        { code: 'quota_exceeded', message: 'second quota' },
        { code: 'quota_exceeded', message: 'third quota' },
      ]),
    ).toEqual([
      { code: 'quota_exceeded', failures: 3, message: 'third quota' },
      { code: 'timeout', failures: 1, message: 'slow' },
    ]);
  });

  it('no failures, no deltas', () => {
    expect(reasonDeltas([])).toEqual([]);
  });

  it('property: the counts add up to the failures and each code appears once', () => {
    const failure = fc.record({ code: fc.constantFrom('a', 'b', 'c', 'd'), message: fc.string({ maxLength: 5 }) });
    fc.assert(
      fc.property(fc.array(failure, { maxLength: 60 }), (failures) => {
        const deltas = reasonDeltas(failures);
        expect(deltas.reduce((sum, d) => sum + d.failures, 0)).toBe(failures.length);
        expect(new Set(deltas.map((d) => d.code)).size).toBe(deltas.length);
        for (const delta of deltas) {
          const ofCode = failures.filter((f) => f.code === delta.code);
          expect(delta.failures).toBe(ofCode.length);
          expect(delta.message).toBe(ofCode.at(-1)!.message);
        }
        expect(deltas.map((d) => d.code)).toEqual([...new Set(failures.map((f) => f.code))]);
      }),
    );
  });
});

const NOW = Date.parse('2026-12-03T12:00:00.000Z');
const ago = (ms: number) => new Date(NOW - ms).toISOString();
const run = (status: RunStatus, startedMsAgo: number | null, total = 0, processed = 0) => ({
  status,
  startedAt: startedMsAgo === null ? null : ago(startedMsAgo),
  counts: { total, processed },
});
const baseline = (p50: number | null, p95: number | null): RunBaseline => ({ runs30d: p50 === null ? 0 : 10, failureRate30d: p50 === null ? null : 0.1, p50DurationMs: p50, p95DurationMs: p95 });

describe('isSlowerThanUsual: a running run past its type’s p95', () => {
  it('true only once the time since start exceeds the p95', () => {
    expect(isSlowerThanUsual(run('running', 60_001), baseline(30_000, 60_000), NOW)).toBe(true);
    expect(isSlowerThanUsual(run('running', 60_000), baseline(30_000, 60_000), NOW)).toBe(false);
    expect(isSlowerThanUsual(run('running', 59_999), baseline(30_000, 60_000), NOW)).toBe(false);
  });

  it('never for a run that is not running, has not started, or whose type has no baseline', () => {
    expect(isSlowerThanUsual(run('completed', 3_600_000), baseline(1_000, 2_000), NOW)).toBe(false);
    expect(isSlowerThanUsual(run('queued', null), baseline(1_000, 2_000), NOW)).toBe(false);
    expect(isSlowerThanUsual(run('running', null), baseline(1_000, 2_000), NOW)).toBe(false);
    expect(isSlowerThanUsual(run('running', 3_600_000), NO_BASELINE, NOW)).toBe(false);
    expect(isSlowerThanUsual(run('running', 3_600_000), undefined, NOW)).toBe(false);
  });

  it('a p95 of 0 (instant runs) makes any running run slower than usual', () => {
    expect(isSlowerThanUsual(run('running', 1), baseline(0, 0), NOW)).toBe(true);
  });
});

describe('etaMs: time until a running run is likely done', () => {
  it('from its own rate once it has processed something of a known total', () => {
    // 25 of 100 in 10 s: 75 more at the same rate is 30 s, whatever the baseline says.
    expect(etaMs(run('running', 10_000, 100, 25), baseline(5_000, 8_000), NOW)).toBe(30_000);
    expect(etaMs(run('running', 10_000, 100, 25), undefined, NOW)).toBe(30_000);
    expect(etaMs(run('running', 3_000, 7, 3), undefined, NOW)).toBe(4_000);
    // Rounded to whole milliseconds.
    expect(etaMs(run('running', 1_000, 3, 1), undefined, NOW)).toBe(2_000);
    expect(etaMs(run('running', 1_000, 4, 3), undefined, NOW)).toBe(333);
    expect(etaMs(run('running', 10_000, 100, 100), undefined, NOW)).toBe(0);
  });

  it('never negative, even when more was processed than the total said', () => {
    expect(etaMs(run('running', 10_000, 10, 12), undefined, NOW)).toBe(0);
  });

  it("before anything was processed, or without a total, from the type's median", () => {
    expect(etaMs(run('running', 10_000, 100, 0), baseline(60_000, 90_000), NOW)).toBe(50_000);
    expect(etaMs(run('running', 10_000, 0, 0), baseline(60_000, 90_000), NOW)).toBe(50_000);
    expect(etaMs(run('running', 10_000, 0, 5), baseline(60_000, 90_000), NOW)).toBe(50_000);
  });

  it('none once the median has passed, without a baseline, or for a run that is not running', () => {
    expect(etaMs(run('running', 60_000, 0, 0), baseline(60_000, 90_000), NOW)).toBeNull();
    expect(etaMs(run('running', 70_000, 0, 0), baseline(60_000, 90_000), NOW)).toBeNull();
    expect(etaMs(run('running', 10_000, 0, 0), NO_BASELINE, NOW)).toBeNull();
    expect(etaMs(run('running', 10_000, 0, 0), undefined, NOW)).toBeNull();
    expect(etaMs(run('queued', null, 100, 0), baseline(60_000, 90_000), NOW)).toBeNull();
    expect(etaMs(run('completed', 10_000, 100, 50), baseline(60_000, 90_000), NOW)).toBeNull();
    expect(etaMs(run('running', null, 100, 50), baseline(60_000, 90_000), NOW)).toBeNull();
  });

  it('a start in the future (clock skew) counts as no time elapsed: the median, not a division by zero', () => {
    expect(etaMs(run('running', -5_000, 100, 10), baseline(60_000, 90_000), NOW)).toBe(60_000);
    expect(etaMs(run('running', -5_000, 100, 10), undefined, NOW)).toBeNull();
  });
});

describe('RunBaselines: measured once per tenant, re-measured in the background once 30 s old', () => {
  type Row = Awaited<ReturnType<RunStore['baselines']>>[number];
  /** A store whose measurements the test releases one by one, counting them. */
  function fakeStore() {
    const pending: { tenantId: string; resolve: (rows: Row[]) => void; reject: (error: Error) => void }[] = [];
    const store = {
      calls: 0,
      pending,
      baselines(tenantId: string, days: number): Promise<Row[]> {
        expect(days).toBe(30);
        store.calls += 1;
        return new Promise((resolve, reject) => pending.push({ tenantId, resolve, reject }));
      },
    };
    return store;
  }
  const row = (type: string, runs: number, failed: number, p50: number | null, p95: number | null): Row => ({ type, runs, failed, p50_ms: p50, p95_ms: p95 });
  const flush = () => new Promise((resolve) => setImmediate(resolve));

  it('the first read of a tenant waits for its measurement; concurrent first reads share it', async () => {
    const store = fakeStore();
    let now = 1_000_000;
    const baselines = new RunBaselines(store as unknown as RunStore, () => now);
    const first = baselines.of('t1');
    const second = baselines.of('t1');
    expect(store.calls).toBe(1);
    store.pending.shift()!.resolve([row('demo.batch', 4, 1, 1_500, 2_900), row('runs.purge', 2, 0, null, null)]);
    const [a, b] = await Promise.all([first, second]);
    expect(a).toBe(b);
    expect(a.get('demo.batch')).toEqual({ runs30d: 4, failureRate30d: 0.25, p50DurationMs: 1_500, p95DurationMs: 2_900 });
    // Completed but never started: counted, no durations.
    expect(a.get('runs.purge')).toEqual({ runs30d: 2, failureRate30d: 0, p50DurationMs: null, p95DurationMs: null });
    expect(a.get('demo.external')).toBeUndefined();
    now += 10_000;
    expect((await baselines.of('t1')).get('demo.batch')?.runs30d).toBe(4);
    expect(store.calls).toBe(1);
  });

  it('once 30 s old, a read answers the previous figures at once and re-measures in the background (once)', async () => {
    const store = fakeStore();
    let now = 5_000_000;
    const baselines = new RunBaselines(store as unknown as RunStore, () => now);
    const first = baselines.of('t1');
    store.pending.shift()!.resolve([row('demo.batch', 1, 0, 100, 100)]);
    await first;
    now += 29_999;
    await baselines.of('t1');
    expect(store.calls).toBe(1);
    now += 1;
    const stale = await baselines.of('t1');
    expect(stale.get('demo.batch')?.runs30d).toBe(1);
    expect(store.calls).toBe(2);
    // Reads while the re-measurement runs start no other.
    await baselines.of('t1');
    expect(store.calls).toBe(2);
    store.pending.shift()!.resolve([row('demo.batch', 3, 3, 200, 400)]);
    await flush();
    expect((await baselines.of('t1')).get('demo.batch')).toEqual({ runs30d: 3, failureRate30d: 1, p50DurationMs: 200, p95DurationMs: 400 });
    expect(store.calls).toBe(2);
  });

  it('tenants are measured separately', async () => {
    const store = fakeStore();
    const baselines = new RunBaselines(store as unknown as RunStore, () => 0);
    const a = baselines.of('t1');
    const b = baselines.of('t2');
    expect(store.pending.map((p) => p.tenantId)).toEqual(['t1', 't2']);
    store.pending[1]!.resolve([row('demo.batch', 9, 0, 1, 2)]);
    store.pending[0]!.resolve([]);
    expect((await a).size).toBe(0);
    expect((await b).get('demo.batch')?.runs30d).toBe(9);
  });

  it('a failed first measurement is reported and forgotten, so the next read measures again', async () => {
    const store = fakeStore();
    const baselines = new RunBaselines(store as unknown as RunStore, () => 0);
    const first = baselines.of('t1');
    store.pending.shift()!.reject(new Error('database down'));
    await expect(first).rejects.toThrow('database down');
    const second = baselines.of('t1');
    expect(store.calls).toBe(2);
    store.pending.shift()!.resolve([row('demo.batch', 1, 1, 5, 5)]);
    expect((await second).get('demo.batch')?.failureRate30d).toBe(1);
  });

  it('a failed background re-measurement keeps serving the previous figures and tries again later', async () => {
    const store = fakeStore();
    let now = 1_000_000;
    const baselines = new RunBaselines(store as unknown as RunStore, () => now);
    const first = baselines.of('t1');
    store.pending.shift()!.resolve([row('demo.batch', 2, 0, 10, 20)]);
    await first;
    now += 30_000;
    expect((await baselines.of('t1')).get('demo.batch')?.runs30d).toBe(2);
    store.pending.shift()!.reject(new Error('blip'));
    await flush();
    expect((await baselines.of('t1')).get('demo.batch')?.runs30d).toBe(2);
    // Still stale, so that read started another measurement.
    expect(store.calls).toBe(3);
  });

  it('NO_BASELINE is the answer for a type without completed runs: 0 runs and nulls', () => {
    expect(NO_BASELINE).toEqual({ runs30d: 0, failureRate30d: null, p50DurationMs: null, p95DurationMs: null });
  });
});

describe('history thinning constant', () => {
  it('progress is recorded at most every 5 s (so a point at least every 10 s while progress flows)', () => {
    expect(HISTORY_PROGRESS_EVERY_MS).toBe(5_000);
  });
});

describe('the contract: q and failureCode of the runs list, window and limit of failure reasons', () => {
  const parse = (query: Record<string, unknown>) => runsQuery.safeParse(query);

  it('q is trimmed; empty or blank is no filter; 1–100 characters after trimming', () => {
    expect(parse({ q: '  Alpha  ' }).data?.q).toBe('Alpha');
    expect(parse({ q: '' }).data?.q).toBeUndefined();
    expect(parse({ q: '   \t ' }).data?.q).toBeUndefined();
    expect(parse({ q: 'x'.repeat(100) }).data?.q).toHaveLength(100);
    expect(parse({ q: ` ${'x'.repeat(100)} ` }).success).toBe(true);
    expect(parse({ q: 'x'.repeat(101) }).success).toBe(false);
    expect(parse({ q: 'x'.repeat(10_000) }).success).toBe(false);
    // Characters, not UTF-16 units.
    expect(parse({ q: '😀'.repeat(100) }).success).toBe(true);
  });

  it('q refuses NUL bytes, lone surrogates and anything but one string', () => {
    for (const q of ['a\u0000b', '\u0000', 'lone \ud800', '\udfff', ['a', 'b'], { a: 'b' }, 5]) {
      const result = parse({ q });
      expect(result.success, JSON.stringify(q)).toBe(false);
      expect(result.error?.issues[0]?.path, JSON.stringify(q)).toEqual(['q']);
    }
    // Wildcard and regex characters are just text.
    expect(parse({ q: ".*+?^${}()|[]\\ %_ ' or 1=1 --" }).success).toBe(true);
  });

  it('failureCode is one or many codes shaped like the sanitizer makes them', () => {
    expect(parse({}).data?.failureCode).toEqual([]);
    expect(parse({ failureCode: 'worker_lost' }).data?.failureCode).toEqual(['worker_lost']);
    expect(parse({ failureCode: ['worker_lost', 'item_failed'] }).data?.failureCode).toEqual(['worker_lost', 'item_failed']);
    expect(parse({ failureCode: `a${'b'.repeat(63)}` }).success).toBe(true);
    for (const failureCode of ['', 'Worker_lost', '1abc', 'has space', 'dash-ed', `a${'b'.repeat(64)}`, "x' or 1=1", ['ok', 'BAD'], Array.from({ length: 21 }, () => 'a'), { a: 'b' }]) {
      expect(parse({ failureCode }).success, JSON.stringify(failureCode).slice(0, 60)).toBe(false);
    }
  });

  it('failure reasons: window 1h|24h|7d|30d (default 24h), limit 1–100 (default 20), nothing else', () => {
    expect(failureReasonsQuery.parse({})).toEqual({ window: '24h', limit: 20 });
    expect(failureReasonsQuery.parse({ window: '7d', limit: '100' })).toEqual({ window: '7d', limit: 100 });
    for (const query of [{ window: '2h' }, { window: '24H' }, { limit: '0' }, { limit: '101' }, { limit: '1.5' }, { limit: 'x' }, { window: ['1h', '24h'] }, { q: 'x' }]) {
      expect(failureReasonsQuery.safeParse(query).success, JSON.stringify(query)).toBe(false);
    }
  });
});
