// Many tenants on one screen (docs/api.md §12), the dashboard's pure rules in Node: the tiles' merge of
// `GET /api/overview` and live pushes (dashboard/src/lib/overview-merge.ts), the wall's alerts (wall-alerts.ts)
// and its URL, rotation, grid, burn-in drift and data-age wording (wall-view.ts).
import { describe, expect, it } from 'vitest';
import type { OverviewAnswer, RunSummary, TenantOverview } from '../../server/http/contract.ts';
import { bucketAt, FAILURES_LISTED, OverviewMerge, RUNNING_LISTED, TileStore } from '../../dashboard/src/lib/overview-merge.ts';
import { ALERT_FOR_MS, AlertBook, alertBuckets, TONE_EVERY_MS } from '../../dashboard/src/lib/wall-alerts.ts';
import { formatShortCount } from '../../dashboard/src/lib/format.ts';
import {
  compactAgo,
  driftOffset,
  DRIFT_PX,
  gridShape,
  localReadTime,
  nextTenant,
  parseWallParams,
  rotationOrder,
  rotationWindow,
  tileFreshness,
  wallSearch,
} from '../../dashboard/src/lib/wall-view.ts';

const NOW = Date.parse('2026-11-23T12:00:00.000Z');
const at = (secondsFromNow: number) => new Date(NOW + secondsFromNow * 1000).toISOString();

let serial = 0;
/** A run queued `createdAgo` seconds before NOW; later states come from `started`, `progressed`, `ended`. */
function queued(createdAgo = 60, over: Partial<RunSummary> = {}): RunSummary {
  serial += 1;
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
    createdAt: at(-createdAgo),
    startedAt: null,
    completedAt: null,
    updatedAt: at(-createdAgo),
    version: 1,
    related: [],
    ...over,
  };
}
const started = (run: RunSummary, when: number): RunSummary => ({
  ...run,
  status: 'running',
  bucket: 'running',
  startedAt: at(when),
  updatedAt: at(when),
  version: run.version + 1,
});
const progressed = (run: RunSummary, when: number, processed: number): RunSummary => ({
  ...run,
  counts: { ...run.counts, processed, succeeded: processed },
  updatedAt: at(when),
  version: run.version + 1,
});
const ended = (run: RunSummary, when: number, bucket: 'succeeded' | 'failed' | 'partially_succeeded' = 'failed'): RunSummary => ({
  ...run,
  status: 'completed',
  outcome: bucket,
  bucket,
  failureCount: bucket === 'succeeded' ? 0 : 3,
  completedAt: at(when),
  updatedAt: at(when),
  version: run.version + 1,
});

const counts = (over: Partial<TenantOverview['buckets']> = {}) => ({ queued: 0, running: 0, succeeded: 0, partially_succeeded: 0, failed: 0, ...over });
function read(over: Partial<TenantOverview> = {}, slug = 'acme', name = 'Acme Corp'): TenantOverview {
  return { tenant: { slug, name }, buckets: counts(), running: [], latestFailures: [], reasons: [], ...over };
}
const answer = (tenants: TenantOverview[], readAt = NOW): OverviewAnswer => ({ window: '24h', readAt: new Date(readAt).toISOString(), tenants });

describe('a run’s bucket at a moment, from its own timestamps', () => {
  it('is none before it was created, then queued, running and its outcome in turn', () => {
    const run = ended(started(queued(60), -50), -10, 'partially_succeeded');
    expect(bucketAt(run, NOW - 70_000)).toBeNull();
    expect(bucketAt(run, NOW - 55_000)).toBe('queued');
    expect(bucketAt(run, NOW - 20_000)).toBe('running');
    expect(bucketAt(run, NOW)).toBe('partially_succeeded');
  });

  it('knows a run that ended straight from the queue', () => {
    const run = { ...ended(queued(60), -10), startedAt: null };
    expect(bucketAt(run, NOW - 30_000)).toBe('queued');
    expect(bucketAt(run, NOW)).toBe('failed');
  });
});

