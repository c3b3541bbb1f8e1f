// Each operation type's measured baseline in one tenant (docs/api.md §11): what "slower than usual" and the
// ETA of a running run are judged against. Members and kiosk walls read it alike; it is re-read every minute,
// which is as fresh as the server keeps it.
import { etaMs, isSlowerThanUsual } from '../../../db/runs/model.ts';
import { api, endpoints, type BaselinesAnswer, type RunView, type TypeBaseline } from './api.ts';

const REFRESH_MS = 60_000;

type TimedRun = Pick<RunView, 'type' | 'status' | 'startedAt' | 'counts'>;

export class Baselines {
  #byType = $state.raw<ReadonlyMap<string, TypeBaseline>>(new Map());
  #timer: ReturnType<typeof setInterval> | null = null;
  #seq = 0;

  constructor(
    readonly tenant: string,
    /** The wall's kiosk token; signed-in users use their cookie. */
    private readonly token: string | null = null,
  ) {}

  /** Loads now and every minute until disposed. A failed read keeps the figures already shown. */
  start(): void {
    void this.load();
    this.#timer ??= setInterval(() => void this.load(), REFRESH_MS);
  }

  async load(): Promise<void> {
    const seq = ++this.#seq;
    try {
      const answer = await api<BaselinesAnswer>(endpoints.baselines(this.tenant), { token: this.token });
      if (seq === this.#seq) this.#byType = new Map(answer.types.map((t) => [t.type, t]));
    } catch {
      // Baselines only add hints; the runs themselves are shown whatever happens here.
    }
  }

  of(type: string): TypeBaseline | undefined {
    return this.#byType.get(type);
  }

  /** Running longer than its type's p95. */
  isSlow(run: TimedRun, nowMs: number): boolean {
    return isSlowerThanUsual(run, this.of(run.type), nowMs);
  }

  /** Milliseconds left by the run's own rate, or by its type's median before it has one; null when unknown. */
  eta(run: TimedRun, nowMs: number): number | null {
    return etaMs(run, this.of(run.type), nowMs);
  }

  dispose(): void {
    this.#seq++;
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
  }
}
