// The run behind a feature page (docs/api.md §10): the latest run of one operation type that concerns what the
// page shows — the tenant's inventory sync, a drift generation, captures into one backup set, one restore's run —
// kept live. Pushes merge by `version`; every (re)connect and `resync` re-reads it; a run seen queued or running
// that completes is announced once, so the page re-reads what the run changed.
import type { RunUpdatePayload } from '../../../server/live/events.ts';
import { api, endpoints, type RunAnswer, type RunsPage } from './api.ts';
import type { LiveChannel } from './live.svelte.ts';
import type { BoardRun } from './runs-store.ts';

export type RunWatchOptions = {
  type: string;
  /** Which runs of the type concern the page (default: every run of the type in the tenant). */
  matches?: (run: BoardRun) => boolean;
  /** A run seen before it completed has completed (once per run). */
  oncompleted?: (run: BoardRun) => void;
};

/** Active runs of the type read per (re)connect: a page concerns one or two of them at a time. */
const ACTIVE_READ = 50;

export class RunWatch {
  /** The run shown: the newest active one, else the one that completed last while watched. */
  run = $state.raw<BoardRun | null>(null);

  readonly tenant: string;
  readonly #live: LiveChannel;
  readonly #type: string;
  readonly #matches: (run: BoardRun) => boolean;
  readonly #oncompleted: (run: BoardRun) => void;
  /** The one run to watch (a restore's), when known; null: any run of the type that matches. */
  #id: string | null = null;
  /** Runs seen before they completed, by id: the ones whose completion is announced. */
  readonly #runs = new Map<string, BoardRun>();
  /** Runs started here whose first push may not have come yet (their completion is announced too). */
  readonly #followed = new Set<string>();
  #release: (() => void)[] = [];
  #seq = 0;

  constructor(tenant: string, live: LiveChannel, options: RunWatchOptions) {
    this.tenant = tenant;
    this.#live = live;
    this.#type = options.type;
    this.#matches = options.matches ?? (() => true);
    this.#oncompleted = options.oncompleted ?? (() => undefined);
  }

  start(): void {
    this.#release.push(
      this.#live.watchTenant(this.tenant),
      this.#live.onRunUpdate((payload) => this.#onUpdate(payload)),
      this.#live.onResync(() => void this.refresh()),
    );
    void this.refresh();
  }

  dispose(): void {
    for (const release of this.#release) release();
    this.#release = [];
    this.#seq++;
  }

  /** Watch exactly this run from now on (a restore gets its run when first previewed). */
  watchRun(id: string | null): void {
    if (id === this.#id) return;
    this.#id = id;
    this.#runs.clear();
    this.run = null;
    if (id) void this.refresh();
  }

  /** A run this page just started: its completion is announced even if its pushes were missed. */
  follow(runId: string): void {
    if (!this.#runs.has(runId)) this.#followed.add(runId);
    void this.refresh();
  }

  /** Re-read: the watched run by id, or the type's active runs and any followed one not known to be done. */
  async refresh(): Promise<void> {
    const seq = ++this.#seq;
    try {
      const found: BoardRun[] = [];
      if (this.#id) {
        found.push((await api<RunAnswer>(endpoints.run(this.tenant, this.#id))).run);
      } else {
        const page = await api<RunsPage>(endpoints.runsOfTypes(this.tenant, [this.#type], ['queued', 'running'], ACTIVE_READ));
        found.push(...page.runs);
        const open = new Set([...this.#followed, ...[...this.#runs.values()].filter((r) => r.status !== 'completed').map((r) => r.id)]);
        for (const run of page.runs) open.delete(run.id);
        // Active before, not any more: it completed while nothing was heard.
        for (const id of open) found.push((await api<RunAnswer>(endpoints.run(this.tenant, id))).run);
      }
      if (seq !== this.#seq) return;
      for (const run of found) this.#merge(run);
    } catch {
      // What is shown stays; the page's own reads report trouble, and the next (re)connect reads again.
    }
  }

  #onUpdate({ tenant, run }: RunUpdatePayload): void {
    if (tenant === this.tenant) this.#merge(run);
  }

  #merge(run: BoardRun): void {
    if (run.type !== this.#type) return;
    if (this.#id ? run.id !== this.#id : !this.#matches(run)) return;
    const known = this.#runs.get(run.id);
    if (known && known.version >= run.version) return;
    const followed = this.#followed.delete(run.id);
    const completed = run.status === 'completed';
    // A run first heard of once complete (not started or followed here) is not news to this page.
    if (!known && completed && !followed && !this.#id) return;
    this.#runs.set(run.id, run);
    if (completed && (known || followed) && known?.status !== 'completed') this.#oncompleted(run);
    this.#show(run);
  }

  #show(latest: BoardRun): void {
    const active = [...this.#runs.values()].filter((r) => r.status !== 'completed');
    const newestActive = active.toSorted((a, b) => (a.createdAt < b.createdAt ? 1 : -1))[0];
    const shown = newestActive ?? latest;
    this.run = shown;
    // Completed runs other than the one shown are not needed any more.
    for (const [id, r] of this.#runs) if (r.status === 'completed' && id !== shown.id) this.#runs.delete(id);
  }
}