describe('a tile under pushes', () => {
  it('moves the counts with each change after the read, whatever the order pushes and reads come in', () => {
    const waiting = queued(120);
    const tile = new TileStore(read({ buckets: counts({ queued: 1, succeeded: 4 }) }), NOW, '24h');
    const fresh = queued(0, { createdAt: at(1), updatedAt: at(1) });
    tile.apply(fresh);
    tile.apply(started(waiting, 2));
    expect(tile.view(NOW).buckets).toEqual(counts({ queued: 1, running: 1, succeeded: 4 }));
    tile.apply(ended(started(waiting, 2), 5, 'failed'));
    expect(tile.view(NOW).buckets).toEqual(counts({ queued: 1, failed: 1, succeeded: 4 }));
  });

  it('ignores pushes the read already reflects (changed before readAt), so nothing is counted twice', () => {
    const run = started(queued(120), -30);
    // The read counted the run as running; its `started` push arrives after the read answered.
    const tile = new TileStore(read({ buckets: counts({ running: 1 }), running: [] }), NOW, '24h');
    expect(tile.apply(run).changed).toBe(false);
    expect(tile.view(NOW).buckets).toEqual(counts({ running: 1 }));
  });

  it('keeps the highest version: an older or repeated push changes nothing', () => {
    const run = started(queued(120), -30);
    const tile = new TileStore(read({ buckets: counts({ running: 1 }), running: [run] }), NOW, '24h');
    const later = progressed(run, 2, 5);
    expect(tile.apply(later).changed).toBe(true);
    expect(tile.apply(later).changed).toBe(false);
    expect(tile.apply(progressed(run, 1, 3)).changed).toBe(false);
    expect(tile.view(NOW).running[0]!.counts.processed).toBe(5);
  });

  it('a re-read never goes back to a version older than one pushed after it', () => {
    const run = started(queued(120), -30);
    const tile = new TileStore(read({ buckets: counts({ running: 1 }), running: [run] }), NOW - 5_000, '24h');
    const done = ended(run, 1, 'succeeded');
    tile.apply(done);
    // A read that began before the run ended answers after its push: it still lists the run as running.
    tile.replace(read({ buckets: counts({ running: 1 }), running: [run] }), NOW);
    const view = tile.view(NOW);
    expect(view.running).toEqual([]);
    expect(view.buckets).toEqual(counts({ succeeded: 1 }));
  });

  it('lists running runs newest first (at most 20) and takes ended ones out', () => {
    const runs = Array.from({ length: 25 }, (_, i) => started(queued(300 - i), -100));
    const tile = new TileStore(read({ buckets: counts({ running: 25 }), running: runs.slice(-RUNNING_LISTED).reverse() }), NOW, '24h');
    expect(tile.view(NOW).running.map((r) => r.id)).toEqual(runs.slice(-RUNNING_LISTED).reverse().map((r) => r.id));
    const newest = runs.at(-1)!;
    tile.apply(ended(newest, 1, 'succeeded'));
    const view = tile.view(NOW);
    expect(view.running).toHaveLength(RUNNING_LISTED - 1);
    expect(view.running.some((r) => r.id === newest.id)).toBe(false);
    expect(view.buckets.running).toBe(24);
  });

  it('lists the latest failures first, at most 5, only of runs in the window', () => {
    const old = ended(started(queued(90_000), -89_000), -88_000);
    const failures = Array.from({ length: 5 }, (_, i) => ended(started(queued(600), -500), -400 + i));
    const tile = new TileStore(read({ buckets: counts({ failed: 5 }), latestFailures: [...failures].reverse() }), NOW, '24h');
    const running = started(queued(100), -50);
    tile.apply(running);
    const last = ended(running, 3, 'partially_succeeded');
    tile.apply(last);
    tile.apply({ ...old, updatedAt: at(4), version: old.version + 1 });
    const view = tile.view(NOW);
    expect(view.latestFailures).toHaveLength(FAILURES_LISTED);
    expect(view.latestFailures[0]!.id).toBe(last.id);
    expect(view.latestFailures.some((r) => r.id === old.id)).toBe(false);
    expect(view.buckets.partially_succeeded).toBe(1);
    expect(view.buckets.failed).toBe(5);
  });

  it('says a run ended only when the last read did not already know it ended', () => {
    const running = started(queued(120), -30);
    const endedBeforeRead = ended(started(queued(120), -60), -10);
    const tile = new TileStore(read({ buckets: counts({ running: 1, failed: 1 }), running: [running], latestFailures: [endedBeforeRead] }), NOW, '24h');
    const failed = ended(running, 2);
    const effect = tile.apply(failed);
    expect(effect.ended?.id).toBe(running.id);
    expect(effect.reasonsChanged).toBe(true);
    // The push of a run the read showed as ended (it arrived while the read was under way).
    expect(tile.apply({ ...endedBeforeRead, version: endedBeforeRead.version + 1, updatedAt: at(3) }).ended).toBeNull();
    // A run the read did not list but that ended after it, is news; one that ended before it is not.
    const unlisted = started(queued(500), -400);
    expect(tile.apply(ended(unlisted, 4)).ended?.id).toBe(unlisted.id);
    const quiet = started(queued(500), -400);
    expect(tile.apply({ ...ended(quiet, -5), updatedAt: at(5) }).ended).toBeNull();
    // Progress is no ending; a success carries no reasons to re-read.
    const other = started(queued(60), 1);
    expect(tile.apply(progressed(other, 2, 3)).ended).toBeNull();
    const success = tile.apply(ended(progressed(other, 2, 3), 6, 'succeeded'));
    expect(success.ended?.id).toBe(other.id);
    expect(success.reasonsChanged).toBe(false);
  });
});

