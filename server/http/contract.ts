// The one contract of the HTTP API (docs/api.md §3): every request schema the routes validate with, and every
// response shape they answer with. Routes, the dashboard (`import type` only, so zod stays out of the bundle),
// the mirrored-runs client and the tests all import from here; nothing re-declares these shapes.
import { z } from 'zod';
import type { Role } from '../../db/access/roles.ts';
import type { BackupSetDetail, BackupSetPage } from '../../db/backups/service.ts';
import type { KioskTokenView, MembershipView, UserView } from '../../db/auth/view.ts';
import type { OperationTypeView } from '../../db/catalog/view.ts';
import { DRIFT_CHANGES } from '../../db/drift/entity.ts';
import type { DriftFindingsPage, DriftStatus } from '../../db/drift/service.ts';
import type { InventoryPage } from '../../db/inventory/service.ts';
import { MAX_KEYSET_CURSOR } from '../../db/inventory/keyset.ts';
import type { NotificationPage, NotificationView } from '../../db/notifications/view.ts';
import type { RestorePage, RestoreView } from '../../db/restores/service.ts';
import { MAX_LIST_LIMIT, RUN_BUCKETS, STATS_WINDOWS, type RunBucket, type StatsWindow } from '../../db/runs/model.ts';
import type { BucketCounts, FailureReason, RunHistoryEntry, RunStats, RunView, StartAnswer, TypeBaseline } from '../../db/runs/view.ts';
import { policySourceInput } from '../../db/sources/schema.ts';
import type { PolicySourceView } from '../../db/sources/service.ts';
import { policyIdList } from '../../db/catalog/operations.ts';
import { isoDate, safeString } from '../../db/validation.ts';
import { WEBHOOK_EVENTS, WEBHOOK_FORMATS, WEBHOOK_OUTCOMES } from '../../db/webhooks/model.ts';
import type { DeliveryView, WebhookPayload, WebhookView } from '../../db/webhooks/view.ts';

// Shapes owned by the services that build them, named here for the wire.
export type { BucketCounts, FailureReason, NotificationView, OperationTypeView, Role, RunBucket, RunHistoryEntry, RunView, StartAnswer, StatsWindow, TypeBaseline };

// ── Shared pieces ────────────────────────────────────────────────────────────────────────────────────────

const OPERATION_TYPE = z.string().regex(/^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$/, 'must look like resource.action').max(100);
const oneOrMany = <T extends z.ZodType>(item: T) =>
  z.union([item, z.array(item).max(20)]).optional().transform((v) => (v === undefined ? [] : Array.isArray(v) ? v : [v]));
const cursor = z.string().max(200).optional();
/** A failure reason code as the sanitizer makes them. */
const FAILURE_CODE = z.string().regex(/^[a-z][a-z0-9_]*$/, 'must be a failure code such as worker_lost').max(64);
const count = z.number().int().min(0).max(10_000_000);

/** `{ error: { code, message, details? } }`: every refusal, whatever its status. */
export type ErrorBody = { error: { code: string; message: string; details?: { path: string; message: string }[] } };

// ── Auth and the signed-in user ──────────────────────────────────────────────────────────────────────────

export const loginBody = z.strictObject({
  email: safeString().min(1).max(254),
  password: safeString().min(1).max(200),
});

export type User = UserView;
export type Membership = MembershipView;
/** `GET /api/me` */
export type Me = { user: User; memberships: Membership[] };
/** `POST /api/auth/login` (the session cookie is set as well) */
export type LoginAnswer = Me & { token: string };

// ── Operation types and runs ─────────────────────────────────────────────────────────────────────────────

/** `GET /api/tenants/:tenant/operation-types` */
export type OperationTypesAnswer = { types: OperationTypeView[] };

export const startBody = z.strictObject({
  type: z.string().min(1).max(100),
  // Validated by the operation type's own strict schema (a record here would silently drop `__proto__`).
  scope: z.unknown().optional(),
  // Integration tokens only (docs/api.md §9): the member on whose behalf a mirrored run is started.
  initiator: z.strictObject({ email: safeString().min(3).max(254) }).optional(),
});
export type StartBody = z.input<typeof startBody>;

export const runsQuery = z.strictObject({
  type: oneOrMany(OPERATION_TYPE),
  resource: z.string().regex(/^[a-z][a-z0-9_]*$/, 'must be a resource name such as drift').max(60).optional(),
  bucket: oneOrMany(z.enum(RUN_BUCKETS)),
  initiator: z.union([z.literal('me'), z.uuid()]).optional(),
  from: isoDate().optional(),
  to: isoDate().optional(),
  // docs/api.md §11: a run id (or its first 8+ characters), type or label, initiator, failure code or scope
  // text; case-insensitive, matched literally (no wildcards). An empty `q=` (a cleared search box) is no filter.
  q: safeString()
    .trim()
    .max(100)
    .optional()
    .transform((value) => (value === '' ? undefined : value)),
  failureCode: oneOrMany(FAILURE_CODE),
  limit: z.coerce.number().int().min(1).max(MAX_LIST_LIMIT).default(50),
  cursor,
});
/** `GET …/runs`: newest first; list rows carry `failureCount` but not the failures list. */
export type RunsPage = { runs: RunView[]; nextCursor: string | null };
/** `GET …/runs/:id`: the run with its failures. */
export type RunAnswer = { run: RunView };

