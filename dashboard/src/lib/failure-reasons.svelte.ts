// The top failure reasons of one tenant over a stats window (docs/api.md §11, `GET …/failure-reasons`), for the
// board's "Top reasons" panel and the wall's list. Re-read after every (re)connect and `resync` (the live
// channel's signal, like the board's counters), about a second after runs complete with failures (a burst of
// them makes one read), and every few minutes, so that reasons sliding out of a short window leave it.
import { api, endpoints, type FailureReason, type FailureReasonsAnswer } from './api.ts';
import { message } from './board.svelte.ts';
import { changesReasons } from './board-insight.ts';
import type { LiveChannel } from './live.svelte.ts';
import type { RangePreset } from './vocabulary.ts';

/** A run completing with failures changes the reasons: read again this long after the last one. */
export const REASONS_DEBOUNCE_MS = 1_000;
const REFRESH_EVERY_MS = 5 * 60_000;

export type FailureReasonsOptions = {
  /** A kiosk token (the wall); signed-in users use their cookie. */
  token?: string | null;
  /** How many reasons to ask for (1–100). */
  limit?: number;
};

export class FailureReasons {
  reasons = $state.raw<readonly FailureReason[]>([]);
  /** The first read (of this window) has not answered yet. */
  loading = $state(true);
  /** A re-read is under way; the reasons shown meanwhile are the previous ones. */
  refreshing = $state(false);
  error = $state<string | null>(null);
  /** The window counted; null for a custom range, which the API does not count (nothing is read then). */
  window = $state<RangePreset | null>(null);

  readonly tenant: string;
  readonly #live: LiveChannel;
  readonly #token: string | null;
  readonly #limit: number;
  #seq = 0;
  #debounce: ReturnType<typeof setTimeout> | undefined;
  #interval: ReturnType<typeof setInterval> | undefined;
  #release: (() => void)[] = [];

  constructor(tenant: string, live: LiveChannel, window: RangePreset | null, options: FailureReasonsOptions = {}) {
    this.tenant = tenant;
    this.#live = live;
    this.window = window;
    this.#token = options.token ?? null;
    this.#limit = options.limit ?? 10;
  }

  start(): void {
    this.#release.push(
      this.#live.watchTenant(this.tenant),
      this.#live.onRunUpdate((payload) => {
        if (changesReasons(payload, this.tenant)) this.#soon();
      }),
      this.#live.onResync(() => void this.load()),
    );
    this.#interval = setInterval(() => void this.load(), REFRESH_EVERY_MS);
    void this.load();
  }

  dispose(): void {
    for (const release of this.#release) release();
    this.#release = [];
    clearTimeout(this.#debounce);
    this.#debounce = undefined;
    clearInterval(this.#interval);
    this.#interval = undefined;
    this.#seq++;
  }

  /** Another window (the board's range changed): read it; the reasons shown stay until the answer. */
  setWindow(window: RangePreset | null): void {
    if (window === this.window) return;
    this.window = window;
    this.loading = true;
    void this.load();
  }

  async load(): Promise<void> {
    clearTimeout(this.#debounce);
    this.#debounce = undefined;
    const seq = ++this.#seq;
    const window = this.window;
    if (window === null) {
      this.reasons = [];
      this.error = null;
      this.loading = this.refreshing = false;
      return;
    }
    this.refreshing = true;
    try {
      const answer = await api<FailureReasonsAnswer>(endpoints.failureReasons(this.tenant, window, this.#limit), { token: this.#token });
      if (seq !== this.#seq) return;
      this.reasons = answer.reasons;
      this.error = null;
    } catch (error) {
      if (seq !== this.#seq) return;
      this.error = message(error);
    } finally {
      if (seq === this.#seq) this.loading = this.refreshing = false;
    }
  }

  #soon(): void {
    if (this.#debounce !== undefined || this.window === null) return;
    this.#debounce = setTimeout(() => {
      this.#debounce = undefined;
      void this.load();
    }, REASONS_DEBOUNCE_MS);
  }
}
