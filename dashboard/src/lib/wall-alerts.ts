// A wall's alerts (docs/api.md §12): a run that newly ends failed (or partially succeeded, with `?alert=partial`)
// highlights its tenant's tile until acknowledged or for 5 minutes, and may sound a tone — once per new alert,
// never more than once a minute. "Newly" is decided by the tiles (overview-merge.ts `ended`: a push the last
// read did not already show ended); the book adds that a run alerts once while the page lives, so a wall that
// reconnects and re-reads never raises what it already raised. Pure: tests/unit/dashboard-overview.test.ts.
import type { RunSummary } from './overview-merge.ts';
import type { Bucket } from './vocabulary.ts';

/** An alert highlights its tile this long unless acknowledged first. */
export const ALERT_FOR_MS = 5 * 60_000;
/** At most one tone per this long, however many alerts. */
export const TONE_EVERY_MS = 60_000;
/** Run ids remembered as alerted (the oldest are forgotten beyond: by then their runs are long read as ended). */
const REMEMBERED = 10_000;

export type Alert = { runId: string; tenant: string; label: string; bucket: Bucket; endedAt: string; raisedAt: number };

/** `?alert=partial` also alerts on partially succeeded runs; anything else, failed runs only. */
export function alertBuckets(param: string | null): readonly Bucket[] {
  return param === 'partial' ? ['failed', 'partially_succeeded'] : ['failed'];
}

export class AlertBook {
  readonly #alerted = new Set<string>();
  #active: Alert[] = [];
  #lastToneAt = -Infinity;

  constructor(readonly buckets: readonly Bucket[] = ['failed']) {}

  /**
   * A run that newly ended (as the tiles judged it). Returns the alert raised, if any, and whether a tone should
   * sound for it.
   */
  raise(tenant: string, run: RunSummary, label: string, now: number): { alert: Alert | null; tone: boolean } {
    if (!this.buckets.includes(run.bucket) || this.#alerted.has(run.id)) return { alert: null, tone: false };
    this.#alerted.add(run.id);
    if (this.#alerted.size > REMEMBERED) this.#alerted.delete(this.#alerted.values().next().value!);
    const alert: Alert = { runId: run.id, tenant, label, bucket: run.bucket, endedAt: run.completedAt ?? run.updatedAt, raisedAt: now };
    this.#active = [alert, ...this.#active.filter((a) => now - a.raisedAt < ALERT_FOR_MS)];
    const tone = now - this.#lastToneAt >= TONE_EVERY_MS;
    if (tone) this.#lastToneAt = now;
    return { alert, tone };
  }

  /** Acknowledges a tenant's alerts, or every alert (`null`). */
  acknowledge(tenant: string | null): void {
    this.#active = tenant === null ? [] : this.#active.filter((a) => a.tenant !== tenant);
  }

  /** The alerts still highlighted at `now`, newest first. */
  active(now: number): Alert[] {
    return this.#active.filter((a) => now - a.raisedAt < ALERT_FOR_MS);
  }

  wasAlerted(runId: string): boolean {
    return this.#alerted.has(runId);
  }
}
