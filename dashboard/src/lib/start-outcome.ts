// What the answer to a start (POST /api/tenants/:tenant/runs, docs/api.md §3) means to the person who asked:
// queued, joined an active run, not valid (with details for the fields), or created but not dispatched.
// Pure: the request itself is made by StartForm (start-form.svelte.ts).
import type { StartAnswer } from '../../../server/http/contract.ts';
import type { ErrorDetail } from './start-forms.ts';

export type StartOutcome =
  | { kind: 'queued'; runId: string; url: string }
  | { kind: 'joined'; runId: string; url: string }
  | { kind: 'invalid'; message: string; details: ErrorDetail[] }
  | { kind: 'dispatch_failed'; message: string; runId: string | null; url: string | null }
  | { kind: 'error'; message: string };


export function runPath(tenant: string, runId: string): string {
  return `/t/${encodeURIComponent(tenant)}/operations/${encodeURIComponent(runId)}`;
}

/** The answer's `url` when it is a path of this site; otherwise the run's own path (never another origin). */
function sameSite(url: unknown, fallback: string): string {
  return typeof url === 'string' && url.startsWith('/') && !url.startsWith('//') && !url.startsWith('/\\') ? url : fallback;
}

/** What of the answer is read: the run's id, whether it was reused, and its link. */
type AnswerRead = Pick<StartAnswer, 'reused' | 'url'> & { run: Pick<StartAnswer['run'], 'id'> };

export function outcomeOfAnswer(tenant: string, answer: AnswerRead): StartOutcome {
  const url = sameSite(answer.url, runPath(tenant, answer.run.id));
  return answer.reused ? { kind: 'joined', runId: answer.run.id, url } : { kind: 'queued', runId: answer.run.id, url };
}

export function outcomeOfError(tenant: string, status: number, code: string, message: string, body: unknown): StartOutcome {
  const error = (body as { error?: { details?: unknown } } | null)?.error;
  if (status === 400 && code === 'validation_failed') {
    const details = Array.isArray(error?.details)
      ? error.details.filter(
          (d): d is ErrorDetail => typeof d === 'object' && d !== null && typeof d.path === 'string' && typeof d.message === 'string',
        )
      : [];
    return { kind: 'invalid', message, details };
  }
  if (status === 503 && code === 'dispatch_failed') {
    const run = (body as { run?: { id?: unknown } } | null)?.run;
    const runId = typeof run?.id === 'string' ? run.id : null;
    return { kind: 'dispatch_failed', message, runId, url: runId ? runPath(tenant, runId) : null };
  }
  if (status === 403) return { kind: 'error', message: 'Your role may not start this operation type (any more). Reload the page to see what you can start.' };
  if (status === 429) return { kind: 'error', message: 'Too many requests just now. Wait a moment and try again.' };
  return { kind: 'error', message };
}
