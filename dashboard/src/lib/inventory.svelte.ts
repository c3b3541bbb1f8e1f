// The Inventory page's state (docs/api.md §10): the tenant's policy source, the policies of the latest
// successful sync (search and type filter from the URL, keyset "Load more"), and "Sync now" with the live
// progress of the tenant's sync run. Everything is read from the API; when a sync watched here completes, the
// list is read again. Every (re)connect and `resync` re-reads it all.
import { api, ApiError, endpoints, type InventoryPage, type PolicySourceAnswer, type PolicySourceBody, type PolicySourceView } from './api.ts';
import { message } from './board.svelte.ts';
import type { LiveChannel } from './live.svelte.ts';
import { OperationTypes } from './operation-types.svelte.ts';
import { both, mayConfigureSource, mayStart, type Permission } from './permissions.ts';
import { inventoryQuery, sameInventoryFilter, type InventoryFilter, type InventoryPolicy } from './policies.ts';
import { QuickStart } from './quick-start.svelte.ts';
import { RunWatch } from './run-watch.svelte.ts';
import type { Role } from './api.ts';
import { placeSourceErrors, type SourceField } from './source-form.ts';
import { appendPage } from './pages.ts';

export const SYNC_TYPE = 'inventory.sync';
const PAGE_SIZE = 50;
/** A re-read asks for as many rows as are shown (up to the API's maximum), so "Load more" depth survives. */
const MAX_REREAD = 500;

export type SaveResult = { ok: true } | { ok: false; fields: Partial<Record<SourceField, string>>; message: string | null };

export class Inventory {
  source = $state.raw<PolicySourceView | null>(null);
  sourceLoaded = $state(false);
  snapshot = $state.raw<InventoryPage['snapshot']>(null);
  policies = $state.raw<InventoryPolicy[]>([]);
  policyTypes = $state.raw<InventoryPage['policyTypes']>([]);
  nextCursor = $state<string | null>(null);
  filter = $state.raw<InventoryFilter>({ q: '', policyType: '' });
  loading = $state(true);
  refreshing = $state(false);
  loadingMore = $state(false);
  error = $state<string | null>(null);
  forbidden = $state(false);
  syncedAt = $state<number | null>(null);
  updatedAt = $state<number | null>(null);

  readonly tenant: string;
  readonly role: Role | null;
  readonly catalog: OperationTypes;
  readonly sync: RunWatch;
  readonly starter: QuickStart;
  readonly #live: LiveChannel;
  #release: (() => void)[] = [];
  #readSeq = 0;
  #sourceSeq = 0;

  constructor(tenant: string, role: Role | null, live: LiveChannel, filter: InventoryFilter) {
    this.tenant = tenant;
    this.role = role;
    this.#live = live;
    this.filter = filter;
    this.catalog = new OperationTypes(tenant);
    this.starter = new QuickStart(tenant, SYNC_TYPE);
    this.sync = new RunWatch(tenant, live, {
      type: SYNC_TYPE,
      oncompleted: () => {
        this.updatedAt = Date.now();
        void this.reload();
      },
    });
  }

  start(): void {
    this.sync.start();
    this.#release.push(this.#live.onResync(() => void this.#readAll()));
    void this.catalog.load();
    void this.#readAll();
  }

