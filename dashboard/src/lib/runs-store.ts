// The board's rows and the rules that keep them right under a live stream (docs/api.md §4): keep the highest
// `version` per run, place rows by (createdAt, id) newest first, let rows enter and leave as they start or
// stop matching the filters, and let an HTTP re-read replace everything without going back to an older
// version that was pushed while the read was under way. Pure: no DOM, no sockets, no Svelte — the Svelte
// classes wrap it, and tests/unit/live-merge.test.ts runs it in Node.
import type { BucketCounts, RunsPage } from '../../../server/http/contract.ts';
import type { RunUpdatePayload } from '../../../server/live/events.ts';
import { RANGES, type Bucket, type RangePreset } from './vocabulary.ts';

export type { BucketCounts };

/** A run as the board shows it: what `run:update` carries (no failures list). */
export type BoardRun = RunUpdatePayload['run'];

export type BoardFilter = {
  /** Operation types; empty = all. */
  types: readonly string[];
  /** Buckets; empty = all. */
  buckets: readonly Bucket[];
  range: RangePreset;
  /** A custom range (ISO instants, `to` exclusive like the API's); when either is set, `range` does not apply. */
  from?: string;
  to?: string;
  /** Search text (docs/api.md §11), trimmed, 1–100 characters; absent = no search. Only the server can match it. */
  q?: string;
  /** Failure reason codes (any of them); absent or empty = all. Only the server can match them. */
  failureCodes?: readonly string[];
};

/** A page of `GET …/runs` as the store takes it: its rows need not carry the failures list. */
export type RowsPage = Omit<RunsPage, 'runs'> & { runs: readonly BoardRun[] };

/** Newest first: createdAt descending, then id descending (the API's keyset order). */
export function compareNewestFirst(a: BoardRun, b: BoardRun): number {
  if (a.createdAt !== b.createdAt) return a.createdAt < b.createdAt ? 1 : -1;
  if (a.id === b.id) return 0;
  return a.id < b.id ? 1 : -1;
}

export function windowStart(range: RangePreset, now: number): number {
  return now - RANGES[range];
}

export function isCustomRange(filter: BoardFilter): boolean {
  return filter.from !== undefined || filter.to !== undefined;
}

/**
 * The creation times a filter shows: a preset reaches back from now; a custom range is fixed (only `to`:
 * the 30 days before it, as the API's default window; only `from`: open towards now, so new runs enter).
 */
export function filterWindow(filter: BoardFilter, now: number): { from: number; to: number | null } {
  if (!isCustomRange(filter)) return { from: windowStart(filter.range, now), to: null };
  const to = filter.to !== undefined ? Date.parse(filter.to) : null;
  const from = filter.from !== undefined ? Date.parse(filter.from) : (to ?? now) - RANGES['30d'];
  return { from, to };
}

/**
 * Search and failure reasons are matched by the server alone (a run's failures and its initiator's email are
 * not in a push): while either is set, a pushed run the list does not show yet is not added — the next read
 * (a resync, a reconnect, a filter change) brings it if it matches. Runs already shown still change in place.
 */
export function isServerFiltered(filter: BoardFilter): boolean {
  return (filter.q !== undefined && filter.q !== '') || (filter.failureCodes?.length ?? 0) > 0;
}

/** Whether a run fits the filters a client can check itself: types, buckets and the time range. */
export function matchesFilter(run: BoardRun, filter: BoardFilter, now: number): boolean {
  if (filter.types.length > 0 && !filter.types.includes(run.type)) return false;
  if (filter.buckets.length > 0 && !filter.buckets.includes(run.bucket)) return false;
  const created = Date.parse(run.createdAt);
  const window = filterWindow(filter, now);
  return created >= window.from && (window.to === null || created < window.to);
}

type Seen = { run: BoardRun; seq: number };

/**
 * The cursor after rows were dropped from the bottom to keep a long-open board bounded: there is more to
 * load, but only a fresh read can say from where.
 */
export const TRIMMED = 'trimmed';

/**
 * The rows of one board (one tenant, one filter). `rows` is replaced, never mutated, whenever it changes, so
 * a view can hold it in `$state.raw` and compare by identity.
 */
export class RunsStore {
  rows: readonly BoardRun[] = [];
  /** Cursor of the next page; null when every matching run is loaded. */
  nextCursor: string | null = null;
  /** False until the first page arrived. */
  loaded = false;

  /** Highest version seen per run id, in recency order (a Map keeps insertion order), bounded. */
  readonly #seen = new Map<string, Seen>();
  #seq = 0;

  constructor(
    public filter: BoardFilter,
    /** New runs push the oldest rows out beyond this many (raised by "load more"). */
    public maxRows = Infinity,
    private readonly maxSeen = 5_000,
  ) {}

  /** The latest known state of a run, whether shown or not. */
  latest(id: string): BoardRun | undefined {
    return this.#seen.get(id)?.run;
  }

