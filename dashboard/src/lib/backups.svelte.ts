// The Backups pages' state (docs/api.md §10). `BackupSets`: the tenant's backup sets with their item counts and
// its latest restores, "New backup set". `BackupSetPage`: one set's captured policies, "Add policies" (a
// `backup_set.add_policies` run, its live progress, the set re-read when it completes) and "Restore…" (creates
// a restore of all or the selected policies). Every (re)connect and `resync` re-reads what is shown.
import type { RunUpdatePayload } from '../../../server/live/events.ts';
import { api, ApiError, endpoints, type BackupSetAnswer, type BackupSetsPage, type RestoreAnswer, type RestoreBody, type RestoresPage } from './api.ts';
import { message } from './board.svelte.ts';
import type { LiveChannel } from './live.svelte.ts';
import { OperationTypes } from './operation-types.svelte.ts';
import { mayRestore, mayStart, type Permission } from './permissions.ts';
import { QuickStart } from './quick-start.svelte.ts';
import { RunWatch } from './run-watch.svelte.ts';
import { toggleId, toggleVisible } from './selection.ts';
import { appendPage } from './pages.ts';

export const ADD_POLICIES_TYPE = 'backup_set.add_policies';
export const RESTORE_TYPE = 'restore.execute';
const PAGE_SIZE = 50;
const RESTORES_SHOWN = 20;
/** List pages re-read a moment after runs that change them complete (several may end together). */
const REREAD_MS = 300;

export type BackupSetSummary = BackupSetsPage['backupSets'][number];
export type BackupSet = BackupSetAnswer['backupSet'];
export type BackupItem = BackupSet['items'][number];
export type RestoreSummary = RestoresPage['restores'][number];

export type Created<T> = { ok: true; value: T } | { ok: false; message: string };

function problemOf(error: unknown): string {
  if (error instanceof ApiError && error.status === 403) return 'Your role may not do this (any more). Reload the page to see what you can do.';
  return message(error);
}

export class BackupSets {
  sets = $state.raw<BackupSetSummary[]>([]);
  nextCursor = $state<string | null>(null);
  restores = $state.raw<RestoreSummary[]>([]);
  loading = $state(true);
  loadingMore = $state(false);
  error = $state<string | null>(null);
  forbidden = $state(false);
  syncedAt = $state<number | null>(null);
  updatedAt = $state<number | null>(null);

  readonly tenant: string;
  readonly catalog: OperationTypes;
  readonly #live: LiveChannel;
  #release: (() => void)[] = [];
  #seq = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;

  constructor(tenant: string, live: LiveChannel) {
    this.tenant = tenant;
    this.#live = live;
    this.catalog = new OperationTypes(tenant);
  }

