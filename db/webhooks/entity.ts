import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import { OperationRun } from '../runs/entity.ts';
import { Tenant, User } from '../tenants/entities.ts';
import { DELIVERY_STATUSES, WEBHOOK_FORMATS } from './model.ts';

/**
 * A tenant's outgoing webhook (docs/api.md §13), set by an owner. The signing secret is sealed under a key from
 * configuration (db/secrets/sealed.ts); `pausedUntil` and `consecutiveFailures` are the receiver's health: after a
 * failed attempt its deliveries wait, so a dead receiver is tried now and then rather than with every delivery.
 */
export const Webhook = defineEntity({
  name: 'Webhook',
  tableName: 'webhooks',
  properties: {
    id: p.uuid().primary(),
    tenant: () => p.manyToOne(Tenant).deleteRule('cascade').index(),
    url: p.string().length(2000),
    events: p.json<string[]>(),
    /** Empty: every type. */
    types: p.json<string[]>().defaultRaw(`'[]'::jsonb`),
    /** Empty: every outcome (run.completed only). */
    outcomes: p.json<string[]>().defaultRaw(`'[]'::jsonb`),
    format: p.enum(WEBHOOK_FORMATS),
    secretCiphertext: p.text(),
    createdBy: () => p.manyToOne(User).nullable().deleteRule('set null'),
    createdAt: p.datetime().defaultRaw('now()'),
    consecutiveFailures: p.integer().default(0),
    pausedUntil: p.datetime().nullable(),
    lastDeliveryAt: p.datetime().nullable(),
  },
});
export type IWebhook = InferEntity<typeof Webhook>;

/**
 * The outbox and the delivery log in one table: a row is written in the transaction of the run change it reports
 * (so a crash between commit and send loses nothing), claimed by a worker for an attempt (`leaseUntil`), and kept
 * with its result. `snapshot` is the run's row as that change left it; the body is built from it at each attempt, the
 * same every time. Deleted with its webhook, its run, or after DELIVERY_RETENTION_DAYS.
 */
export const WebhookDelivery = defineEntity({
  name: 'WebhookDelivery',
  tableName: 'webhook_deliveries',
  properties: {
    /** The event id receivers de-duplicate by: the same on every attempt. */
    id: p.uuid().primary(),
    webhook: () => p.manyToOne(Webhook).deleteRule('cascade'),
    tenant: () => p.manyToOne(Tenant).deleteRule('cascade'),
    run: () => p.manyToOne(OperationRun).deleteRule('cascade'),
    event: p.string().length(40),
    /** The run's version after the change: deliveries of one run go out in this order. */
    runVersion: p.integer(),
    snapshot: p.json<Record<string, unknown>>(),
    status: p.enum(DELIVERY_STATUSES),
    attempts: p.integer().default(0),
    nextAttemptAt: p.datetime(),
    leaseUntil: p.datetime().nullable(),
    createdAt: p.datetime(),
    firstAttemptAt: p.datetime().nullable(),
    lastAttemptAt: p.datetime().nullable(),
    completedAt: p.datetime().nullable(),
    /** The HTTP status of the last attempt (null: no answer). */
    lastStatus: p.integer().nullable(),
    /** Why the last attempt failed, in words of ours (never the receiver's text or an address). */
    lastError: p.string().length(300).nullable(),
    durationMs: p.integer().nullable(),
  },
  indexes: [
    { name: 'webhook_deliveries_due', expression: `create index "webhook_deliveries_due" on "webhook_deliveries" ("next_attempt_at") where status in ('pending', 'delivering')` },
    { name: 'webhook_deliveries_run_order', expression: 'create index "webhook_deliveries_run_order" on "webhook_deliveries" ("webhook_id", "run_id", "run_version")' },
    { name: 'webhook_deliveries_log', expression: 'create index "webhook_deliveries_log" on "webhook_deliveries" ("webhook_id", "created_at" desc)' },
    { name: 'webhook_deliveries_run', expression: 'create index "webhook_deliveries_run" on "webhook_deliveries" ("run_id")' },
    // Attempts in flight per webhook, for the claim's cap (a handful of rows, however long the backlog).
    { name: 'webhook_deliveries_in_flight', expression: `create index "webhook_deliveries_in_flight" on "webhook_deliveries" ("webhook_id") where status = 'delivering'` },
  ],
});
export type IWebhookDelivery = InferEntity<typeof WebhookDelivery>;
