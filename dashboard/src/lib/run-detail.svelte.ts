// One run, live (docs/api.md §6 run detail): read with its failures, then kept current by pushes; the failures
// list is re-read when the failure count moves or the run completes (pushes carry only the count). Its
// timeline is `history` (run-history.svelte.ts), live the same way.
import type { RunUpdatePayload } from '../../../server/live/events.ts';
import { api, ApiError, endpoints, type RunAnswer, type RunView } from './api.ts';
import { message } from './board.svelte.ts';
import type { LiveChannel } from './live.svelte.ts';
import { RunHistory } from './run-history.svelte.ts';

const FAILURES_REREAD_MS = 1_000;

export class RunDetail {
  run = $state.raw<RunView | null>(null);
  loading = $state(true);
  notFound = $state(false);
  forbidden = $state(false);
  error = $state<string | null>(null);
  syncedAt = $state<number | null>(null);
  updatedAt = $state<number | null>(null);

  readonly tenant: string;
  readonly id: string;
  /** The run's recorded changes, oldest first: its timeline. */
  readonly history: RunHistory;
  readonly #live: LiveChannel;
  readonly #token: string | null;
  #release: (() => void)[] = [];
  #readSeq = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;

  constructor(tenant: string, id: string, live: LiveChannel, token: string | null = null) {
    this.tenant = tenant;
    this.id = id;
    this.#live = live;
    this.#token = token;
    this.history = new RunHistory(tenant, id, live, token);
  }

  start(): void {
    this.#release.push(
      this.#live.watchTenant(this.tenant),
      this.#live.onRunUpdate((payload) => this.#onUpdate(payload)),
      this.#live.onResync(() => void this.read()),
    );
    void this.read();
    this.history.start();
  }

  dispose(): void {
    for (const release of this.#release) release();
    this.#release = [];
    this.history.dispose();
    clearTimeout(this.#timer);
    this.#readSeq++;
  }

  async read(): Promise<void> {
    const seq = ++this.#readSeq;
    try {
      const { run } = await api<RunAnswer>(endpoints.run(this.tenant, this.id), { token: this.#token });
      if (seq !== this.#readSeq) return;
      // A push newer than this read keeps its fields; the read brings the failures list.
      const current = this.run;
      this.run = current && current.version > run.version ? { ...current, failures: run.failures } : run;
      this.syncedAt = Date.now();
      this.error = null;
      this.notFound = false;
    } catch (error) {
      if (seq !== this.#readSeq) return;
      if (error instanceof ApiError && error.status === 404) this.notFound = true;
      else if (error instanceof ApiError && error.status === 403) this.forbidden = true;
      else this.error = message(error);
    } finally {
      if (seq === this.#readSeq) this.loading = false;
    }
  }

  #onUpdate({ tenant, kind, run }: RunUpdatePayload): void {
    if (tenant !== this.tenant || run.id !== this.id) return;
    const current = this.run;
    if (current && current.version >= run.version) return;
    this.run = { ...run, failures: current?.failures ?? [] };
    this.updatedAt = Date.now();
    if (kind === 'completed' || run.failureCount !== (current?.failureCount ?? 0)) this.#rereadSoon(kind === 'completed');
  }

  #rereadSoon(now: boolean): void {
    if (now) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
      void this.read();
      return;
    }
    if (this.#timer !== undefined) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      void this.read();
    }, FAILURES_REREAD_MS);
  }
}
