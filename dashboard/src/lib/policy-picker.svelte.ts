// The "Add policies" picker's state (docs/api.md §10): the inventory searched on the server (`q`, as typed,
// a moment after typing stops), paged with "Load more", and the policies chosen across searches, within the
// bounds the operation type's scope schema gives (1–500).
import { api, endpoints, type InventoryPage } from './api.ts';
import { message } from './board.svelte.ts';
import type { InventoryPolicy } from './policies.ts';
import { selectionProblem, toggleId, toggleVisible, visibleState, type Bounds } from './selection.ts';
import { appendPage } from './pages.ts';

const PAGE_SIZE = 100;
const SEARCH_DELAY_MS = 250;

export class PolicyPicker {
  q = $state('');
  policies = $state.raw<InventoryPolicy[]>([]);
  nextCursor = $state<string | null>(null);
  /** Whether there is a successful sync to pick from (null until the first answer). */
  hasInventory = $state<boolean | null>(null);
  total = $state(0);
  loading = $state(true);
  loadingMore = $state(false);
  error = $state<string | null>(null);
  selected = $state.raw<ReadonlySet<string>>(new Set());

  readonly tenant: string;
  readonly bounds: Bounds;
  #seq = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;

  constructor(tenant: string, bounds: Bounds) {
    this.tenant = tenant;
    this.bounds = bounds;
  }

  start(): void {
    void this.#search();
  }

  dispose(): void {
    clearTimeout(this.#timer);
    this.#seq++;
  }

  get visibleIds(): string[] {
    return this.policies.map((p) => p.externalId);
  }

  get visibleState() {
    return visibleState(this.selected, this.visibleIds);
  }

  get problem(): string | null {
    return selectionProblem(this.selected.size, this.bounds);
  }

  type(q: string): void {
    this.q = q;
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => void this.#search(), SEARCH_DELAY_MS);
  }

  searchNow(): void {
    clearTimeout(this.#timer);
    void this.#search();
  }

  toggle(externalId: string): void {
    this.selected = toggleId(this.selected, externalId);
  }

  toggleVisible(): void {
    this.selected = toggleVisible(this.selected, this.visibleIds);
  }

  clear(): void {
    this.selected = new Set();
  }

  async loadMore(): Promise<void> {
    const cursor = this.nextCursor;
    if (!cursor || this.loadingMore) return;
    const seq = this.#seq;
    this.loadingMore = true;
    try {
      const page = await api<InventoryPage>(endpoints.inventory(this.tenant, { q: this.q.trim(), limit: PAGE_SIZE, cursor }));
      if (seq !== this.#seq) return;
      this.policies = appendPage(this.policies, page.policies, (p) => p.externalId);
      this.nextCursor = page.nextCursor;
    } catch (error) {
      this.error = message(error);
    } finally {
      this.loadingMore = false;
    }
  }

  async #search(): Promise<void> {
    const seq = ++this.#seq;
    this.loading = true;
    try {
      const page = await api<InventoryPage>(endpoints.inventory(this.tenant, { q: this.q.trim(), limit: PAGE_SIZE }));
      if (seq !== this.#seq) return;
      this.policies = page.policies;
      this.nextCursor = page.nextCursor;
      this.hasInventory = page.snapshot !== null;
      this.total = page.snapshot?.itemCount ?? 0;
      this.error = null;
    } catch (error) {
      if (seq === this.#seq) this.error = message(error);
    } finally {
      if (seq === this.#seq) this.loading = false;
    }
  }
}
