// The Operations board's state for one tenant: rows (RunsStore), bucket counters for the window, paging,
// and the age of what is shown. Live pushes merge in; every (re)connect and `resync` re-reads over HTTP.
// Under a search or reason filter (which only the server can match) pushes change the rows shown but add
// none (runs-store.ts isServerFiltered); the counters always count the range's runs of the selected types.
import type { RunUpdatePayload } from '../../../server/live/events.ts';
import { api, ApiError, endpoints, type RunQuery, type RunsPage, type Stats } from './api.ts';
import { FrameBatch } from './frame-batch.ts';
import type { LiveChannel } from './live.svelte.ts';
import {
  countTransition,
  filterWindow,
  isCustomRange,
  RunsStore,
  TRIMMED,
  type BoardFilter,
  type BoardRun,
  type BucketCounts,
} from './runs-store.ts';
import { BUCKETS } from './vocabulary.ts';

export const PAGE_SIZE = 50;
/** A re-read asks for as many rows as are shown (up to the API's maximum), so "load more" depth survives. */
const MAX_REREAD = 500;
/** Counter corrections from /stats after changes the board could not count itself. */
const STATS_DEBOUNCE_MS = 2_000;
/**
 * While a search or reason filter is on, only the server knows whether a run it has not listed matches: a new
 * run, or one that ended (its failures may now match), is followed by one re-read within this long.
 */
const SEARCH_REREAD_MS = 2_000;

const zeroCounts = (): BucketCounts => Object.fromEntries(BUCKETS.map((b) => [b, 0])) as BucketCounts;

export type BoardOptions = {
  /** A kiosk token (the wall); signed-in users use their cookie. */
  token?: string | null;
  pageSize?: number;
  /** Keep bucket counters for the filter's range (from /stats, moved along by pushes). */
  counters?: boolean;
  /** Rows kept while new runs arrive at the top (older ones drop off; "load more" brings them back). */
  maxRows?: number;
};

export function filterKey(filter: BoardFilter): string {
  return JSON.stringify([
    filter.range,
    filter.from ?? null,
    filter.to ?? null,
    [...filter.types].sort(),
    [...filter.buckets].sort(),
    filter.q ?? '',
    [...(filter.failureCodes ?? [])].sort(),
  ]);
}

export class Board {
  rows = $state.raw<readonly BoardRun[]>([]);
  hasMore = $state(false);
  counts = $state.raw<BucketCounts | null>(null);
  /** The first read has not answered yet. */
  loading = $state(true);
  /** A re-read (filters changed, reconnect, resync) is under way; rows shown meanwhile are the previous ones. */
  refreshing = $state(false);
  loadingMore = $state(false);
  error = $state<string | null>(null);
  /** The caller may not read this tenant (403): nothing here will ever load. */
  forbidden = $state(false);
  /** When the rows were last read from the API. */
  syncedAt = $state<number | null>(null);
  /** When a live update last changed something shown. */
  updatedAt = $state<number | null>(null);
  filter = $state.raw<BoardFilter>({ types: [], buckets: [], range: '30d' });

  readonly tenant: string;
  readonly #live: LiveChannel;
  readonly #store: RunsStore;
  readonly #options: Required<BoardOptions>;
  #readSeq = 0;
  #statsSeq = 0;
  #statsTimer: ReturnType<typeof setTimeout> | undefined;
  #searchTimer: ReturnType<typeof setTimeout> | undefined;
  #release: (() => void)[] = [];
  /** Pushed runs not applied yet, in arrival order (see #onRunUpdate). */
  readonly #pushes = new FrameBatch<BoardRun>((batch) => this.#applyPushes(batch));

  constructor(tenant: string, live: LiveChannel, filter: BoardFilter, options: BoardOptions = {}) {
    this.tenant = tenant;
    this.#live = live;
    this.filter = filter;
    this.#options = { token: null, pageSize: PAGE_SIZE, counters: true, maxRows: MAX_REREAD, ...options };
    this.#store = new RunsStore(filter, this.#options.maxRows);
  }

