import type { RunOutcome } from '../runs/model.ts';
import type { NotificationLevel } from './entity.ts';
import type { NotificationText } from './store.ts';

type Counts = { total: number; processed: number; succeeded: number; failed: number; skipped: number };

export type { NotificationText };

export function queuedText(label: string): NotificationText {
  return { level: 'info', title: `${label} queued`, body: 'Your run is queued. You will be notified when it completes.' };
}

const OUTCOME_TEXT: Record<Exclude<RunOutcome, 'pending'>, { level: NotificationLevel; verb: string }> = {
  succeeded: { level: 'success', verb: 'succeeded' },
  partially_succeeded: { level: 'warning', verb: 'partially succeeded' },
  failed: { level: 'danger', verb: 'failed' },
};

export function completedText(label: string, outcome: Exclude<RunOutcome, 'pending'>, counts: Counts, firstFailure?: string): NotificationText {
  const { level, verb } = OUTCOME_TEXT[outcome];
  const parts = [`${counts.succeeded} succeeded`, `${counts.failed} failed`];
  if (counts.skipped > 0) parts.push(`${counts.skipped} skipped`);
  let body = `${parts.join(', ')} of ${counts.total} item${counts.total === 1 ? '' : 's'}.`;
  if (firstFailure) body += ` ${firstFailure}`;
  return { level, title: `${label} ${verb}`, body };
}