export const statsQuery = z.strictObject({
  window: z.enum(Object.keys(STATS_WINDOWS) as [StatsWindow, ...StatsWindow[]]).default('24h'),
});
/** `GET …/stats` */
export type Stats = RunStats;

export const failureReasonsQuery = z.strictObject({
  window: statsQuery.shape.window,
  limit: z.coerce.number().int().min(1).max(100).default(20),
});
/** `GET …/failure-reasons`: most runs first. */
export type FailureReasonsAnswer = { window: StatsWindow; reasons: FailureReason[] };
/** `GET …/runs/:id/history`: oldest first. */
export type RunHistoryAnswer = { history: RunHistoryEntry[] };
/** `GET …/baselines` (members and kiosks; `operation-types` carries the same figures for members). */
export type BaselinesAnswer = { types: TypeBaseline[] };

// ── Mirrored runs ────────────────────────────────────────────────────────────────────────────────────────

const eventId = safeString().min(1).max(200).optional();
const reportedFailure = z.strictObject({
  code: safeString().min(1).max(100),
  message: safeString().max(2_000),
  item: safeString().max(200).optional(),
});

/** `POST …/runs/:id/events`: `started` · `progress` (total sets the total; the rest are increments) · `completed`. */
export const runEventBody = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('started'), eventId }),
  z.strictObject({
    kind: z.literal('progress'),
    eventId,
    total: count.optional(),
    succeeded: count.optional(),
    failed: count.optional(),
    skipped: count.optional(),
    failures: z.array(reportedFailure).max(1_000).optional(),
  }),
  z.strictObject({ kind: z.literal('completed'), eventId, abort: z.boolean().optional() }),
]);
export type RunEventBody = z.input<typeof runEventBody>;

// ── Tenant tokens ────────────────────────────────────────────────────────────────────────────────────────

export const tokenBody = z.strictObject({ label: safeString().trim().min(1).max(200) });
/** `POST …/kiosk-tokens`, `POST …/integration-tokens`: the token is shown this once. */
export type TokenCreated = { id: string; token: string };

// ── Notifications ────────────────────────────────────────────────────────────────────────────────────────

export const notificationsQuery = z.strictObject({
  unread: z.enum(['true', 'false']).optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor,
});
/** `GET /api/notifications` */
export type NotificationsPage = NotificationPage;

// ── Backup sets and restores (docs/api.md §10) ───────────────────────────────────────────────────────────

/** A page of a feature list (backup sets, restores): newest first, keyset-paged. */
export const pageQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor,
});

export const backupSetBody = z.strictObject({ name: safeString().trim().min(1).max(200) });
/** `POST …/backup-sets` (201, no items yet) and `GET …/backup-sets/:id`. */
export type BackupSetAnswer = { backupSet: BackupSetDetail };
/** `GET …/backup-sets` */
export type BackupSetsPage = BackupSetPage;

export const restoreBody = z.strictObject({
  backupSetId: z.uuid(),
  // Omitted: every policy of the backup set. Order and repeats are irrelevant.
  policyIds: policyIdList.optional(),
});
export type RestoreBody = z.input<typeof restoreBody>;
/** `POST …/restores/:id/preview|execute|discard` take no input: an absent or empty body. */
export const restoreActionBody = z.strictObject({}).optional();
/** `POST …/restores` (201), `GET …/restores/:id` and the answers of preview, execute and discard. */
export type RestoreAnswer = { restore: RestoreView };
/** `GET …/restores`: restores without their items. */
export type RestoresPage = RestorePage;

// ── Inventory and drift (docs/api.md §10) ────────────────────────────────────────────────────────────────

// An empty `q=` or `policyType=` (a cleared search box, "all types") is no filter.
const optionalText = (max: number) =>
  safeString()
    .max(max)
    .optional()
    .transform((value) => (value === '' ? undefined : value));
// Keyset cursors over names are longer than the run list's.
const keysetCursor = z.string().max(MAX_KEYSET_CURSOR).optional();

export const inventoryQuery = z.strictObject({
  q: optionalText(200),
  policyType: optionalText(200),
  limit: z.coerce.number().int().min(1).max(MAX_LIST_LIMIT).default(50),
  cursor: keysetCursor,
});
/** `GET …/inventory`: the latest successful sync's policies by name (`snapshot: null` before the first). */
export type { InventoryPage };

export const driftFindingsQuery = z.strictObject({
  // Checked by the route like a path id: a value that cannot name a run is a 404, not a 400.
  run: z.string().optional(),
  change: z.enum(DRIFT_CHANGES).optional(),
  limit: z.coerce.number().int().min(1).max(MAX_LIST_LIMIT).default(50),
  cursor: keysetCursor,
});
/** `GET …/drift/findings`: a generation's findings by change and name (`generation: null` before the first). */
export type { DriftFindingsPage };
/** `GET …/drift/status`: whether drift can be generated now, and why not. */
export type { DriftStatus };

