// The tiles of many tenants on one screen (docs/api.md §12) under a live stream: `GET /api/overview` gives each
// tenant's figures as of `readAt`; `run:update` pushes move them on. A run's status only moves forward, and its
// own timestamps say which bucket it was in at any moment, so a tile's counts are the read's counts plus, for
// every run pushed since, the move from its bucket at `readAt` to its bucket now — whatever arrived before,
// during or after the read, nothing is counted twice. Lists keep the highest `version` per run. Pure: no DOM,
// no sockets, no Svelte (overview.svelte.ts wraps it; tests/unit/dashboard-overview.test.ts runs it in Node).
import type { BucketCounts, FailureReason, OverviewAnswer, RunSummary, TenantOverview } from '../../../server/http/contract.ts';
import type { RunUpdatePayload } from '../../../server/live/events.ts';
import { compareNewestFirst } from './runs-store.ts';
import { BUCKETS, RANGES, type Bucket, type RangePreset } from './vocabulary.ts';

export type { RunSummary, TenantOverview };

/** As many as the API lists per tenant (docs/api.md §12). */
export const RUNNING_LISTED = 20;
export const FAILURES_LISTED = 5;
/** Runs remembered per tenant since its last read; beyond, the oldest are forgotten (a re-read restores them). */
const MAX_PUSHED = 2_000;

/** One tenant's tile as views show it. */
export type TileView = {
  tenant: { slug: string; name: string };
  buckets: BucketCounts;
  /** Running runs, newest first (at most 20; `buckets.running` counts them all). */
  running: readonly RunSummary[];
  /** Runs that ended failed or partially succeeded in the window, the latest first (at most 5). */
  latestFailures: readonly RunSummary[];
  reasons: readonly FailureReason[];
  /** When the server read the figures (epoch ms, the server's clock). */
  readAt: number;
};

/** What one push did to a tile. */
export type PushEffect = {
  /** The tile shows something new. */
  changed: boolean;
  /**
   * The run ended with this push, and the tile's last read did not already know it ended: news, as opposed to
   * a push that arrived while (or before) the read that already showed it.
   */
  ended: RunSummary | null;
  /** The run ended with failures: the tile's top reasons (which pushes do not carry) need a re-read. */
  reasonsChanged: boolean;
};

const NOTHING: PushEffect = { changed: false, ended: null, reasonsChanged: false };

/**
 * The bucket a run was in at `at` (epoch ms), from its own timestamps; null before it existed. Status moves
 * forward only (queued → running → completed, or queued → completed), so the latest view tells every earlier one.
 */
export function bucketAt(run: RunSummary, at: number): Bucket | null {
  if (Date.parse(run.createdAt) > at) return null;
  if (run.completedAt !== null && Date.parse(run.completedAt) <= at) return run.bucket;
  if (run.startedAt !== null && Date.parse(run.startedAt) <= at) return 'running';
  return 'queued';
}

/** Whether the window's counts include a run in this bucket: queued and running whenever created (as /stats counts). */
function counted(run: RunSummary, bucket: Bucket, from: number): boolean {
  return bucket === 'queued' || bucket === 'running' || Date.parse(run.createdAt) >= from;
}

const isFailure = (run: RunSummary) => run.bucket === 'failed' || run.bucket === 'partially_succeeded';
const endedAt = (run: RunSummary) => Date.parse(run.completedAt ?? run.updatedAt);

/** The latest ended first (ties: the higher id first), as the API lists them. */
export function compareLatestEnded(a: RunSummary, b: RunSummary): number {
  return endedAt(b) - endedAt(a) || (a.id === b.id ? 0 : a.id < b.id ? 1 : -1);
}

/** One tenant: its last read and the runs pushed since. */
export class TileStore {
  #read: TenantOverview;
  #readAt: number;
  /** The read's copy of each run it lists. */
  #listed = new Map<string, RunSummary>();
  /** The highest version pushed per run that is newer than the read, in push order (bounded). */
  readonly #pushed = new Map<string, RunSummary>();
  #view: TileView | null = null;

  constructor(
    read: TenantOverview,
    readAt: number,
    private readonly window: RangePreset,
  ) {
    this.#read = read;
    this.#readAt = readAt;
    this.#index();
  }

  get slug(): string {
    return this.#read.tenant.slug;
  }

  get name(): string {
    return this.#read.tenant.name;
  }

  get readAt(): number {
    return this.#readAt;
  }

  /** The latest known state of a run of this tenant, if the tile knows it. */
  latest(id: string): RunSummary | undefined {
    return this.#pushed.get(id) ?? this.#listed.get(id);
  }