describe('the tiles of many tenants', () => {
  const globex = (over: Partial<TenantOverview> = {}) => read(over, 'globex', 'Globex');
  const initech = (over: Partial<TenantOverview> = {}) => read(over, 'initech', 'Initech');

  it('come in the order of their names, and a push reaches its own tenant only', () => {
    const merge = new OverviewMerge('24h');
    merge.replace(answer([initech(), read(), globex()]));
    expect(merge.tenants).toEqual(['acme', 'globex', 'initech']);
    const run = queued(0, { tenant: 'globex', createdAt: at(1), updatedAt: at(1) });
    expect(merge.apply({ tenant: 'globex', kind: 'queued', run }).changed).toBe(true);
    expect(merge.apply({ tenant: 'umbrella', kind: 'queued', run }).changed).toBe(false);
    const views = merge.views(NOW);
    expect(views.map((v) => v.buckets.queued)).toEqual([0, 1, 0]);
  });

  it('a narrowed re-read replaces the tenants it asked for, drops those not answered, leaves the rest', () => {
    const merge = new OverviewMerge('24h');
    merge.replace(answer([read(), globex(), initech()]));
    merge.replace(answer([globex({ buckets: counts({ failed: 2 }) })], NOW + 1_000), ['globex', 'initech']);
    expect(merge.tenants).toEqual(['acme', 'globex']);
    expect(merge.tile('globex')!.view(NOW).buckets.failed).toBe(2);
    // An older answer (a narrowed read overtaken by a full one) never takes a tile back.
    merge.replace(answer([read(), globex({ buckets: counts({ failed: 1 }) })], NOW));
    expect(merge.tile('globex')!.view(NOW).buckets.failed).toBe(2);
  });
});

