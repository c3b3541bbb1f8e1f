// The vocabulary of outgoing webhooks (docs/api.md §13) and its pure rules: no I/O, safe to import anywhere.

export const WEBHOOK_EVENTS = ['run.completed', 'run.queued'] as const;
export type WebhookEvent = (typeof WEBHOOK_EVENTS)[number];

export const WEBHOOK_FORMATS = ['json', 'slack'] as const;
export type WebhookFormat = (typeof WEBHOOK_FORMATS)[number];

/** The outcomes a `run.completed` webhook may be narrowed to. */
export const WEBHOOK_OUTCOMES = ['succeeded', 'partially_succeeded', 'failed'] as const;
export type WebhookOutcome = (typeof WEBHOOK_OUTCOMES)[number];

/**
 * A delivery's life: `pending` (due at `nextAttemptAt`), `delivering` (an attempt holds its lease), then
 * `succeeded` (a 2xx answer) or `failed` (retries ran out, or the address rule refused the target).
 */
export const DELIVERY_STATUSES = ['pending', 'delivering', 'succeeded', 'failed'] as const;
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number];

export const MAX_WEBHOOKS_PER_TENANT = 20;
/** The delivery log a webhook shows: its newest deliveries. */
export const DELIVERY_LOG_LIMIT = 100;
/** Attempts of one webhook in flight at once (across all workers): a slow receiver holds no more slots than this. */
export const MAX_IN_FLIGHT_PER_WEBHOOK = 2;
/** Retries back off by doubling from the configured base, up to this far apart. */
export const MAX_RETRY_DELAY_MS = 15 * 60_000;
/** Finished deliveries are kept this long (the log shows the newest 100 of each webhook). */
export const DELIVERY_RETENTION_DAYS = 7;

/**
 * The delay before retry number `attempt` (1 = after the first failed attempt): `base · 2^(attempt-1)` capped at
 * MAX_RETRY_DELAY_MS, with ±20 % jitter (from `random`, 0 ≤ r < 1) so receivers coming back are not hit at once.
 * With the default 10 s base: 10 s, 20 s, 40 s, … 15 min — about ten attempts in the first hour.
 */
export function retryDelayMs(attempt: number, baseMs: number, random = Math.random()): number {
  const exponential = Math.min(MAX_RETRY_DELAY_MS, baseMs * 2 ** Math.max(0, Math.min(30, attempt - 1)));
  return Math.round(exponential * (0.8 + 0.4 * random));
}

/** Whether a delivery whose first attempt was at `firstAttemptAt` may be tried again at `retryAt`. */
export function mayRetry(firstAttemptAt: Date, retryAt: Date, retryForMs: number): boolean {
  return retryAt.getTime() - firstAttemptAt.getTime() <= retryForMs;
}
