// The Drift page's state (docs/api.md §10): one generation's findings (the latest successful one, or `?run=`),
// the change filter, earlier generations, whether a generation can start (GET …/drift/status) and "Generate
// drift" with the live progress of its run. A generation completing reloads the findings; a sync completing
// reloads the status (the second sync is what makes generating possible). Every (re)connect and `resync`
// re-reads it all.
import type { RunUpdatePayload } from '../../../server/live/events.ts';
import { api, ApiError, endpoints, type DriftFindingsPage, type DriftStatus, type RunsPage } from './api.ts';
import { message } from './board.svelte.ts';
import type { DriftFilter, DriftFinding } from './drift-view.ts';
import type { LiveChannel } from './live.svelte.ts';
import { OperationTypes } from './operation-types.svelte.ts';
import { both, mayStart, type Permission } from './permissions.ts';
import { QuickStart } from './quick-start.svelte.ts';
import { RunWatch } from './run-watch.svelte.ts';
import type { BoardRun } from './runs-store.ts';
import { appendPage } from './pages.ts';

export const DRIFT_TYPE = 'drift.generate';
const SYNC_TYPE = 'inventory.sync';
const PAGE_SIZE = 200;
const MAX_REREAD = 500;
const GENERATIONS = 20;

export class Drift {
  status = $state.raw<DriftStatus | null>(null);
  generation = $state.raw<DriftFindingsPage['generation']>(null);
  counts = $state.raw<DriftFindingsPage['counts']>({ added: 0, removed: 0, modified: 0 });
  findings = $state.raw<DriftFinding[]>([]);
  nextCursor = $state<string | null>(null);
  /** drift.generate runs, newest first. */
  generations = $state.raw<BoardRun[]>([]);
  filter = $state.raw<DriftFilter>({ run: null, change: null });
  loading = $state(true);
  refreshing = $state(false);
  loadingMore = $state(false);
  error = $state<string | null>(null);
  forbidden = $state(false);
  /** `?run=` names no drift generation of this tenant. */
  notFound = $state(false);
  syncedAt = $state<number | null>(null);
  updatedAt = $state<number | null>(null);

  readonly tenant: string;
  readonly catalog: OperationTypes;
  readonly generate: RunWatch;
  readonly syncs: RunWatch;
  readonly starter: QuickStart;
  readonly #live: LiveChannel;
  #release: (() => void)[] = [];
  #findingsSeq = 0;
  #statusSeq = 0;
  #generationsSeq = 0;

