// The Webhooks page's pure helpers (docs/api.md §13): the words for events, outcomes, formats, a webhook's health
// and a delivery's status; the "New webhook" form turned into the POST body; the server's 400 details placed at
// their fields. The server's schema is the one authority on what is valid: this only turns what was chosen into JSON.
import type { DeliveryView, ErrorBody, WebhookBody, WebhookView } from '../../../server/http/contract.ts';
import { duration, formatDateTime, relativeTime, shortDuration } from './format.ts';
import { BUCKET_LABELS, type Bucket } from './vocabulary.ts';

export type WebhookEvent = WebhookView['events'][number];
export type WebhookOutcome = WebhookView['outcomes'][number];
export type WebhookFormat = WebhookView['format'];
export type WebhookHealth = WebhookView['health'];

// Keyed by the server's own unions: a new event, outcome or format fails the type check until it has words here.
export const EVENT_HINTS: Record<WebhookEvent, string> = {
  'run.completed': 'A run ended, with its outcome and counts',
  'run.queued': 'A run was started',
};
export const OUTCOME_LABELS: Record<WebhookOutcome, string> = {
  succeeded: BUCKET_LABELS.succeeded,
  partially_succeeded: BUCKET_LABELS.partially_succeeded,
  failed: BUCKET_LABELS.failed,
};
export const FORMAT_LABELS: Record<WebhookFormat, { label: string; hint: string }> = {
  json: { label: 'JSON, signed', hint: 'The run as JSON with a Runboard-Signature header to verify' },
  slack: { label: 'Slack message', hint: 'For a Slack incoming-webhook URL: the outcome, counts and a link' },
};
export const EVENTS = Object.keys(EVENT_HINTS) as WebhookEvent[];
export const OUTCOMES = Object.keys(OUTCOME_LABELS) as WebhookOutcome[];
export const FORMATS = Object.keys(FORMAT_LABELS) as WebhookFormat[];

/** What a chip shows: a tone (a run bucket's colour and icon) and a word. */
export type Chip = { tone: Bucket; label: string };

// ── The form ────────────────────────────────────────────────────────────────────────────────────────────────

export type WebhookFormValues = { url: string; events: WebhookEvent[]; types: string[]; outcomes: WebhookOutcome[]; format: WebhookFormat };
export type WebhookField = keyof WebhookFormValues;
export type WebhookFieldErrors = Partial<Record<WebhookField, string>>;
export type WebhookBodyResult = { ok: true; body: WebhookBody } | { ok: false; errors: WebhookFieldErrors };

export function emptyWebhookForm(): WebhookFormValues {
  return { url: '', events: ['run.completed'], types: [], outcomes: [], format: 'json' };
}

/** Outcomes narrow `run.completed` only: without it they are not offered (and not sent). */
export function outcomesApply(events: readonly WebhookEvent[]): boolean {
  return events.includes('run.completed');
}

/** `list` with `value` added or taken out, in the order of `order` (so the body reads the same however it was clicked). */
export function toggled<T>(list: readonly T[], value: T, order: readonly T[]): T[] {
  const next = list.includes(value) ? list.filter((v) => v !== value) : [...list, value];
  return order.length > 0 ? order.filter((v) => next.includes(v)) : next;
}

/** The POST body; empty types and outcomes are left out (they mean all). Only emptiness is checked here. */
export function webhookBody(values: WebhookFormValues): WebhookBodyResult {
  const errors: WebhookFieldErrors = {};
  const url = values.url.trim();
  if (!url) errors.url = 'Enter the URL that receives the deliveries, e.g. https://hooks.example.com/runboard.';
  const events = EVENTS.filter((e) => values.events.includes(e));
  if (events.length === 0) errors.events = 'Choose at least one event.';
  if (Object.keys(errors).length > 0) return { ok: false, errors };
  const outcomes = outcomesApply(events) ? OUTCOMES.filter((o) => values.outcomes.includes(o)) : [];
  const types = [...new Set(values.types)];
  return {
    ok: true,
    body: { url, events, ...(types.length > 0 ? { types } : {}), ...(outcomes.length > 0 ? { outcomes } : {}), format: values.format },
  };
}

type Detail = NonNullable<ErrorBody['error']['details']>[number];
const FIELDS: readonly string[] = ['url', 'events', 'types', 'outcomes', 'format'] satisfies WebhookField[];

/**
 * The server's 400 details at their fields: `types.2` and `events.0` at their group (several at one field are
 * said together); details of no field (an unknown key) in `general`.
 */
