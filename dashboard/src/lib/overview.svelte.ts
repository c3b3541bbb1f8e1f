// Many tenants on one screen (docs/api.md §12): the tiles of `GET /api/overview`, one live channel subscribed to
// each tenant shown, pushes merged by overview-merge.ts. Re-read after every (re)connect and `resync`, a tenant
// alone once its room is joined outside a reconnect (pushes before that were not received) and about a second
// after one of its runs ends with failures (its top reasons), and all every few minutes as the window moves.
import type { RunUpdatePayload } from '../../../server/live/events.ts';
import { api, ApiError, endpoints, type OverviewAnswer } from './api.ts';
import { message } from './board.svelte.ts';
import { FrameBatch } from './frame-batch.ts';
import type { LiveChannel } from './live.svelte.ts';
import { OverviewMerge, type RunSummary, type TileView } from './overview-merge.ts';
import type { RangePreset } from './vocabulary.ts';
import { localReadTime } from './wall-view.ts';

/** Tenants to re-read wait this long for others (a burst of completions, many rooms joined at once). */
const REREAD_DEBOUNCE_MS = 1_000;
const JOINED_DEBOUNCE_MS = 50;
const REFRESH_EVERY_MS = 5 * 60_000;

export type OverviewOptions = {
  /** A kiosk token (the wall); signed-in users use their cookie. */
  token?: string | null;
  window?: RangePreset;
  /** Only these of the caller's tenants (`?tenants=`); empty: all of them. */
  tenants?: readonly string[];
  /** Apply pushes at most this often (the wall: a few times a second); default every animation frame. */
  pushEveryMs?: number;
  /** A run newly ended in a tenant shown (the wall's alerts). */
  onEnded?: (tenant: string, run: RunSummary) => void;
};

export class Overview {
  tiles = $state.raw<readonly TileView[]>([]);
  /** Per tenant, when its tile was last read or changed by a push (this browser's clock). */
  freshAt = $state.raw<ReadonlyMap<string, number>>(new Map());
  /** The first read has not answered yet. */
  loading = $state(true);
  error = $state<string | null>(null);
  /** The API refused the caller (401): the session is gone, or the kiosk token was revoked or expired. */
  unauthorized = $state(false);

  readonly window: RangePreset;
  readonly #live: LiveChannel;
  readonly #merge: OverviewMerge;
  readonly #options: OverviewOptions;
  readonly #watching = new Map<string, () => void>();
  #release: (() => void)[] = [];
  #seq = 0;
  readonly #pushes: FrameBatch<RunUpdatePayload>;
  #dirty = new Set<string>();
  #dirtyTimer: ReturnType<typeof setTimeout> | undefined;
  #refreshTimer: ReturnType<typeof setInterval> | undefined;
  #stopped = false;

  constructor(live: LiveChannel, options: OverviewOptions = {}) {
    this.#live = live;
    this.#options = options;
    this.window = options.window ?? '24h';
    this.#merge = new OverviewMerge(this.window);
    this.#pushes = new FrameBatch((batch) => this.#applyPushes(batch), { everyMs: options.pushEveryMs ?? 0 });
  }

  start(): void {
    this.#release.push(
      this.#live.onRunUpdate((payload) => this.#onRunUpdate(payload)),
      this.#live.onResync(() => void this.reload()),
      this.#live.onSubscribed((tenant) => {
        if (this.#watching.has(tenant)) this.#reread(tenant, JOINED_DEBOUNCE_MS);
      }),
    );
    this.#refreshTimer = setInterval(() => void this.reload(), REFRESH_EVERY_MS);
    void this.reload();
  }

  dispose(): void {
    this.#stopped = true;
    for (const release of [...this.#release, ...this.#watching.values()]) release();
    this.#release = [];
    this.#watching.clear();
    this.#pushes.clear();
    clearTimeout(this.#dirtyTimer);
    clearInterval(this.#refreshTimer);
    this.#seq++;
  }

  /** Re-read every tenant (or only `tenants`, a narrowed read that leaves the others as they are). */
  async reload(tenants: readonly string[] | null = null): Promise<void> {
    // What arrived before the read started is applied first: the read then decides what is newer.
    this.#pushes.flush();
    const seq = tenants === null ? ++this.#seq : this.#seq;
    const sentAt = Date.now();
    try {
      const answer = await api<OverviewAnswer>(endpoints.overview(this.window, tenants ?? this.#options.tenants ?? []), {
        token: this.#options.token ?? null,
      });
      if (this.#stopped || (tenants === null && seq !== this.#seq)) return;
      this.#pushes.flush();
      this.#merge.replace(answer, tenants);
      const at = localReadTime(answer.readAt, sentAt, Date.now());
      const fresh = new Map(this.freshAt);
      for (const read of answer.tenants) fresh.set(read.tenant.slug, Math.max(at, fresh.get(read.tenant.slug) ?? 0));
      for (const slug of fresh.keys()) if (!this.#merge.tile(slug)) fresh.delete(slug);
      this.freshAt = fresh;
      this.#watchShown();
      this.#publish();
      this.error = null;
      this.unauthorized = false;
    } catch (error) {
      if (this.#stopped || (tenants === null && seq !== this.#seq)) return;
      this.error = message(error);
      this.unauthorized = error instanceof ApiError && error.status === 401;
    } finally {
      if (!this.#stopped && seq === this.#seq) this.loading = false;
    }
  }

  /** Exactly the tenants shown are watched: new ones joined, ones gone (access lost) left. */
  #watchShown(): void {
    const shown = new Set(this.#merge.tenants);
    for (const [slug, release] of this.#watching) {
      if (shown.has(slug)) continue;
      release();
      this.#watching.delete(slug);
    }
    for (const slug of shown) if (!this.#watching.has(slug)) this.#watching.set(slug, this.#live.watchTenant(slug));
  }

  #reread(tenant: string, afterMs: number): void {
    this.#dirty.add(tenant);
    if (this.#dirtyTimer !== undefined) return;
    this.#dirtyTimer = setTimeout(() => {
      this.#dirtyTimer = undefined;
      const tenants = [...this.#dirty];
      this.#dirty.clear();
      if (tenants.length > 0) void this.reload(tenants);
    }, afterMs);
  }

  /** Pushes are applied in batches (frame-batch.ts), in arrival order, like the board's. */
  #onRunUpdate(payload: RunUpdatePayload): void {
    if (this.#watching.has(payload.tenant)) this.#pushes.push(payload);
  }

  #applyPushes(batch: RunUpdatePayload[]): void {
    const now = Date.now();
    const changed = new Set<string>();
    for (const payload of batch) {
      const effect = this.#merge.apply(payload);
      if (effect.changed) changed.add(payload.tenant);
      if (effect.ended) this.#options.onEnded?.(payload.tenant, effect.ended);
      if (effect.reasonsChanged) this.#reread(payload.tenant, REREAD_DEBOUNCE_MS);
    }
    if (changed.size === 0) return;
    const fresh = new Map(this.freshAt);
    for (const slug of changed) fresh.set(slug, now);
    this.freshAt = fresh;
    this.#publish();
  }

  #publish(): void {
    this.tiles = this.#merge.views(Date.now());
  }
}
