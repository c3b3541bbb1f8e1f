// A ticking "now" for relative times, durations and data age. It only ticks while something on screen
// reads it (createSubscriber), so hidden views cost nothing.
import { createSubscriber } from 'svelte/reactivity';

class Clock {
  #now = Date.now();
  readonly #subscribe: () => void;

  constructor(intervalMs: number) {
    this.#subscribe = createSubscriber((update) => {
      this.#now = Date.now();
      const timer = setInterval(() => {
        this.#now = Date.now();
        update();
      }, intervalMs);
      return () => clearInterval(timer);
    });
  }

  get now(): number {
    this.#subscribe();
    return this.#now;
  }
}

/** Ticks every second. */
export const clock = new Clock(1_000);