  start(): void {
    this.#release.push(
      this.#live.watchTenant(this.tenant),
      this.#live.onRunUpdate((payload) => this.#onRunUpdate(payload)),
      this.#live.onResync(() => void this.reload()),
    );
    void this.catalog.load();
    void this.reload();
  }

  dispose(): void {
    for (const release of this.#release) release();
    this.#release = [];
    clearTimeout(this.#timer);
    this.catalog.dispose();
    this.#seq++;
  }

  /** New sets take the role of filling them (`backup_set.add_policies`), which the create route asks for too. */
  get createPermission(): Permission {
    return mayStart(this.catalog.types.find((t) => t.type === ADD_POLICIES_TYPE), !!this.catalog.error);
  }

  async reload(): Promise<void> {
    const seq = ++this.#seq;
    try {
      const limit = Math.min(200, Math.max(PAGE_SIZE, this.sets.length));
      const [sets, restores] = await Promise.all([
        api<BackupSetsPage>(endpoints.backupSets(this.tenant, { limit })),
        api<RestoresPage>(endpoints.restores(this.tenant, { limit: RESTORES_SHOWN })),
      ]);
      if (seq !== this.#seq) return;
      this.sets = sets.backupSets;
      this.nextCursor = sets.nextCursor;
      this.restores = restores.restores;
      this.syncedAt = Date.now();
      this.error = null;
    } catch (error) {
      if (seq !== this.#seq) return;
      this.error = message(error);
      this.forbidden = error instanceof ApiError && error.status === 403;
    } finally {
      if (seq === this.#seq) this.loading = false;
    }
  }

  async loadMore(): Promise<void> {
    const cursor = this.nextCursor;
    if (!cursor || this.loadingMore) return;
    const seq = this.#seq;
    this.loadingMore = true;
    try {
      const page = await api<BackupSetsPage>(endpoints.backupSets(this.tenant, { limit: PAGE_SIZE, cursor }));
      if (seq !== this.#seq) return;
      this.sets = appendPage(this.sets, page.backupSets, (s) => s.id);
      this.nextCursor = page.nextCursor;
    } catch (error) {
      this.error = message(error);
    } finally {
      this.loadingMore = false;
    }
  }

  async create(name: string): Promise<Created<BackupSetSummary>> {
    try {
      const { backupSet } = await api<BackupSetAnswer>(endpoints.backupSets(this.tenant), { method: 'POST', body: { name } });
      return { ok: true, value: backupSet };
    } catch (error) {
      return { ok: false, message: problemOf(error) };
    }
  }

  /** Captures change item counts, restores change status: read again when such a run moves on. */
  #onRunUpdate({ tenant, kind, run }: RunUpdatePayload): void {
    if (tenant !== this.tenant) return;
    const captures = run.type === ADD_POLICIES_TYPE && kind === 'completed';
    if (!captures && run.type !== RESTORE_TYPE) return;
    this.updatedAt = Date.now();
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => void this.reload(), REREAD_MS);
  }
}

export class BackupSetPage {
  set = $state.raw<BackupSet | null>(null);
  loading = $state(true);
  notFound = $state(false);
  forbidden = $state(false);
  error = $state<string | null>(null);
  syncedAt = $state<number | null>(null);
  updatedAt = $state<number | null>(null);
  /** External ids of the items chosen (for a restore of some of them). */
  selected = $state.raw<ReadonlySet<string>>(new Set());

  readonly tenant: string;
  readonly id: string;
  readonly catalog: OperationTypes;
  readonly captures: RunWatch;
  readonly starter: QuickStart;
  readonly #live: LiveChannel;
  #release: (() => void)[] = [];
  #seq = 0;

  constructor(tenant: string, id: string, live: LiveChannel) {
    this.tenant = tenant;
    this.id = id;
    this.#live = live;
    this.catalog = new OperationTypes(tenant);
    this.starter = new QuickStart(tenant, ADD_POLICIES_TYPE);
    this.captures = new RunWatch(tenant, live, {
      type: ADD_POLICIES_TYPE,
      matches: (run) => run.scope.backupSetId === id,
      oncompleted: () => {
        this.updatedAt = Date.now();
        void this.read();
      },
    });
  }

  start(): void {
    this.captures.start();
    this.#release.push(this.#live.onResync(() => void this.read()));
    void this.catalog.load();
    void this.read();
  }

  dispose(): void {
    for (const release of this.#release) release();
    this.#release = [];
    this.captures.dispose();
    this.catalog.dispose();
    this.#seq++;
  }

  get addType() {
    return this.catalog.types.find((t) => t.type === ADD_POLICIES_TYPE);
  }

  get addPermission(): Permission {
    return mayStart(this.addType, !!this.catalog.error);
  }

  get restorePermission(): Permission {
    const role = mayRestore(this.catalog.types.find((t) => t.type === RESTORE_TYPE), !!this.catalog.error);
    if (!role.ok || !this.set) return role;
    return this.set.itemCount > 0 ? role : { ok: false, reason: 'Add policies to the set first: there is nothing to restore yet.' };
  }

  get capturing(): boolean {
    return !!this.captures.run && this.captures.run.status !== 'completed';
  }

  async read(): Promise<void> {
    const seq = ++this.#seq;
    try {
      const { backupSet } = await api<BackupSetAnswer>(endpoints.backupSet(this.tenant, this.id));
      if (seq !== this.#seq) return;
      this.set = backupSet;
      // Chosen items that are gone are no longer chosen.
      const present = new Set(backupSet.items.map((i) => i.policy.externalId));
      if ([...this.selected].some((id) => !present.has(id))) this.selected = new Set([...this.selected].filter((id) => present.has(id)));
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

  toggle(externalId: string): void {
    this.selected = toggleId(this.selected, externalId);
  }

  toggleAll(): void {
    this.selected = toggleVisible(this.selected, (this.set?.items ?? []).map((i) => i.policy.externalId));
  }

  /** Starts the capture of these policies into the set; true when it was queued (or joined). */
  async addPolicies(policyIds: readonly string[]): Promise<boolean> {
    const started = await this.starter.start({ backupSetId: this.id, policyIds: [...policyIds] });
    if (started) this.captures.follow(started.runId);
    return started !== null;
  }

  /** A draft restore of the chosen policies (null: all of the set's); its id to go to. */
  async createRestore(policyIds: readonly string[] | null): Promise<Created<string>> {
    const body: RestoreBody = { backupSetId: this.id, ...(policyIds ? { policyIds: [...policyIds] } : {}) };
    try {
      const { restore } = await api<RestoreAnswer>(endpoints.restores(this.tenant), { method: 'POST', body });
      return { ok: true, value: restore.id };
    } catch (error) {
      return { ok: false, message: problemOf(error) };
    }
  }
}
