import type { RunView } from '../runs/view.ts';
import type { DeliveryStatus, WebhookEvent, WebhookFormat, WebhookOutcome } from './model.ts';
import type { DeliveryRow, WebhookRow } from './store.ts';

/** A webhook as its owners see it: never its secret (shown once, at creation). */
export type WebhookView = {
  id: string;
  url: string;
  events: WebhookEvent[];
  /** Empty: every type. */
  types: string[];
  /** Empty: every outcome. */
  outcomes: WebhookOutcome[];
  format: WebhookFormat;
  createdAt: string;
  createdBy: { name: string } | null;
  /**
   * The receiver's health: `healthy` (its last attempt succeeded), `failing` (its last attempts failed; its
   * deliveries wait until `pausedUntil`), `unknown` (nothing sent yet).
   */
  health: { state: 'healthy' | 'failing' | 'unknown'; consecutiveFailures: number; pausedUntil: string | null; lastDeliveryAt: string | null };
};

/** One entry of a webhook's delivery log. */
export type DeliveryView = {
  /** The event id (the body's `id`): the same on every attempt, for receivers to de-duplicate. */
  id: string;
  event: WebhookEvent;
  runId: string;
  status: DeliveryStatus;
  /** The HTTP status of the last attempt; null when there was no answer (timeout, refused, network). */
  code: number | null;
  attempts: number;
  /** How long the last attempt took. */
  durationMs: number | null;
  /** Why the last attempt failed, in Runboard's words. */
  error: string | null;
  createdAt: string;
  lastAttemptAt: string | null;
  /** When the next attempt is due (pending deliveries only). */
  nextAttemptAt: string | null;
  completedAt: string | null;
};

/** What a delivery's body carries (`format: "json"`), signed with `Runboard-Signature`. */
export type WebhookPayload = {
  id: string;
  event: WebhookEvent;
  /** When the run change happened (its `updatedAt`). */
  occurredAt: string;
  /** The run summary as that change left it (no failures list; `failureCount` counts them). */
  run: Omit<RunView, 'failures'>;
  /** The run's page in the dashboard. */
  url: string;
};

const iso = (value: Date | string | null): string | null => (value === null ? null : new Date(value).toISOString());

export function toWebhookView(row: WebhookRow): WebhookView {
  const failures = row.consecutive_failures;
  return {
    id: row.id,
    url: row.url,
    events: row.events as WebhookEvent[],
    types: row.types,
    outcomes: row.outcomes as WebhookOutcome[],
    format: row.format,
    createdAt: iso(row.created_at)!,
    createdBy: row.created_by_name === null ? null : { name: row.created_by_name },
    health: {
      state: failures > 0 ? 'failing' : row.last_delivery_at ? 'healthy' : 'unknown',
      consecutiveFailures: failures,
      pausedUntil: failures > 0 ? iso(row.paused_until) : null,
      lastDeliveryAt: iso(row.last_delivery_at),
    },
  };
}

export function toDeliveryView(row: DeliveryRow): DeliveryView {
  return {
    id: row.id,
    event: row.event as WebhookEvent,
    runId: row.run_id,
    status: row.status,
    code: row.last_status,
    attempts: row.attempts,
    durationMs: row.duration_ms,
    error: row.last_error,
    createdAt: iso(row.created_at)!,
    lastAttemptAt: iso(row.last_attempt_at),
    nextAttemptAt: row.status === 'pending' ? iso(row.next_attempt_at) : null,
    completedAt: iso(row.completed_at),
  };
}