export function placeWebhookErrors(details: readonly Detail[]): { fields: WebhookFieldErrors; general: string[] } {
  const fields: WebhookFieldErrors = {};
  const general: string[] = [];
  for (const { path, message } of details) {
    const key = path.replace(/^body\./, '');
    const head = key.split('.')[0] ?? '';
    const text = sentence(message);
    if (FIELDS.includes(head)) {
      const field = head as WebhookField;
      const known = fields[field];
      if (!known) fields[field] = text;
      else if (!known.includes(text)) fields[field] = `${known} ${text}`;
    } else general.push(key ? `${key}: ${text}` : text);
  }
  return { fields, general };
}

function sentence(text: string): string {
  const capital = text.charAt(0).toUpperCase() + text.slice(1);
  return /[.!?]$/.test(capital) ? capital : `${capital}.`;
}

// ── The list ────────────────────────────────────────────────────────────────────────────────────────────────

/** A long URL shortened in the middle, so its host and its end (what tells two hooks apart) both stay in view. */
export function shortUrl(url: string, max = 64): string {
  if (url.length <= max) return url;
  // The origin whole where it leaves room for a dozen characters of the end.
  const origin = URL.canParse(url) ? new URL(url).origin.length + 1 : 0;
  const head = Math.min(max - 13, Math.max(Math.ceil((max - 1) * 0.6), origin));
  return `${url.slice(0, head)}…${url.slice(url.length - (max - 1 - head))}`;
}

/** "All types", or the chosen types by their labels (the catalog's; the type itself for one it does not know). */
export function typesText(types: readonly string[], labelOf: (type: string) => string | undefined): string {
  return types.length === 0 ? 'All types' : types.map((type) => labelOf(type) ?? type).join(', ');
}

/** "All outcomes", the chosen ones, or "—" when the webhook does not send `run.completed` at all. */
export function outcomesText(webhook: Pick<WebhookView, 'events' | 'outcomes'>): string {
  if (!outcomesApply(webhook.events)) return '—';
  return webhook.outcomes.length === 0 ? 'All outcomes' : webhook.outcomes.map((o) => OUTCOME_LABELS[o]).join(', ');
}

/** The health chip, and the line beside it: failures in a row and until when deliveries wait, or the last delivery. */
export function healthChip(health: WebhookHealth, now: number): Chip & { detail: string | null } {
  switch (health.state) {
    case 'healthy':
      return { tone: 'succeeded', label: 'Healthy', detail: health.lastDeliveryAt ? `Last delivery ${relativeTime(health.lastDeliveryAt, now)}` : null };
    case 'failing': {
      const failures = `${health.consecutiveFailures} ${health.consecutiveFailures === 1 ? 'failure' : 'failures'} in a row`;
      const left = health.pausedUntil ? Date.parse(health.pausedUntil) - now : 0;
      return {
        tone: 'failed',
        label: 'Failing',
        detail: left > 0 ? `${failures} · paused until ${formatDateTime(health.pausedUntil)} (in ${shortDuration(Math.max(1_000, left))})` : `${failures} · trying again`,
      };
    }
    case 'unknown':
      return { tone: 'queued', label: 'No deliveries yet', detail: null };
  }
}

// ── The delivery log ────────────────────────────────────────────────────────────────────────────────────────

export const DELIVERY_CHIPS: Record<DeliveryView['status'], Chip> = {
  pending: { tone: 'queued', label: 'Pending' },
  delivering: { tone: 'running', label: 'Delivering' },
  succeeded: { tone: 'succeeded', label: 'Succeeded' },
  failed: { tone: 'failed', label: 'Failed' },
};

/** A delivery's status chip; a pending one that failed before waits for a retry, which it says. */
export function deliveryChip(delivery: Pick<DeliveryView, 'status' | 'attempts'>): Chip {
  if (delivery.status === 'pending' && delivery.attempts > 0) return { tone: 'partially_succeeded', label: 'Pending retry' };
  return DELIVERY_CHIPS[delivery.status];
}

/**
 * When a pending delivery is tried next ("in 20 s", "due now"); "—" for the others. A failing webhook's deliveries
 * all wait for its pause (`health.pausedUntil`), whatever their own time says.
 */
export function nextAttemptAt(delivery: Pick<DeliveryView, 'status' | 'nextAttemptAt'>, pausedUntil: string | null): string | null {
  if (delivery.status !== 'pending' || !delivery.nextAttemptAt) return null;
  return pausedUntil && Date.parse(pausedUntil) > Date.parse(delivery.nextAttemptAt) ? pausedUntil : delivery.nextAttemptAt;
}

export function nextAttemptText(due: string | null, now: number): string {
  if (!due) return '—';
  return Date.parse(due) <= now ? 'due now' : relativeTime(due, now);
}

export function durationText(delivery: Pick<DeliveryView, 'durationMs'>): string {
  return delivery.durationMs === null ? '—' : duration(delivery.durationMs);
}