  dispose(): void {
    for (const release of this.#release) release();
    this.#release = [];
    this.sync.dispose();
    this.catalog.dispose();
    this.#readSeq++;
    this.#sourceSeq++;
  }

  /** Whether "Sync now" may be pressed: the role, and a source to read from. */
  get syncPermission(): Permission {
    const role = mayStart(
      this.catalog.types.find((t) => t.type === SYNC_TYPE),
      !!this.catalog.error,
    );
    if (!this.sourceLoaded) return both(role, { ok: false, reason: null });
    const source: Permission = this.source
      ? { ok: true }
      : { ok: false, reason: this.role === 'owner' ? 'Configure a policy source first.' : 'No policy source is configured yet; an owner sets one.' };
    return both(role, source);
  }

  get configurePermission(): Permission {
    return mayConfigureSource(this.role);
  }

  /** A run of the sync is queued or running now. */
  get syncing(): boolean {
    return !!this.sync.run && this.sync.run.status !== 'completed';
  }

  setFilter(filter: InventoryFilter): void {
    if (sameInventoryFilter(filter, this.filter)) {
      this.filter = filter;
      return;
    }
    this.filter = filter;
    // A new search starts from the top (one page); the rows shown stay until its answer replaces them.
    void this.reload(true);
  }

  async syncNow(): Promise<void> {
    const started = await this.starter.start({});
    if (started) this.sync.follow(started.runId);
  }

  async saveSource(body: PolicySourceBody): Promise<SaveResult> {
    try {
      const answer = await api<PolicySourceAnswer>(endpoints.policySource(this.tenant), { method: 'PUT', body });
      this.#sourceSeq++;
      this.source = answer.source;
      this.sourceLoaded = true;
      return { ok: true };
    } catch (error) {
      if (error instanceof ApiError && error.status === 400) {
        const details = (error.body as { error?: { details?: { path: string; message: string }[] } } | null)?.error?.details ?? [];
        const placed = placeSourceErrors(details);
        const general = placed.general.join(' ');
        return { ok: false, fields: placed.fields, message: general || (Object.keys(placed.fields).length === 0 ? error.message : null) };
      }
      return { ok: false, fields: {}, message: message(error) };
    }
  }

  /** The policies again from the top (`fresh`: a new filter, so only one page), keeping what is shown meanwhile. */
  async reload(fresh = false): Promise<void> {
    const seq = ++this.#readSeq;
    this.refreshing = true;
    try {
      const limit = fresh ? PAGE_SIZE : Math.min(MAX_REREAD, Math.max(PAGE_SIZE, this.policies.length));
      const page = await api<InventoryPage>(endpoints.inventory(this.tenant, { ...inventoryQuery(this.filter), limit }));
      if (seq !== this.#readSeq) return;
      this.snapshot = page.snapshot;
      this.policies = page.policies;
      this.policyTypes = page.policyTypes;
      this.nextCursor = page.nextCursor;
      this.syncedAt = Date.now();
      this.error = null;
    } catch (error) {
      if (seq !== this.#readSeq) return;
      this.error = message(error);
      this.forbidden = error instanceof ApiError && error.status === 403;
    } finally {
      if (seq === this.#readSeq) {
        this.loading = false;
        this.refreshing = false;
      }
    }
  }

  async loadMore(): Promise<void> {
    const cursor = this.nextCursor;
    if (!cursor || this.loadingMore) return;
    const seq = this.#readSeq;
    this.loadingMore = true;
    try {
      const page = await api<InventoryPage>(endpoints.inventory(this.tenant, { ...inventoryQuery(this.filter), limit: PAGE_SIZE, cursor }));
      if (seq !== this.#readSeq) return;
      this.policies = appendPage(this.policies, page.policies, (p) => p.externalId);
      this.nextCursor = page.nextCursor;
    } catch (error) {
      this.error = message(error);
    } finally {
      this.loadingMore = false;
    }
  }

  async #readAll(): Promise<void> {
    await Promise.all([this.#readSource(), this.reload()]);
  }

  async #readSource(): Promise<void> {
    const seq = ++this.#sourceSeq;
    try {
      const answer = await api<PolicySourceAnswer>(endpoints.policySource(this.tenant));
      if (seq !== this.#sourceSeq) return;
      this.source = answer.source;
      this.sourceLoaded = true;
    } catch (error) {
      if (seq !== this.#sourceSeq) return;
      if (error instanceof ApiError && error.status === 403) this.forbidden = true;
      // Otherwise the list's read reports trouble; the source shown stays.
    }
  }
}
