/**
 * Aggregates of records that never change once their run completed (a snapshot's policy types, a
 * generation's counts), kept per process by run id so a page does not re-count thousands of rows on every
 * read. Bounded: the oldest entry goes first.
 */
export class CompletedRunCache<V> {
  readonly #entries = new Map<string, V>();

  constructor(private readonly max = 500) {}

  async get(runId: string, load: () => Promise<V>): Promise<V> {
    const hit = this.#entries.get(runId);
    if (hit !== undefined) return hit;
    const value = await load();
    if (this.#entries.size >= this.max) this.#entries.delete(this.#entries.keys().next().value!);
    this.#entries.set(runId, value);
    return value;
  }
}