  /**
   * A fresh read replaces the figures. Runs pushed since the previous read stay only where they are newer than
   * this read (changed after `readAt`, or a higher version than the read lists): a push never goes back.
   */
  replace(read: TenantOverview, readAt: number): void {
    this.#read = read;
    this.#readAt = readAt;
    this.#index();
    for (const [id, run] of this.#pushed) {
      if (!this.#isNews(run)) this.#pushed.delete(id);
    }
    this.#view = null;
  }

  /** A pushed `run:update` of this tenant. */
  apply(run: RunSummary): PushEffect {
    const known = this.latest(run.id);
    if (known && known.version >= run.version) return NOTHING;
    if (!this.#isNews(run)) return NOTHING;
    // Ended only if the run was not ended as far as this tile knew: its last known copy, else the read's moment.
    const before = known ? known.bucket : bucketAt(run, this.#readAt);
    const wasEnded = before !== null && before !== 'queued' && before !== 'running';
    const ends = run.status === 'completed' && !wasEnded;
    this.#pushed.delete(run.id);
    this.#pushed.set(run.id, run);
    if (this.#pushed.size > MAX_PUSHED) this.#pushed.delete(this.#pushed.keys().next().value!);
    this.#view = null;
    return { changed: true, ended: ends ? run : null, reasonsChanged: ends && run.failureCount > 0 };
  }

  /** The tile, its window ending at `now`; kept until the next change (a window moves slower than runs do). */
  view(now: number): TileView {
    if (this.#view) return this.#view;
    const from = now - RANGES[this.window];
    const buckets = { ...zeroCounts(), ...this.#read.buckets };
    for (const run of this.#pushed.values()) {
      const listed = this.#listed.get(run.id);
      const before = listed ? listed.bucket : bucketAt(run, this.#readAt);
      if (before === run.bucket) continue;
      if (before !== null && counted(run, before, from)) buckets[before] = Math.max(0, buckets[before] - 1);
      if (counted(run, run.bucket, from)) buckets[run.bucket] += 1;
    }
    const runs = new Map(this.#listed);
    for (const [id, run] of this.#pushed) runs.set(id, run);
    const all = [...runs.values()];
    this.#view = {
      tenant: this.#read.tenant,
      buckets,
      running: all.filter((run) => run.status === 'running').sort(compareNewestFirst).slice(0, RUNNING_LISTED),
      latestFailures: all
        .filter((run) => run.status === 'completed' && isFailure(run) && endedAt(run) >= from)
        .sort(compareLatestEnded)
        .slice(0, FAILURES_LISTED),
      reasons: this.#read.reasons,
      readAt: this.#readAt,
    };
    return this.#view;
  }

  /** Newer than the read: changed after it, or a higher version than the copy it lists. */
  #isNews(run: RunSummary): boolean {
    const listed = this.#listed.get(run.id);
    if (listed) return run.version > listed.version;
    return Date.parse(run.updatedAt) > this.#readAt;
  }

  #index(): void {
    this.#listed = new Map([...this.#read.running, ...this.#read.latestFailures].map((run) => [run.id, run]));
  }
}

/** Every tenant of one screen, in the order the API answers (by name). */
export class OverviewMerge {
  #tiles = new Map<string, TileStore>();
  #order: string[] = [];

  constructor(readonly window: RangePreset) {}

  get tenants(): readonly string[] {
    return this.#order;
  }

  tile(slug: string): TileStore | undefined {
    return this.#tiles.get(slug);
  }

  /**
   * An answer of `GET /api/overview`. `asked`: the tenants a narrowed re-read asked for (null: all of the
   * caller's). Tenants asked for and not answered are gone (access lost); the others stay as they are.
   */
  replace(answer: OverviewAnswer, asked: readonly string[] | null = null): void {
    const readAt = Date.parse(answer.readAt);
    const answered = new Set(answer.tenants.map((t) => t.tenant.slug));
    const tiles = new Map<string, TileStore>();
    const keep = (slug: string) => asked !== null && !asked.includes(slug);
    for (const slug of this.#order) {
      const tile = this.#tiles.get(slug)!;
      if (keep(slug) && !answered.has(slug)) tiles.set(slug, tile);
    }
    for (const read of answer.tenants) {
      const tile = this.#tiles.get(read.tenant.slug);
      // A narrowed re-read may answer after a later one: a tile never goes back to older figures.
      if (tile && readAt >= tile.readAt) tile.replace(read, readAt);
      tiles.set(read.tenant.slug, tile ?? new TileStore(read, readAt, this.window));
    }
    const name = (slug: string) => tiles.get(slug)!.name;
    this.#order = [...tiles.keys()].sort((a, b) => name(a).localeCompare(name(b)) || a.localeCompare(b));
    this.#tiles = tiles;
  }

  /** A `run:update`; a tenant not shown changes nothing. */
  apply(payload: RunUpdatePayload): PushEffect {
    return this.#tiles.get(payload.tenant)?.apply(payload.run) ?? NOTHING;
  }

  views(now: number): TileView[] {
    return this.#order.map((slug) => this.#tiles.get(slug)!.view(now));
  }
}

export function zeroCounts(): BucketCounts {
  return Object.fromEntries(BUCKETS.map((b) => [b, 0])) as BucketCounts;
}
