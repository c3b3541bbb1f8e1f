// One start dialog's state: the values typed, errors at the fields, the request under way and its outcome.
// The dialog component is a view of this; the rules are in start-forms.ts and start-outcome.ts.
import { api, ApiError, endpoints, type OperationTypeView, type StartAnswer, type StartBody } from './api.ts';
import { fieldsOf, formFor, initialValues, placeErrors, prefillValues, toScope, type FormValues, type ScopeForm } from './start-forms.ts';
import { outcomeOfAnswer, outcomeOfError, type StartOutcome } from './start-outcome.ts';

/** Enqueue-only on the server: this answers at once, whatever the workers are doing. */
export async function startRun(tenant: string, type: string, scope: Record<string, unknown>): Promise<StartOutcome> {
  try {
    const body: StartBody = { type, scope };
    const answer = await api<StartAnswer>(endpoints.startRun(tenant), { method: 'POST', body });
    return outcomeOfAnswer(tenant, answer);
  } catch (error) {
    if (error instanceof ApiError) return outcomeOfError(tenant, error.status, error.code, error.message, error.body);
    return { kind: 'error', message: 'The run could not be started. Try again.' };
  }
}

export type Confirmation = Extract<StartOutcome, { kind: 'queued' | 'joined' }>;

export type Problem = { title: string; message: string; url: string | null };

export class StartForm {
  values = $state<FormValues>({});
  errors = $state.raw<Record<string, string>>({});
  /** An error that belongs to no field (dispatch failed, forbidden, network, unknown paths). */
  problem = $state.raw<Problem | null>(null);
  confirmation = $state.raw<Confirmation | null>(null);
  submitting = $state(false);

  readonly tenant: string;
  readonly type: OperationTypeView;
  readonly form: ScopeForm;
  readonly #badInput = new Set<string>();
  readonly #onStarted: (outcome: Confirmation) => void;

  /** `initialScope`: start from a scope (a run's, to run it again) rather than the type's defaults. */
  constructor(
    tenant: string,
    type: OperationTypeView,
    onStarted: (outcome: Confirmation) => void = () => undefined,
    initialScope: Readonly<Record<string, unknown>> | null = null,
  ) {
    this.tenant = tenant;
    this.type = type;
    this.form = formFor(type);
    this.values = initialScope ? prefillValues(this.form, initialScope, type.scopeSchema) : initialValues(this.form);
    this.#onStarted = onStarted;
  }

  /** `badInput`: a number input whose text the browser cannot read as a number. */
  set(name: string, value: string | boolean, badInput = false): void {
    this.values[name] = value;
    if (badInput) this.#badInput.add(name);
    else this.#badInput.delete(name);
    if (this.errors[name]) {
      const { [name]: _cleared, ...rest } = this.errors;
      this.errors = rest;
    }
  }

  /** The first field with an error, in form order (to move focus there). */
  get firstInvalid(): string | null {
    return fieldsOf(this.form).find((f) => this.errors[f.name])?.name ?? null;
  }

  async submit(): Promise<StartOutcome | null> {
    if (this.submitting) return null;
    this.problem = null;
    const scope = toScope(this.form, this.values, this.#badInput);
    if (!scope.ok) {
      this.errors = scope.errors;
      this.confirmation = null;
      return null;
    }
    this.errors = {};
    this.submitting = true;
    try {
      const outcome = await startRun(this.tenant, this.type.type, scope.scope);
      this.#show(outcome);
      return outcome;
    } finally {
      this.submitting = false;
    }
  }

  #show(outcome: StartOutcome): void {
    switch (outcome.kind) {
      case 'queued':
      case 'joined':
        this.confirmation = outcome;
        this.#onStarted(outcome);
        return;
      case 'invalid': {
        const placed = placeErrors(this.form, outcome.details);
        this.errors = placed.fields;
        this.confirmation = null;
        const general = placed.general.length > 0 ? placed.general.join(' ') : Object.keys(placed.fields).length === 0 ? outcome.message : null;
        this.problem = general ? { title: 'Check the scope', message: general, url: null } : null;
        return;
      }
      case 'dispatch_failed':
        this.confirmation = null;
        this.problem = { title: 'Queue unavailable', message: outcome.message, url: outcome.url };
        return;
      case 'error':
        this.confirmation = null;
        this.problem = { title: 'The run was not started', message: outcome.message, url: null };
        return;
    }
  }
}