  constructor(tenant: string, live: LiveChannel, filter: DriftFilter) {
    this.tenant = tenant;
    this.#live = live;
    this.filter = filter;
    this.catalog = new OperationTypes(tenant);
    this.starter = new QuickStart(tenant, DRIFT_TYPE);
    this.generate = new RunWatch(tenant, live, {
      type: DRIFT_TYPE,
      oncompleted: (run) => {
        this.updatedAt = Date.now();
        if (!this.filter.run || this.filter.run === run.id) void this.readFindings();
        void this.#readStatus();
      },
    });
    this.syncs = new RunWatch(tenant, live, { type: SYNC_TYPE, oncompleted: () => void this.#readStatus() });
  }

  start(): void {
    this.generate.start();
    this.syncs.start();
    this.#release.push(
      this.#live.onRunUpdate((payload) => this.#onRunUpdate(payload)),
      this.#live.onResync(() => void this.#readAll()),
    );
    void this.catalog.load();
    void this.#readAll();
  }

  dispose(): void {
    for (const release of this.#release) release();
    this.#release = [];
    this.generate.dispose();
    this.syncs.dispose();
    this.catalog.dispose();
    this.#findingsSeq++;
    this.#statusSeq++;
    this.#generationsSeq++;
  }

  get generatePermission(): Permission {
    const role = mayStart(
      this.catalog.types.find((t) => t.type === DRIFT_TYPE),
      !!this.catalog.error,
    );
    if (!this.status) return both(role, { ok: false, reason: null });
    return both(role, this.status.canGenerate ? { ok: true } : { ok: false, reason: this.status.reason ?? 'Drift cannot be generated yet.' });
  }

  get generating(): boolean {
    return !!this.generate.run && this.generate.run.status !== 'completed';
  }

  setFilter(filter: DriftFilter): void {
    const same = filter.run === this.filter.run && filter.change === this.filter.change;
    this.filter = filter;
    if (!same) void this.readFindings(true);
  }

  async generateNow(): Promise<void> {
    const started = await this.starter.start({});
    if (started) this.generate.follow(started.runId);
    // A refusal (409 insufficient_inventory) means the status shown is out of date.
    else void this.#readStatus();
  }

  async readFindings(fresh = false): Promise<void> {
    const seq = ++this.#findingsSeq;
    this.refreshing = true;
    try {
      // Fresh (another generation or change) or not, one page: findings are read whole up to PAGE_SIZE.
      const limit = fresh ? PAGE_SIZE : Math.max(PAGE_SIZE, Math.min(MAX_REREAD, this.findings.length));
      const page = await api<DriftFindingsPage>(endpoints.driftFindings(this.tenant, { ...this.filter, limit }));
      if (seq !== this.#findingsSeq) return;
      this.generation = page.generation;
      this.counts = page.counts;
      this.findings = page.findings;
      this.nextCursor = page.nextCursor;
      this.syncedAt = Date.now();
      this.error = null;
      this.notFound = false;
    } catch (error) {
      if (seq !== this.#findingsSeq) return;
      if (error instanceof ApiError && error.status === 404) {
        this.notFound = true;
        this.generation = null;
        this.findings = [];
      } else {
        this.error = message(error);
        this.forbidden = error instanceof ApiError && error.status === 403;
      }
    } finally {
      if (seq === this.#findingsSeq) {
        this.loading = false;
        this.refreshing = false;
      }
    }
  }

  async loadMore(): Promise<void> {
    const cursor = this.nextCursor;
    if (!cursor || this.loadingMore) return;
    const seq = this.#findingsSeq;
    this.loadingMore = true;
    try {
      const page = await api<DriftFindingsPage>(endpoints.driftFindings(this.tenant, { ...this.filter, limit: PAGE_SIZE, cursor }));
      if (seq !== this.#findingsSeq) return;
      this.findings = appendPage(this.findings, page.findings, (f) => f.id);
      this.nextCursor = page.nextCursor;
    } catch (error) {
      this.error = message(error);
    } finally {
      this.loadingMore = false;
    }
  }

  async #readAll(): Promise<void> {
    await Promise.all([this.readFindings(), this.#readStatus(), this.#readGenerations()]);
  }

  async #readStatus(): Promise<void> {
    const seq = ++this.#statusSeq;
    try {
      const status = await api<DriftStatus>(endpoints.driftStatus(this.tenant));
      if (seq === this.#statusSeq) this.status = status;
    } catch {
      // The findings' read reports trouble; the status shown stays.
    }
  }

  async #readGenerations(): Promise<void> {
    const seq = ++this.#generationsSeq;
    try {
      const page = await api<RunsPage>(endpoints.runsOfTypes(this.tenant, [DRIFT_TYPE], [], GENERATIONS));
      if (seq !== this.#generationsSeq) return;
      // A push newer than this read keeps its version.
      const pushed = new Map(this.generations.map((r) => [r.id, r]));
      this.generations = page.runs.map((run) => {
        const known = pushed.get(run.id);
        return known && known.version > run.version ? known : run;
      });
    } catch {
      // As above.
    }
  }

  #onRunUpdate({ tenant, run }: RunUpdatePayload): void {
    if (tenant !== this.tenant || run.type !== DRIFT_TYPE) return;
    const index = this.generations.findIndex((r) => r.id === run.id);
    if (index >= 0) {
      if (this.generations[index]!.version >= run.version) return;
      this.generations = this.generations.with(index, run);
    } else {
      this.generations = [run, ...this.generations].toSorted((a, b) => (a.createdAt < b.createdAt ? 1 : -1)).slice(0, GENERATIONS);
    }
  }
}
