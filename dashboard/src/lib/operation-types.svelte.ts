// The operation types of one tenant as the start page shows them: what each is, who may start it, and the
// last start made from this page (so its "View run" link stays at hand after the dialog closes).
import { api, ApiError, endpoints, type OperationTypesAnswer, type OperationTypeView } from './api.ts';
import { message } from './board.svelte.ts';
import type { Confirmation } from './start-form.svelte.ts';

/**
 * How a type is started from this page: its generic start dialog; a link to the feature page that starts it
 * (`startSurface`, e.g. "Start from Inventory"); or not at all — the role is not enough, or only its own
 * module starts it (a restore's run is created by the restore's preview) — said with the reason.
 */
export type StartMode =
  | { kind: 'dialog' }
  | { kind: 'surface'; surface: NonNullable<OperationTypeView['startSurface']> }
  | { kind: 'none'; reason: 'role' | 'owned'; surface: OperationTypeView['startSurface'] | null };

export function startMode(type: OperationTypeView): StartMode {
  if (!type.canStart) return { kind: 'none', reason: 'role', surface: type.startSurface ?? null };
  if (type.owned) return { kind: 'none', reason: 'owned', surface: type.startSurface ?? null };
  if (type.startSurface) return { kind: 'surface', surface: type.startSurface };
  return { kind: 'dialog' };
}

/** Whether this member can start the type, here or on its feature page. */
export function startableHere(type: OperationTypeView): boolean {
  return startMode(type).kind !== 'none';
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
