// Live pushes applied in batches rather than one by one: a busy tenant sends hundreds a second, more than a screen
// shows, and each apply re-renders what it touches. A batch is applied just before the next paint (an animation
// frame), or — where a view needs no more than a few refreshes a second — at most once per `everyMs`, in the
// first frame after that. Order is kept: a batch is applied in arrival order.

/** Pushes wait at most this long for an animation frame (none come while the page is hidden). */
export const FLUSH_LATEST_MS = 100;

/** The page's animation frames; absent where there is no page (server rendering, unit tests without a stand-in). */
const frames = globalThis as {
  requestAnimationFrame?: (callback: (time: number) => void) => number;
  cancelAnimationFrame?: (id: number) => void;
};

export class FrameBatch<T> {
  #pending: T[] = [];
  #frame: number | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #lastFlush = 0;
  readonly #apply: (batch: T[]) => void;
  readonly #everyMs: number;

  /** `everyMs`: the shortest time between two batches (0: every frame). */
  constructor(apply: (batch: T[]) => void, options: { everyMs?: number } = {}) {
    this.#apply = apply;
    this.#everyMs = options.everyMs ?? 0;
  }

  get size(): number {
    return this.#pending.length;
  }

  push(item: T): void {
    this.#pending.push(item);
    if (this.#timer !== undefined || this.#frame !== undefined) return;
    const wait = Math.max(0, this.#lastFlush + this.#everyMs - Date.now());
    if (wait > 0) {
      // Too soon after the last batch: wait out the interval, then take the next frame.
      this.#timer = setTimeout(() => {
        this.#timer = undefined;
        this.#schedule();
      }, wait);
      return;
    }
    this.#schedule();
  }

  /** Applies what is pending now (before a read, so the read decides what is newer). */
  flush(): void {
    this.#cancel();
    if (this.#pending.length === 0) return;
    const batch = this.#pending;
    this.#pending = [];
    this.#lastFlush = Date.now();
    this.#apply(batch);
  }

  /** Drops what is pending and stops waiting (the view is gone). */
  clear(): void {
    this.#cancel();
    this.#pending = [];
  }

  #schedule(): void {
    this.#timer = setTimeout(() => this.flush(), FLUSH_LATEST_MS);
    this.#frame = frames.requestAnimationFrame?.(() => this.flush());
  }

  #cancel(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#frame !== undefined) frames.cancelAnimationFrame?.(this.#frame);
    this.#frame = undefined;
  }
}