describe('wall alerts', () => {
  const failed = () => ended(started(queued(100), -50), 1);

  it('alert on failed runs, and with ?alert=partial on partially succeeded ones too', () => {
    expect(alertBuckets(null)).toEqual(['failed']);
    expect(alertBuckets('partial')).toEqual(['failed', 'partially_succeeded']);
    const book = new AlertBook(alertBuckets(null));
    const partial = ended(started(queued(100), -50), 1, 'partially_succeeded');
    expect(book.raise('acme', partial, 'Demo batch', NOW).alert).toBeNull();
    expect(book.raise('acme', failed(), 'Demo batch', NOW).alert).not.toBeNull();
    expect(new AlertBook(alertBuckets('partial')).raise('acme', partial, 'Demo batch', NOW).alert?.bucket).toBe('partially_succeeded');
  });

  it('a run alerts once; a tone sounds for a new alert at most once a minute', () => {
    const book = new AlertBook();
    const first = failed();
    expect(book.raise('acme', first, 'Demo batch', NOW).tone).toBe(true);
    expect(book.raise('acme', first, 'Demo batch', NOW + 1_000).alert).toBeNull();
    expect(book.raise('globex', failed(), 'Demo batch', NOW + 30_000)).toMatchObject({ alert: expect.any(Object), tone: false });
    expect(book.raise('globex', failed(), 'Demo batch', NOW + TONE_EVERY_MS).tone).toBe(true);
  });

  it('highlight until acknowledged (one tenant, or all) or for 5 minutes', () => {
    const book = new AlertBook();
    book.raise('acme', failed(), 'Demo batch', NOW);
    book.raise('globex', failed(), 'Demo batch', NOW + 60_000);
    book.raise('initech', failed(), 'Demo batch', NOW + 60_000);
    expect(book.active(NOW + 60_000).map((a) => a.tenant)).toEqual(['initech', 'globex', 'acme']);
    expect(book.active(NOW + ALERT_FOR_MS).map((a) => a.tenant)).toEqual(['initech', 'globex']);
    book.acknowledge('globex');
    expect(book.active(NOW + 61_000).map((a) => a.tenant)).toEqual(['initech', 'acme']);
    book.acknowledge(null);
    expect(book.active(NOW + 61_000)).toEqual([]);
  });

  it('a wall that reconnects and re-reads raises nothing it already showed', () => {
    const merge = new OverviewMerge('24h');
    const book = new AlertBook();
    const raised: string[] = [];
    const push = (run: RunSummary, now: number) => {
      const effect = merge.apply({ tenant: 'acme', kind: run.status === 'completed' ? 'completed' : 'progress', run });
      if (effect.ended && book.raise('acme', effect.ended, 'Demo batch', now).alert) raised.push(effect.ended.id);
    };
    const run = started(queued(100), -50);
    merge.replace(answer([read({ buckets: counts({ running: 1 }), running: [run] })]));
    const done = ended(run, 2);
    push(done, NOW + 2_000);
    expect(raised).toEqual([run.id]);
    book.acknowledge(null);

    // The connection drops and comes back: the re-read lists the run as failed; the push may come again.
    merge.replace(answer([read({ buckets: counts({ failed: 1 }), latestFailures: [done] })], NOW + 10_000));
    push(done, NOW + 11_000);
    // A run that failed during the outage was never pushed: the re-read shows it, no alert is raised for it.
    const missed = ended(started(queued(100), -50), 5);
    merge.replace(answer([read({ buckets: counts({ failed: 2 }), latestFailures: [missed, done] })], NOW + 12_000));
    push(missed, NOW + 13_000);
    expect(raised).toEqual([run.id]);
    expect(book.active(NOW + 13_000)).toEqual([]);
    // Even a later copy of an alerted run (a repeated push) does not alert again.
    expect(book.raise('acme', { ...done, version: done.version + 1 }, 'Demo batch', NOW + 14_000).alert).toBeNull();
  });
});

describe('the wall’s URL, rotation, grid and drift', () => {
  it('reads tenants, rotation, alerts and sound from the URL, ignoring what cannot be', () => {
    const params = parseWallParams(new URLSearchParams('kiosk=k1&tenants=globex, acme,ACME,bad_slug,&rotate=2&alert=partial&sound=1'));
    expect(params).toEqual({ kiosk: 'k1', tenants: ['globex', 'acme'], rotateMs: 2_000, alertOn: ['failed', 'partially_succeeded'], sound: true });
    expect(parseWallParams(new URLSearchParams('rotate=0.5')).rotateMs).toBe(2_000);
    expect(parseWallParams(new URLSearchParams('rotate=99999')).rotateMs).toBe(3_600_000);
    expect(parseWallParams(new URLSearchParams('rotate=soon')).rotateMs).toBeNull();
    expect(parseWallParams(new URLSearchParams(''))).toEqual({ kiosk: null, tenants: [], rotateMs: null, alertOn: ['failed'], sound: false });
    expect(wallSearch(params, { rotateMs: null })).toBe('?kiosk=k1&tenants=globex%2Cacme&alert=partial&sound=1');
  });

  it('rotates in the order ?tenants= named (those the caller sees), else by name, wrapping round', () => {
    const shown = ['acme', 'globex', 'initech'];
    expect(rotationOrder(shown, [])).toEqual(shown);
    expect(rotationOrder(shown, ['initech', 'umbrella', 'acme'])).toEqual(['initech', 'acme', 'globex']);
    expect(nextTenant(shown, null)).toBe('acme');
    expect(nextTenant(shown, 'acme')).toBe('globex');
    expect(nextTenant(shown, 'initech')).toBe('acme');
    expect(nextTenant(shown, 'gone')).toBe('acme');
    expect(nextTenant(['acme'], 'acme')).toBe('acme');
    expect(nextTenant([], 'acme')).toBeNull();
  });

  it('keeps the walls of the tenants next in turn mounted, all of them when few', () => {
    const order = ['a', 'b', 'c', 'd', 'e'];
    expect(rotationWindow(order, 'd', 3)).toEqual(['d', 'e', 'a']);
    expect(rotationWindow(order, 'b', 12)).toEqual(['b', 'c', 'd', 'e', 'a']);
    expect(rotationWindow(order, null, 3)).toEqual([]);
    expect(rotationWindow(order, 'gone', 3)).toEqual([]);
  });

  it('shapes the grid for the largest tiles on landscape, 4K and portrait screens', () => {
    expect(gridShape(1, 1880, 960)).toEqual({ columns: 1, rows: 1 });
    expect(gridShape(4, 1880, 960)).toEqual({ columns: 2, rows: 2 });
    expect(gridShape(4, 3760, 1960)).toEqual({ columns: 2, rows: 2 });
    expect(gridShape(4, 1040, 1800)).toEqual({ columns: 1, rows: 4 });
    expect(gridShape(12, 1880, 960)).toEqual({ columns: 4, rows: 3 });
    expect(gridShape(0, 1880, 960)).toEqual({ columns: 1, rows: 1 });
  });

  it('drifts a few pixels at a time, never further than the bound, and comes back round', () => {
    const offsets = Array.from({ length: 16 }, (_, i) => driftOffset(i * 90_000));
    for (const o of offsets) expect(Math.max(Math.abs(o.x), Math.abs(o.y))).toBeLessThanOrEqual(DRIFT_PX);
    expect(new Set(offsets.map((o) => `${o.x},${o.y}`)).size).toBeGreaterThan(4);
    expect(driftOffset(0)).toEqual(driftOffset(8 * 90_000));
    expect(driftOffset(10_000)).toEqual(driftOffset(80_000));
  });
});

