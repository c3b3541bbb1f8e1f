// The operation types of one tenant as the start page shows them: what each is, who may start it, and the
// last start made from this page (so its "View run" link stays at hand after the dialog closes).
import { api, ApiError, endpoints, type OperationTypesAnswer, type OperationTypeView } from './api.ts';
import { message } from './board.svelte.ts';
import type { Confirmation } from './start-form.svelte.ts';

/** Whether this page may start a type: the member's role allows it, and no feature of its own starts it. */
export function startableHere(type: OperationTypeView): boolean {
  return type.canStart && !type.owned;
}

export class OperationTypes {
  types = $state.raw<OperationTypeView[]>([]);
  loading = $state(true);
  error = $state<string | null>(null);
  forbidden = $state(false);
  /** The latest start per type, from this page. */
  lastStarts = $state.raw<Record<string, Confirmation>>({});

  readonly tenant: string;
  #seq = 0;

  constructor(tenant: string) {
    this.tenant = tenant;
  }

  async load(): Promise<void> {
    const seq = ++this.#seq;
    this.error = null;
    try {
      const answer = await api<OperationTypesAnswer>(endpoints.operationTypes(this.tenant));
      if (seq !== this.#seq) return;
      // Those you may start first, then by label; the order of the catalog means nothing to a reader.
      this.types = answer.types.toSorted((a, b) => Number(startableHere(b)) - Number(startableHere(a)) || a.label.localeCompare(b.label));
      this.forbidden = false;
    } catch (error) {
      if (seq !== this.#seq) return;
      this.forbidden = error instanceof ApiError && error.status === 403;
      this.error = message(error);
    } finally {
      if (seq === this.#seq) this.loading = false;
    }
  }

  started(type: string, outcome: Confirmation): void {
    this.lastStarts = { ...this.lastStarts, [type]: outcome };
  }

  dispose(): void {
    this.#seq++;
  }
}
