// One restore, live (docs/api.md §10): its record (status, preview items, results), its `restore.execute` run
// from `previewed` on (pushes merged by version through RunWatch), and the actions preview / execute / discard.
// The restore is re-read whenever its run changes status (another tab may have executed or discarded it) and
// once the run completes (the items' results and the settled status); every (re)connect and `resync` too.
import type { RunUpdatePayload } from '../../../server/live/events.ts';
import { api, ApiError, endpoints, type RestoreTransition as Action, type RestoreAnswer } from './api.ts';
import { message } from './board.svelte.ts';
import type { LiveChannel } from './live.svelte.ts';
import { OperationTypes } from './operation-types.svelte.ts';
import { mayRestore, type Permission } from './permissions.ts';
import type { Restore } from './restore-view.ts';
import { RunWatch } from './run-watch.svelte.ts';

export const RESTORE_TYPE = 'restore.execute';
/** Items' results are read at most this often while the restore runs. */
const PROGRESS_REREAD_MS = 1_500;

export class RestoreDetail {
  restore = $state.raw<Restore | null>(null);
  loading = $state(true);
  notFound = $state(false);
  forbidden = $state(false);
  error = $state<string | null>(null);
  /** The action under way, if any. */
  acting = $state<Action | null>(null);
  syncedAt = $state<number | null>(null);
  updatedAt = $state<number | null>(null);

  readonly tenant: string;
  readonly id: string;
  readonly catalog: OperationTypes;
  readonly run: RunWatch;
  readonly #live: LiveChannel;
  #release: (() => void)[] = [];
  #seq = 0;
  #runStatus: string | null = null;
  #progressTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(tenant: string, id: string, live: LiveChannel) {
    this.tenant = tenant;
    this.id = id;
    this.#live = live;
    this.catalog = new OperationTypes(tenant);
    this.run = new RunWatch(tenant, live, {
      type: RESTORE_TYPE,
      oncompleted: () => {
        this.updatedAt = Date.now();
        void this.read();
      },
    });
  }

  start(): void {
    this.run.start();
    this.#release.push(
      this.#live.onRunUpdate((payload) => this.#onRunUpdate(payload)),
      this.#live.onResync(() => void this.read()),
    );
    void this.catalog.load();
    void this.read();
  }

  dispose(): void {
    for (const release of this.#release) release();
    this.#release = [];
    this.run.dispose();
    this.catalog.dispose();
    clearTimeout(this.#progressTimer);
    this.#seq++;
  }

  get permission(): Permission {
    return mayRestore(
      this.catalog.types.find((t) => t.type === RESTORE_TYPE),
      !!this.catalog.error,
    );
  }

  async read(): Promise<void> {
    const seq = ++this.#seq;
    try {
      const { restore } = await api<RestoreAnswer>(endpoints.restore(this.tenant, this.id));
      if (seq !== this.#seq) return;
      this.#show(restore);
      this.syncedAt = Date.now();
      this.error = null;
      this.notFound = false;
    } catch (error) {
      if (seq !== this.#seq) return;
      if (error instanceof ApiError && error.status === 404) this.notFound = true;
      else if (error instanceof ApiError && error.status === 403) this.forbidden = true;
      else this.error = message(error);
    } finally {
      if (seq === this.#seq) this.loading = false;
    }
  }

  /** Preview, execute or discard; null when done, else what went wrong in words (409: out of order). */
  async act(action: Action): Promise<string | null> {
    if (this.acting) return null;
    this.acting = action;
    // A read answering after this action must not put back the state from before it.
    const seq = ++this.#seq;
    try {
      const { restore } = await api<RestoreAnswer>(endpoints.restoreAction(this.tenant, this.id, action), { method: 'POST' });
      if (seq === this.#seq) this.#show(restore);
      this.updatedAt = Date.now();
      return null;
    } catch (error) {
      void this.read();
      if (error instanceof ApiError && error.status === 403) return 'Your role may not change restores (any more). Reload the page.';
      return message(error);
    } finally {
      this.acting = null;
    }
  }

  #show(restore: Restore): void {
    this.restore = restore;
    this.run.watchRun(restore.runId);
  }

  /**
   * The run moved from queued to running (executed, maybe in another tab): the restore moved too. While it
   * runs, items get their results: read again now and then (the completion itself is RunWatch's to announce).
   */
  #onRunUpdate({ tenant, run }: RunUpdatePayload): void {
    if (tenant !== this.tenant || run.id !== this.restore?.runId) return;
    const moved = this.#runStatus !== null && this.#runStatus !== run.status && run.status !== 'completed';
    this.#runStatus = run.status;
    if (moved) void this.read();
    else if (run.status === 'running' && this.#progressTimer === undefined) {
      this.#progressTimer = setTimeout(() => {
        this.#progressTimer = undefined;
        void this.read();
      }, PROGRESS_REREAD_MS);
    }
  }
}