describe('a tile’s data age in words', () => {
  const live = { downSince: null, live: true, refusedAt: null };

  it('counts from the last read or push while live', () => {
    expect(tileFreshness({ ...live, freshAt: null }, NOW)).toEqual({ stale: false, text: 'Loading…' });
    expect(tileFreshness({ ...live, freshAt: NOW - 400 }, NOW)).toEqual({ stale: false, text: 'updated just now' });
    expect(tileFreshness({ ...live, freshAt: NOW - 3_200 }, NOW)).toEqual({ stale: false, text: 'updated 3 s ago' });
    expect(tileFreshness({ ...live, freshAt: NOW - 4 * 60_000 }, NOW)).toEqual({ stale: false, text: 'updated 4 min ago' });
  });

  it('goes stale 5 s after a live connection was lost, aged from the loss; the first connection is no loss', () => {
    const freshAt = NOW - 10 * 60_000;
    expect(tileFreshness({ freshAt, downSince: NOW - 4_000, live: false, refusedAt: null }, NOW).stale).toBe(false);
    expect(tileFreshness({ freshAt, downSince: NOW - 40_000, live: false, refusedAt: null }, NOW)).toEqual({
      stale: true,
      text: 'Live data lost — last update 40 s ago',
    });
    expect(tileFreshness({ freshAt: NOW - 2_000, downSince: NOW - 40_000, live: false, refusedAt: null }, NOW).text).toBe(
      'Live data lost — last update 2 s ago',
    );
    expect(tileFreshness({ freshAt, downSince: null, live: false, refusedAt: null }, NOW).stale).toBe(false);
  });

  it('is stale at once when the tenant’s subscription was refused', () => {
    expect(tileFreshness({ ...live, freshAt: NOW - 40_000, refusedAt: NOW - 39_000 }, NOW)).toEqual({
      stale: true,
      text: 'Live data lost — last update 40 s ago',
    });
  });

  it('says when on a wall’s tile in as few letters as it can, and keeps counts short enough for their box', () => {
    expect(compactAgo(at(-2), NOW)).toBe('now');
    expect(compactAgo(at(-12), NOW)).toBe('12 s');
    expect(compactAgo(at(-4 * 60), NOW)).toBe('4 min');
    expect(compactAgo(at(30), NOW)).toBe('now');
    expect(compactAgo(null, NOW)).toBe('—');
    expect(formatShortCount(9_999)).toBe('9,999');
    expect(formatShortCount(12_345)).toBe('12.3K');
    expect(formatShortCount(2_000_000)).toBe('2M');
  });

  it('takes the server’s readAt when the clocks agree, else the answer’s arrival', () => {
    expect(localReadTime(at(0), NOW - 100, NOW + 50)).toBe(NOW);
    expect(localReadTime(at(-300), NOW - 100, NOW + 50)).toBe(NOW + 50);
    expect(localReadTime(at(300), NOW - 100, NOW + 50)).toBe(NOW + 50);
    expect(localReadTime('not a date', NOW - 100, NOW + 50)).toBe(NOW + 50);
  });
});