  start(): void {
    this.#release.push(
      this.#live.watchTenant(this.tenant),
      this.#live.onRunUpdate((payload) => this.#onRunUpdate(payload)),
      this.#live.onResync(() => void this.reload()),
    );
    void this.reload();
  }

  dispose(): void {
    for (const release of this.#release) release();
    this.#release = [];
    this.#pushes.clear();
    clearTimeout(this.#statsTimer);
    clearTimeout(this.#searchTimer);
    this.#readSeq++;
    this.#statsSeq++;
  }

  setFilter(filter: BoardFilter): void {
    if (filterKey(filter) === filterKey(this.filter)) return;
    this.filter = filter;
    this.#store.setFilter(filter);
    void this.reload();
  }

  /** Re-read rows and counters from the API (first load, filters, reconnect, resync). */
  async reload(): Promise<void> {
    // What arrived before the read started counts as arrived before the mark, exactly as if applied at once.
    this.#pushes.flush();
    const seq = ++this.#readSeq;
    const mark = this.#store.mark();
    const filter = this.filter;
    this.refreshing = true;
    if (this.#options.counters) this.#refreshCounts();
    try {
      const limit = Math.min(MAX_REREAD, Math.max(this.#options.pageSize, this.rows.length));
      const page = await api<RunsPage>(endpoints.runs(this.tenant, runQuery(filter, limit)), { token: this.#options.token });
      if (seq !== this.#readSeq) return;
      this.#store.replace(page, mark, Date.now());
      this.#publish();
      this.syncedAt = Date.now();
      this.error = null;
    } catch (error) {
      if (seq !== this.#readSeq) return;
      this.error = message(error);
      this.forbidden = error instanceof ApiError && error.status === 403;
    } finally {
      if (seq === this.#readSeq) {
        this.loading = false;
        this.refreshing = false;
      }
    }
  }

  async loadMore(): Promise<void> {
    const cursor = this.#store.nextCursor;
    if (!cursor || this.loadingMore) return;
    // Rows were dropped from the bottom: a fresh read gives a real cursor to continue from.
    if (cursor === TRIMMED) return this.reload();
    const seq = this.#readSeq;
    this.loadingMore = true;
    try {
      const filter = this.filter;
      const page = await api<RunsPage>(endpoints.runs(this.tenant, runQuery(filter, this.#options.pageSize, cursor)), {
        token: this.#options.token,
      });
      if (seq !== this.#readSeq) return;
      this.#store.append(page, Date.now());
      this.#publish();
    } catch (error) {
      this.error = message(error);
    } finally {
      this.loadingMore = false;
    }
  }

  /**
   * Pushes are applied once per animation frame rather than one by one: a busy tenant sends hundreds a second,
   * more than a screen shows, and each apply re-renders the rows. Order and merge rules are unchanged (the
   * batch is applied in arrival order); only the moment moves, to just before the next paint.
   */
  #onRunUpdate({ tenant, run }: RunUpdatePayload): void {
    if (tenant === this.tenant) this.#pushes.push(run);
  }

  #applyPushes(batch: BoardRun[]): void {
    const now = Date.now();
    let changed = false;
    for (const run of batch) {
      const previous = this.#store.latest(run.id);
      if (previous && previous.version >= run.version) continue;
      if (this.#store.apply(run, now)) changed = true;
      else if (run.version === 1 || run.status === 'completed') this.#scheduleSearchRead();
      this.#count(previous, run, now);
    }
    if (changed) {
      this.#publish();
      this.updatedAt = now;
    }
  }

  /** Moves the counters with the run when its previous state is known; else asks /stats again, soon. */
  #count(previous: BoardRun | undefined, run: BoardRun, now: number): void {
    if (!this.counts || isCustomRange(this.filter)) return;
    if (this.filter.types.length > 0 && !this.filter.types.includes(run.type)) return;
    const next = countTransition(this.counts, previous, run, filterWindow(this.filter, now).from);
    if (next) this.counts = next;
    else this.#scheduleStats();
  }

  #scheduleSearchRead(): void {
    if (this.#searchTimer !== undefined || !(this.filter.q || this.filter.failureCodes?.length)) return;
    this.#searchTimer = setTimeout(() => {
      this.#searchTimer = undefined;
      void this.reload();
    }, SEARCH_REREAD_MS);
  }

  #scheduleStats(): void {
    if (this.#statsTimer !== undefined) return;
    this.#statsTimer = setTimeout(() => {
      this.#statsTimer = undefined;
      this.#refreshCounts();
    }, STATS_DEBOUNCE_MS);
  }

  /** /stats counts preset windows only: a custom range shows no counters rather than wrong ones. */
  #refreshCounts(): void {
    if (!isCustomRange(this.filter)) return void this.#readStats();
    this.#statsSeq++;
    this.counts = null;
  }

  async #readStats(): Promise<void> {
    const seq = ++this.#statsSeq;
    const filter = this.filter;
    try {
      const stats = await api<Stats>(endpoints.stats(this.tenant, filter.range), { token: this.#options.token });
      if (seq !== this.#statsSeq) return;
      this.counts = countsFor(stats, filter.types);
    } catch {
      // The rows' read reports errors; counters keep their last value.
    }
  }

  #publish(): void {
    this.rows = this.#store.rows;
    this.hasMore = this.#store.nextCursor !== null;
  }
}

function runQuery(filter: BoardFilter, limit: number, cursor: string | null = null): RunQuery {
  const window = filterWindow(filter, Date.now());
  return {
    types: filter.types,
    buckets: filter.buckets,
    from: new Date(window.from),
    to: window.to === null ? null : new Date(window.to),
    limit,
    cursor,
    q: filter.q ?? null,
    failureCodes: filter.failureCodes ?? [],
  };
}

/** Bucket counters for the selected types (all types when none is selected). */
export function countsFor(stats: Stats, types: readonly string[]): BucketCounts {
  if (types.length === 0) return { ...zeroCounts(), ...stats.buckets };
  const counts = zeroCounts();
  for (const entry of stats.types) {
    if (!types.includes(entry.type)) continue;
    for (const bucket of BUCKETS) counts[bucket] += entry.buckets[bucket] ?? 0;
  }
  return counts;
}

export function message(error: unknown): string {
  if (error instanceof ApiError) return error.message;
  return 'Something went wrong while reading from the server.';
}