// ── Policy sources (docs/api.md §10) ─────────────────────────────────────────────────────────────────────

/**
 * `PUT …/policy-source` (owner): `{ kind: 'simulated', simulated? }` or `{ kind: 'graph', baseUrl, collections,
 * credential? }`; a graph `credential` omitted keeps the stored one (same origin), `null` removes it.
 */
export const policySourceBody = policySourceInput;
export type PolicySourceBody = z.input<typeof policySourceBody>;
export type { PolicySourceView };
/** `GET …/policy-source` (members; `source: null` until an owner sets one) and the answer of `PUT`. */
export type PolicySourceAnswer = { source: PolicySourceView | null };

// ── Webhooks (docs/api.md §13) ───────────────────────────────────────────────────────────────────────────

const distinct = <T extends z.ZodType<string>>(item: T, max: number) =>
  z.array(item).max(max).transform((list) => [...new Set(list)]);

/** `POST …/webhooks` (owner). `outcomes` narrow `run.completed` only; empty `types`/`outcomes` mean all. */
export const webhookBody = z
  .strictObject({
    url: safeString().trim().min(1).max(2000),
    events: distinct(z.enum(WEBHOOK_EVENTS), 10).refine((list) => list.length > 0, 'must name at least one event'),
    types: distinct(OPERATION_TYPE, 50).optional(),
    outcomes: distinct(z.enum(WEBHOOK_OUTCOMES), 10).optional(),
    format: z.enum(WEBHOOK_FORMATS).optional(),
  })
  .refine((body) => !body.outcomes?.length || body.events.includes('run.completed'), {
    path: ['outcomes'],
    message: 'outcomes narrow run.completed: add it to events',
  });
export type WebhookBody = z.input<typeof webhookBody>;
/** `POST …/webhooks` (201): the signing secret is shown this once. */
export type WebhookCreated = { id: string; secret: string; webhook: WebhookView };
/** `GET …/webhooks`: oldest first. */
export type WebhooksAnswer = { webhooks: WebhookView[] };
/** `GET …/webhooks/:id` */
export type WebhookAnswer = { webhook: WebhookView };
/** `GET …/webhooks/:id/deliveries`: the newest 100, newest first. */
export type DeliveriesAnswer = { deliveries: DeliveryView[] };
/** What a receiver gets (`format: "json"`), with the `Runboard-Signature` header. */
export type { DeliveryView, WebhookPayload, WebhookView };

// ── Many tenants on one screen (docs/api.md §12) ─────────────────────────────────────────────────────────

/** A tenant slug as tenants are created (db/tenants/service.ts). */
const TENANT_SLUG = z.string().regex(/^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$/, 'must be a tenant slug such as acme').max(64);

/** `GET /api/overview?window=24h&tenants=a,b` (members: their tenants; a kiosk token: the tenants it is bound to). */
export const overviewQuery = z.strictObject({
  window: statsQuery.shape.window,
  // Narrows to these of the caller's tenants (comma-separated); others named are ignored, not refused.
  tenants: z
    .string()
    .max(2_000)
    .optional()
    .transform((v) => (v ? [...new Set(v.split(',').map((s) => s.trim()).filter(Boolean))] : []))
    .pipe(z.array(TENANT_SLUG).max(200)),
});
/** A run without its failures list, as lists and pushes carry it. */
export type RunSummary = Omit<RunView, 'failures'>;
/** One tenant's tile: its bucket counts in the window, its running runs, its latest failed runs and top reasons. */
export type TenantOverview = {
  tenant: { slug: string; name: string };
  buckets: BucketCounts;
  /** Running runs, newest first (at most 20; `buckets.running` counts them all). */
  running: RunSummary[];
  /** The newest runs that ended failed or partially succeeded in the window (at most 5). */
  latestFailures: RunSummary[];
  /** The window's top failure reasons (at most 3). */
  reasons: FailureReason[];
};
/** `GET /api/overview`: tenants by name; `readAt` is when the figures were read (a tile's data age starts there). */
export type OverviewAnswer = { window: StatsWindow; readAt: string; tenants: TenantOverview[] };

/**
 * `POST /api/kiosk-tokens` (a user who is owner or manager in every listed tenant): a kiosk token bound to those
 * tenants for reads and subscriptions. `201 { id, token }`, the token shown once.
 */
export const multiKioskBody = z.strictObject({
  label: tokenBody.shape.label,
  tenants: z.array(TENANT_SLUG).min(1).max(50).transform((list) => [...new Set(list)]),
});
export type MultiKioskBody = z.input<typeof multiKioskBody>;
export type { KioskTokenView };
/** `GET /api/kiosk-tokens`: the valid kiosk tokens of the tenants where the caller is owner or manager, newest first. */
export type KioskTokensAnswer = { tokens: KioskTokenView[] };
