// A form whose body is built in the browser and judged by the server (the New webhook form; the source form and
// the start dialogs work the same way): what was typed is turned into a body (or errors at its fields), the save
// answers the server's errors placed at their fields and a problem of no field, and focus goes to the first field
// in error. Components keep their markup; this keeps the submit cycle.
import { tick } from 'svelte';
import type { Built, Saved } from './server-form.ts';

export class ServerForm<F extends string, B> {
  errors = $state.raw<Partial<Record<F, string>>>({});
  problem = $state<string | null>(null);
  saving = $state(false);
  /** The <form>: its first `[aria-invalid="true"]` field, or first enabled box of a `[data-invalid]` group, takes focus. */
  element: HTMLFormElement | undefined = $state();

  readonly #build: () => Built<F, B>;
  readonly #save: (body: B) => Promise<Saved<F>>;

  constructor(build: () => Built<F, B>, save: (body: B) => Promise<Saved<F>>) {
    this.#build = build;
    this.#save = save;
  }

  /** A field changed: its error goes. */
  clear(name: F): void {
    if (!this.errors[name]) return;
    const { [name]: _cleared, ...rest } = this.errors;
    this.errors = rest as Partial<Record<F, string>>;
  }

  submit = async (event: SubmitEvent): Promise<void> => {
    event.preventDefault();
    if (this.saving) return;
    this.problem = null;
    const built = this.#build();
    if (!built.ok) return this.#show(built.errors, null);
    this.saving = true;
    try {
      const saved = await this.#save(built.body);
      if (!saved.ok) await this.#show(saved.fields, saved.message);
    } finally {
      this.saving = false;
    }
  };

  async #show(errors: Partial<Record<F, string>>, problem: string | null): Promise<void> {
    this.errors = errors;
    this.problem = problem;
    await tick();
    this.element?.querySelector<HTMLElement>('[aria-invalid="true"], [data-invalid] input:not(:disabled)')?.focus();
  }
}
