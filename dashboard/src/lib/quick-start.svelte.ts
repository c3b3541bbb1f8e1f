// A start without a form (docs/api.md §10: "Sync now", "Generate drift", "Add policies"): the request, then at
// once its confirmation with the run's "View run" link, or what went wrong in words. The request and the
// meaning of its answer are StartForm's (start-form.svelte.ts, start-outcome.ts).
import { startRun, type Confirmation, type Problem } from './start-form.svelte.ts';

export class QuickStart {
  confirmation = $state.raw<Confirmation | null>(null);
  problem = $state.raw<Problem | null>(null);
  submitting = $state(false);

  readonly tenant: string;
  readonly type: string;

  constructor(tenant: string, type: string) {
    this.tenant = tenant;
    this.type = type;
  }

  /** Starts a run of the type with this scope; the confirmation, or null when it was not started. */
  async start(scope: Record<string, unknown>): Promise<Confirmation | null> {
    if (this.submitting) return null;
    this.submitting = true;
    this.problem = null;
    try {
      const outcome = await startRun(this.tenant, this.type, scope);
      switch (outcome.kind) {
        case 'queued':
        case 'joined':
          this.confirmation = outcome;
          return outcome;
        case 'invalid': {
          const details = outcome.details.map((d) => d.message).join(' ');
          this.problem = { title: 'The run was not started', message: details || outcome.message, url: null };
          break;
        }
        case 'dispatch_failed':
          this.problem = { title: 'Queue unavailable', message: outcome.message, url: outcome.url };
          break;
        case 'error':
          this.problem = { title: 'The run was not started', message: outcome.message, url: null };
          break;
      }
      this.confirmation = null;
      return null;
    } finally {
      this.submitting = false;
    }
  }

  clear(): void {
    this.confirmation = null;
    this.problem = null;
  }
}
