// What a delivery sends: the signed JSON body (docs/api.md §13), or a Slack incoming-webhook message. Built from
// the run's row as the change left it (the delivery's snapshot), so every attempt sends the same content.
import type { Catalog } from '../catalog/catalog.ts';
import type { RunFailure } from '../runs/model.ts';
import type { RunRow } from '../runs/store.ts';
import { runUrl, summaryOf, toRunView } from '../runs/view.ts';
import type { WebhookEvent, WebhookFormat } from './model.ts';
import type { ClaimedDelivery } from './store.ts';
import type { WebhookPayload } from './view.ts';

/** The body of a delivery, and the run's first failure (for the Slack message). */
export function bodyOf(delivery: ClaimedDelivery, catalog: Catalog, publicUrl: string): { body: WebhookPayload; firstFailure: RunFailure | null } {
  const { first_failure: firstFailure, ...row } = delivery.snapshot as RunRow & { first_failure?: RunFailure | null };
  const run = summaryOf(toRunView(row, catalog));
  return {
    body: { id: delivery.id, event: delivery.event as WebhookEvent, occurredAt: run.updatedAt, run, url: `${publicUrl}${runUrl(run.tenant, run.id)}` },
    firstFailure: firstFailure ?? null,
  };
}

/** Slack's mrkdwn reserves &, < and >; everything else is shown as written. */
const escapeSlack = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

const OUTCOME_WORDS = {
  succeeded: [':white_check_mark:', 'succeeded'],
  partially_succeeded: [':warning:', 'partially succeeded'],
  failed: [':x:', 'failed'],
  pending: [':x:', 'ended'],
} as const;

/** A Slack incoming-webhook message for the body: one line of text (notifications) and blocks (the channel). */
export function slackMessageOf(body: WebhookPayload, firstFailure: RunFailure | null): { text: string; blocks: unknown[] } {
  const { run } = body;
  const what = `*${escapeSlack(run.label)}* in *${escapeSlack(run.tenant)}*`;
  const { succeeded, failed, skipped, total } = run.counts;
  let headline: string;
  const details: string[] = [];
  if (body.event === 'run.queued') {
    headline = `:hourglass_flowing_sand: ${what} was queued${run.initiator ? ` by ${escapeSlack(run.initiator.name)}` : ''}`;
  } else {
    const [emoji, verb] = OUTCOME_WORDS[run.outcome];
    headline = `${emoji} ${what} ${verb}`;
    details.push(`${succeeded} succeeded · ${failed} failed · ${skipped} skipped${total > 0 ? ` of ${total}` : ''}`);
    if (firstFailure) details.push(`First failure: \`${escapeSlack(firstFailure.code)}\` ${escapeSlack(firstFailure.message)}`);
  }
  const link = `<${body.url}|View run>`;
  return {
    text: `${headline}. ${link}`,
    blocks: [
      { type: 'section', text: { type: 'mrkdwn', text: [headline, ...details].join('\n') } },
      { type: 'context', elements: [{ type: 'mrkdwn', text: `${link} · run \`${run.id.slice(0, 8)}\`` }] },
    ],
  };
}

/** The bytes a delivery sends, in the webhook's format. */
export function encodedBody(format: WebhookFormat, body: WebhookPayload, firstFailure: RunFailure | null): string {
  return JSON.stringify(format === 'slack' ? slackMessageOf(body, firstFailure) : body);
}