  /**
   * A pushed `run:update`. Returns true when the rows changed. Older or repeated versions are ignored; a run
   * that matches the filters enters at its place (a new run: the top), one that stops matching leaves.
   */
  apply(run: BoardRun, now: number): boolean {
    if (!this.#remember(run, ++this.#seq)) return false;
    const index = this.rows.findIndex((row) => row.id === run.id);
    const fits = matchesFilter(run, this.filter, now);
    if (index >= 0) {
      const next = this.rows.slice();
      if (fits) next[index] = run;
      else next.splice(index, 1);
      this.rows = next;
      return true;
    }
    if (!fits || isServerFiltered(this.filter) || !this.#withinLoaded(run)) return false;
    const rows = insertSorted(this.rows, run);
    if (rows.length > this.maxRows) {
      rows.length = this.maxRows;
      this.nextCursor = TRIMMED;
    }
    this.rows = rows;
    return true;
  }

  /** Call before an HTTP read; pass the mark to `replace` so pushes that arrive meanwhile are kept. */
  mark(): number {
    return this.#seq;
  }

  /**
   * The first page(s) of a fresh read replace the rows. A version pushed after `mark` and newer than the
   * read's wins, and a run pushed after `mark` that the read did not include yet stays (if it still fits; not
   * under a search or reason filter, where only the read can say what matches).
   */
  replace(page: RowsPage, mark: number, now: number): void {
    const byId = new Map<string, BoardRun>();
    for (const run of page.runs) byId.set(run.id, this.#best(run));
    if (!isServerFiltered(this.filter)) {
      for (const [id, seen] of this.#seen) {
        if (seen.seq > mark && !byId.has(id)) byId.set(id, seen.run);
      }
    }
    let rows = [...byId.values()].filter((run) => matchesFilter(run, this.filter, now)).sort(compareNewestFirst);
    const last = page.runs.at(-1);
    // Beyond the last row of an incomplete read lies the next page: leave those rows to "load more".
    if (page.nextCursor !== null && last) rows = rows.filter((run) => compareNewestFirst(run, last) <= 0);
    this.rows = rows;
    this.nextCursor = page.nextCursor;
    this.loaded = true;
  }

  /** The next keyset page ("load more"): rows not already shown are added in order. */
  append(page: RowsPage, now: number): void {
    const shown = new Set(this.rows.map((row) => row.id));
    const added = page.runs
      .filter((run) => !shown.has(run.id))
      .map((run) => this.#best(run))
      .filter((run) => matchesFilter(run, this.filter, now));
    this.rows = [...this.rows, ...added].sort(compareNewestFirst);
    this.nextCursor = page.nextCursor;
    this.maxRows = Math.max(this.maxRows, this.rows.length);
  }

  /** New filters: rows stay visible until the next `replace` (no flash of an empty table). */
  setFilter(filter: BoardFilter): void {
    this.filter = filter;
  }

  /** The read's copy of a run, or a newer pushed one; remembers the read's when it is the newest. */
  #best(run: BoardRun): BoardRun {
    const seen = this.#seen.get(run.id);
    if (seen && seen.run.version >= run.version) return seen.run;
    this.#remember(run, seen?.seq ?? 0);
    return run;
  }

  /** Records a version; false when it is not newer than the one known. */
  #remember(run: BoardRun, seq: number): boolean {
    const seen = this.#seen.get(run.id);
    if (seen && seen.run.version >= run.version) return false;
    this.#seen.delete(run.id);
    this.#seen.set(run.id, { run, seq });
    if (this.#seen.size > this.maxSeen) {
      const shown = new Set(this.rows.map((row) => row.id));
      for (const id of this.#seen.keys()) {
        if (this.#seen.size <= this.maxSeen) break;
        if (!shown.has(id)) this.#seen.delete(id);
      }
    }
    return true;
  }

  /** A run belongs in the loaded range when nothing more is to load, or it sorts before the last row. */
  #withinLoaded(run: BoardRun): boolean {
    const last = this.rows.at(-1);
    if (this.nextCursor === null || !last) return this.nextCursor === null;
    return compareNewestFirst(run, last) < 0;
  }
}

function insertSorted(rows: readonly BoardRun[], run: BoardRun): BoardRun[] {
  const next = rows.slice();
  let at = 0;
  while (at < next.length && compareNewestFirst(next[at]!, run) < 0) at++;
  next.splice(at, 0, run);
  return next;
}

/**
 * Moves a run between bucket counters of a stats window the way /stats counts (queued and running whenever
 * created, finished runs only when created in the window). Returns null when the previous state is unknown
 * and only a re-read can tell.
 */
export function countTransition(
  counts: BucketCounts,
  previous: BoardRun | undefined,
  run: BoardRun,
  from: number,
): BucketCounts | null {
  const counted = (r: BoardRun) => r.bucket === 'queued' || r.bucket === 'running' || Date.parse(r.createdAt) >= from;
  if (!previous) {
    // A run never seen before is new only if this is its first version.
    if (run.version !== 1) return null;
    return counted(run) ? { ...counts, [run.bucket]: counts[run.bucket] + 1 } : counts;
  }
  if (previous.bucket === run.bucket) return counts;
  const next = { ...counts };
  if (counted(previous)) next[previous.bucket] = Math.max(0, next[previous.bucket] - 1);
  if (counted(run)) next[run.bucket] += 1;
  return next;
}
