import type { RunBaseline } from './model.ts';
import type { RunStore } from './store.ts';

/** Baselines are measured over this many days of completed runs. */
export const BASELINE_DAYS = 30;
/** A tenant's baselines are re-measured after this long (read in the background while the old ones serve). */
const FRESH_MS = 30_000;
/** Tenants whose baselines are kept in memory; the least recently read are dropped beyond this. */
const MAX_TENANTS = 10_000;

type Entry = { at: number; value: Map<string, RunBaseline>; refreshing: Promise<Map<string, RunBaseline>> | null };

export const NO_BASELINE: RunBaseline = { runs30d: 0, failureRate30d: null, p50DurationMs: null, p95DurationMs: null };

/**
 * Each operation type's measured baseline per tenant (docs/api.md §11), kept fresh within a minute without
 * measuring on every request: a tenant's figures are measured once (one index-only scan of its completed runs
 * of 30 days), served from memory, and re-measured in the background once they are 30 s old — so a read never
 * waits, except the very first for a tenant in this process. Concurrent first reads share one measurement.
 */
export class RunBaselines {
  readonly #tenants = new Map<string, Entry>();

  constructor(
    private readonly store: RunStore,
    private readonly now: () => number = Date.now,
  ) {}

  /** Baselines by type (types without completed runs in the window are absent: use NO_BASELINE). */
  async of(tenantId: string): Promise<ReadonlyMap<string, RunBaseline>> {
    const entry = this.#tenants.get(tenantId);
    if (!entry) {
      const placeholder: Entry = { at: 0, value: new Map(), refreshing: null };
      const measuring = this.measure(tenantId, placeholder);
      this.#tenants.set(tenantId, placeholder);
      this.trim();
      return measuring;
    }
    // Re-inserted: the map's order is the order of last use.
    this.#tenants.delete(tenantId);
    this.#tenants.set(tenantId, entry);
    if (entry.at === 0 && entry.refreshing) return entry.refreshing;
    if (this.now() - entry.at >= FRESH_MS && !entry.refreshing) void this.measure(tenantId, entry).catch(() => undefined);
    return entry.value;
  }

  private measure(tenantId: string, entry: Entry): Promise<Map<string, RunBaseline>> {
    entry.refreshing = this.store
      .baselines(tenantId, BASELINE_DAYS)
      .then((rows) => {
        entry.value = new Map(
          rows.map((row) => [
            row.type,
            { runs30d: row.runs, failureRate30d: row.runs > 0 ? row.failed / row.runs : null, p50DurationMs: row.p50_ms, p95DurationMs: row.p95_ms },
          ]),
        );
        entry.at = this.now();
        return entry.value;
      })
      .catch((error: unknown) => {
        // A first measurement that failed is forgotten, so the next read tries again (and reports the error).
        if (entry.at === 0) this.#tenants.delete(tenantId);
        throw error;
      })
      .finally(() => {
        entry.refreshing = null;
      });
    return entry.refreshing;
  }

  private trim(): void {
    for (const tenantId of this.#tenants.keys()) {
      if (this.#tenants.size <= MAX_TENANTS) return;
      this.#tenants.delete(tenantId);
    }
  }
}
