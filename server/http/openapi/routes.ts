// The route table of the API description (docs/api.md §13): one entry per method and path that createApp
// serves, with who may call it, the zod schemas its handler validates with and the shapes it answers. The unit
// test walks the app's router and fails on a route missing here or an entry that is not served.
import type { z } from 'zod';
import type { Role } from '../../../db/access/roles.ts';
import {
  backupSetBody,
  driftFindingsQuery,
  failureReasonsQuery,
  inventoryQuery,
  loginBody,
  multiKioskBody,
  notificationsQuery,
  overviewQuery,
  pageQuery,
  policySourceBody,
  restoreActionBody,
  restoreBody,
  runEventBody,
  runsQuery,
  startBody,
  statsQuery,
  tokenBody,
  webhookBody,
} from '../contract.ts';
import { REFERENCE_ASSETS } from './reference.ts';
import type { HttpShape } from './shapes.ts';

export type Method = 'get' | 'post' | 'put' | 'delete';

/** Who may call a route: anyone, a signed-in person, or a tenant's members from a role and its tokens. */
export type Who =
  | { anyone: true; metricsToken?: true }
  | { user: true; kiosk?: true }
  | { members: Role | 'any' | 'none'; kiosk?: true; integration?: true; note?: string };

/** A 2xx answer: a JSON body of a shape, no body, or a body of another media type. */
export type Answer =
  | HttpShape
  | { json: HttpShape; when: string; headers?: Record<string, string> }
  | { none: string }
  | { media: string[]; when: string };

/** A 4xx/5xx a route answers beyond those every route of its kind does (see document.ts). */
export type Refusal = { when: string; codes?: readonly string[]; also?: HttpShape };

export type Tag = (typeof TAGS)[number]['name'];

export type RouteDoc = {
  /** Unique; client generators name their functions after it. */
  id: string;
  method: Method;
  /** As Express spells it, `:name` for a path parameter. */
  path: string;
  tag: Tag;
  summary: string;
  description?: string;
  who: Who;
  /** A description of each path parameter (`tenant` has a shared one), or a description and a schema. */
  params?: Record<string, string | { description: string; schema: Record<string, unknown> }>;
  query?: z.ZodObject;
  queryNotes?: Record<string, string>;
  body?: z.ZodType;
  bodyNotes?: Record<string, string>;
  answers: Partial<Record<200 | 201 | 202 | 204 | 503, Answer>>;
  refusals?: Partial<Record<400 | 401 | 403 | 404 | 409 | 429 | 503, Refusal>>;
};

export const TAGS = [
  { name: 'Sign-in', description: 'Sessions and the signed-in user (docs/api.md §2, §3).' },
  { name: 'Notifications', description: "The signed-in user's own inbox (docs/api.md §5)." },
  { name: 'Runs', description: 'Operation types, starting runs, the run list, run detail and stats (docs/api.md §1, §3).' },
  { name: 'Run insight', description: 'History, failure reasons and baselines (docs/api.md §11).' },
  { name: 'Overview', description: "Many tenants on one screen: each of the caller's tenants in one answer (docs/api.md §12)." },
  { name: 'Mirrored runs', description: 'Events reported by the system that carries a mirrored run out (docs/api.md §9).' },
  { name: 'Tokens', description: 'Kiosk and integration tokens: created (shown once) and revoked (docs/api.md §2).' },
  { name: 'Policy source', description: "Where a tenant's policies come from (docs/api.md §10)." },
  { name: 'Inventory and drift', description: 'The latest inventory and drift findings, read from the database (docs/api.md §10).' },
  { name: 'Backup sets', description: 'Captured policy settings (docs/api.md §10).' },
  { name: 'Restores', description: 'Draft → preview → execute, or discard (docs/api.md §10).' },
  { name: 'Health and metrics', description: 'Liveness, readiness and Prometheus metrics (docs/api.md §3).' },
  { name: 'Webhooks', description: "Outgoing webhooks: a tenant's owners set them; the deliveries are under `webhooks` (docs/api.md §13)." },
  { name: 'API description', description: 'This document, the live channel\'s and the readable reference (docs/api.md §13).' },
] as const;

const READ: Who = { members: 'any', kiosk: true };
const MEMBERS: Who = { members: 'any' };
const USER: Who = { user: true };
const tenant = (path: string) => `/api/tenants/:tenant${path}`;
const RESTORE_ID = { id: "The restore's id." };

const PAGE_NOTES = { limit: 'Page size.', cursor: 'The `nextCursor` of the previous page; an invalid one is a 400.' };

export const ROUTES: readonly RouteDoc[] = [
  // ── Sign-in ──
  {
    id: 'login',
    method: 'post',
    path: '/api/auth/login',
    tag: 'Sign-in',
    summary: 'Sign in',
    description: 'Answers a session token and sets the `rb_session` cookie (what the dashboard uses).',
    who: { anyone: true },
    body: loginBody,
    answers: {
      200: {
        json: 'LoginAnswer',
        when: 'Signed in.',
        headers: { 'Set-Cookie': '`rb_session=<token>`: HttpOnly, SameSite=Lax, Path=/, expiring with the session; Secure over HTTPS.' },
      },
    },
    refusals: {
      401: { when: 'The email or the password is wrong (one message for both).' },
      403: { when: 'A cookie-carrying request from an origin that is not allowed.' },
      429: { when: 'Too many failed attempts for this email or address (`LOGIN_MAX_FAILURES`).' },
      503: { when: 'PostgreSQL cannot be reached right now.', codes: ['unavailable'] },
    },
  },
  {
    id: 'logout',
    method: 'post',
    path: '/api/auth/logout',
    tag: 'Sign-in',
    summary: 'Sign out',
    description: 'The session stops working at once: the cookie is cleared and its open live sockets are disconnected.',
    who: USER,
    answers: { 204: { none: 'Signed out.' } },
  },
  {
    id: 'getMe',
    method: 'get',
    path: '/api/me',
    tag: 'Sign-in',
    summary: 'The signed-in user and their memberships',
    who: USER,
    answers: { 200: 'Me' },
  },

  // ── Notifications ──
  {
    id: 'listNotifications',
    method: 'get',
    path: '/api/notifications',
    tag: 'Notifications',
    summary: "The caller's notifications",
    description: 'Newest first, only the caller\'s own, with the unread count.',
    who: USER,
    query: notificationsQuery,
    queryNotes: { unread: '`true`: unread ones only.', ...PAGE_NOTES },
    answers: { 200: 'NotificationsPage' },
  },
  {
    id: 'markAllNotificationsRead',
    method: 'post',
    path: '/api/notifications/read-all',
    tag: 'Notifications',
    summary: 'Mark every notification read',
    who: USER,
    answers: { 204: { none: 'Done; every socket of the user hears `notification:read`.' } },
  },
  {
    id: 'markNotificationRead',
    method: 'post',
    path: '/api/notifications/:id/read',
    tag: 'Notifications',
    summary: 'Mark one notification read',
    who: USER,
    params: { id: "The notification's id." },
    answers: { 204: { none: 'Done.' } },
    refusals: { 404: { when: "Not one of the caller's notifications." } },
  },

  // ── Many tenants on one screen ──
  {
    id: 'getOverview',
    method: 'get',
    path: '/api/overview',
    tag: 'Overview',
    summary: "The caller's tenants on one screen",
    description:
      'Per tenant, by name: its counts per bucket in the window (the stats rule), its running runs (newest first, at most 20), ' +
      'the latest runs that completed failed or partially succeeded in the window (newest first, at most 5) and its top 3 failure ' +
      "reasons of the window. A user gets every tenant they are a member of (none: `tenants: []`), a kiosk token the tenants it is bound to. " +
      '`readAt` is when the figures were read (docs/api.md §12).',
    who: { user: true, kiosk: true },
    query: overviewQuery,
    queryNotes: {
      window: '`1h`, `24h` (default), `7d` or `30d`.',
      tenants: "Comma-separated tenant slugs: only these of the caller's tenants (others named are ignored). Absent or empty: all of them.",
    },
    answers: { 200: 'OverviewAnswer' },
    refusals: { 403: { when: 'An integration token.' } },
  },

  // ── Runs ──
  {
    id: 'listOperationTypes',
    method: 'get',
    path: tenant('/operation-types'),
    tag: 'Runs',
    summary: 'Operation types',
    description: "Each with its minimum role, whether the caller may start it, its scope's JSON Schema and its baseline.",
    who: MEMBERS,
    answers: { 200: 'OperationTypesAnswer' },
    refusals: { 403: { when: 'A kiosk token: this is for members.' } },
  },
  {
    id: 'startRun',
    method: 'post',
    path: tenant('/runs'),
    tag: 'Runs',
    summary: 'Start a run',
    description:
      'Enqueue-only: authorize, create the run or reuse the active run of the same identity, enqueue, answer. ' +
      "The scope is checked against the type's own schema (`scopeSchema` of the operation types).",
    who: { members: 'operator', integration: true, note: "and the type's own minimum role; integration tokens start mirrored types only" },
    body: startBody,
    bodyNotes: {
      type: 'An operation type, e.g. `demo.batch`.',
      scope: "The type's scope (its `scopeSchema`); absent means every default.",
      initiator: 'Integration tokens only: the member on whose behalf a mirrored run is started (docs/api.md §9).',
    },
    answers: {
      202: { json: 'StartAnswer', when: 'A new run was queued (`reused: false`).' },
      200: { json: 'StartAnswer', when: 'The active run of the same identity (`reused: true`).' },
    },
    refusals: {
      400: { when: 'An unknown type, or a scope that does not fit it.' },
      403: { when: "A role below the type's minimum; an integration token and a type that is not mirrored." },
      404: { when: 'The scope names a record of the tenant that does not exist (the backup set of `backup_set.add_policies`).' },
      409: {
        when: 'A type started only from its own page; `drift.generate` with fewer than two inventory syncs.',
        codes: ['started_elsewhere', 'insufficient_inventory'],
      },
      503: { when: 'The new run could not be queued: it is failed and comes with the answer.', codes: ['dispatch_failed'], also: 'DispatchFailed' },
    },
  },
  {
    id: 'listRuns',
    method: 'get',
    path: tenant('/runs'),
    tag: 'Runs',
    summary: 'The run list',
    description: 'Newest first, keyset-paged on (createdAt, id); rows carry `failureCount`, not `failures`.',
    who: READ,
    query: runsQuery,
    queryNotes: {
      type: 'Only these types (each `resource.action`; up to 20).',
      resource: 'Only types of this resource: `drift` matches every `drift.*` type.',
      bucket: 'Only these buckets (up to 20).',
      initiator: '`me` (signed-in users only; a kiosk token gets 400) or a user id.',
      from: 'Runs created at or after: a date (`2026-11-23`, midnight UTC) or a date-time with a zone. Default: 30 days ago.',
      to: 'Runs created before this instant (same forms as `from`).',
      q: 'Search (docs/api.md §11): a run id or its first 8+ characters, type or label, initiator, failure code or scope text. Empty is no filter.',
      failureCode: 'Only runs with a failure of one of these reason codes (up to 20).',
      ...PAGE_NOTES,
    },
    answers: { 200: 'RunsPage' },
  },
  {
    id: 'getRun',
    method: 'get',
    path: tenant('/runs/:id'),
    tag: 'Runs',
    summary: 'One run, with its failures',
    who: READ,
    params: { id: "The run's id." },
    answers: { 200: 'RunAnswer' },
    refusals: { 404: { when: 'Not a run of this tenant.' } },
  },
  {
    id: 'getStats',
    method: 'get',
    path: tenant('/stats'),
    tag: 'Runs',
    summary: 'Counts per bucket and per type',
    description: 'The runs created within the window, plus those still queued or running that were created before it.',
    who: READ,
    query: statsQuery,
    answers: { 200: 'Stats' },
  },

  // ── Run insight ──
  {
    id: 'getRunHistory',
    method: 'get',
    path: tenant('/runs/:id/history'),
    tag: 'Run insight',
    summary: "A run's history",
    description: 'Oldest first: each recorded change, with who made it.',
    who: READ,
    params: { id: "The run's id." },
    answers: { 200: 'RunHistoryAnswer' },
    refusals: { 404: { when: 'Not a run of this tenant.' } },
  },
  {
    id: 'listFailureReasons',
    method: 'get',
    path: tenant('/failure-reasons'),
    tag: 'Run insight',
    summary: 'Failure reasons of a window',
    description: 'Most runs first: each reason code with its run and failure counts, types and latest message.',
    who: READ,
    query: failureReasonsQuery,
    answers: { 200: 'FailureReasonsAnswer' },
  },
  {
    id: 'listBaselines',
    method: 'get',
    path: tenant('/baselines'),
    tag: 'Run insight',
    summary: 'Baselines per operation type',
    description: 'Runs, failure rate and p50/p95 durations of the last 30 days: what "slower than usual" is judged by.',
    who: READ,
    answers: { 200: 'BaselinesAnswer' },
  },

  // ── Mirrored runs ──
  {
    id: 'reportRunEvent',
    method: 'post',
    path: tenant('/runs/:id/events'),
    tag: 'Mirrored runs',
    summary: "Report an event of a mirrored run",
    description: '`started`, `progress` (`total` sets the total; the other counts are increments) or `completed`. A repeated `eventId` is answered, not applied again.',
    who: { members: 'none', integration: true },
    params: { id: "The run's id." },
    body: runEventBody,
    answers: { 200: 'RunAnswer' },
    refusals: {
      404: { when: 'Not a run of this tenant.' },
      409: {
        when: 'The event would not move the run forward; the run is processed by workers, or driven by its own record; a count past 2,000,000,000.',
        codes: ['invalid_transition', 'not_mirrored', 'reported_elsewhere', 'count_limit'],
      },
    },
  },

  // ── Tokens ──
  {
    id: 'createKioskToken',
    method: 'post',
    path: tenant('/kiosk-tokens'),
    tag: 'Tokens',
    summary: 'Create a kiosk token',
    description: 'For wall displays: reads the tenant\'s runs and stats, subscribes to its live room. The token is shown only here.',
    who: { members: 'manager' },
    body: tokenBody,
    answers: { 201: 'TokenCreated' },
  },
  {
    id: 'revokeKioskToken',
    method: 'delete',
    path: tenant('/kiosk-tokens/:id'),
    tag: 'Tokens',
    summary: 'Revoke a kiosk token',
    description: '401 on its next request; its open sockets are disconnected.',
    who: { members: 'manager' },
    params: { id: "The token's id (as answered at creation)." },
    answers: { 204: { none: 'Revoked.' } },
    refusals: { 404: { when: 'Not a kiosk token bound to this tenant.' } },
  },
  {
    id: 'createMultiTenantKioskToken',
    method: 'post',
    path: '/api/kiosk-tokens',
    tag: 'Tokens',
    summary: 'Create a kiosk token for several tenants',
    description:
      'For a wall showing several tenants (docs/api.md §12): reads the runs and stats of each tenant listed and subscribes to their live rooms, nothing else. ' +
      'The caller is owner or manager in every one of them; the list never changes afterwards (revoke the token and create another). The token is shown only here.',
    who: USER,
    body: multiKioskBody,
    bodyNotes: { tenants: 'Tenant slugs, 1–50; a slug named twice counts once.' },
    answers: { 201: 'TokenCreated' },
    refusals: {
      403: { when: 'A tenant listed of which the caller is not owner or manager — or no member at all, or that does not exist (the same answer: tenants cannot be probed).' },
    },
  },
  {
    id: 'listKioskTokens',
    method: 'get',
    path: '/api/kiosk-tokens',
    tag: 'Tokens',
    summary: 'List kiosk tokens',
    description:
      'The valid kiosk tokens bound to a tenant in which the caller is owner or manager, newest first (at most 500); never the tokens themselves. ' +
      "A token's tenants of which the caller is no member are counted in `otherTenants`, not named.",
    who: USER,
    answers: { 200: 'KioskTokensAnswer' },
  },
  {
    id: 'revokeMultiTenantKioskToken',
    method: 'delete',
    path: '/api/kiosk-tokens/:id',
    tag: 'Tokens',
    summary: 'Revoke a kiosk token',
    description: 'By an owner or manager of any one of its tenants. 401 on its next request; its open sockets are disconnected on every gateway. Revoking again answers 204.',
    who: USER,
    params: { id: "The token's id (as answered at creation)." },
    answers: { 204: { none: 'Revoked.' } },
    refusals: { 404: { when: 'Not a kiosk token bound to a tenant in which the caller is owner or manager.' } },
  },
  {
    id: 'createIntegrationToken',
    method: 'post',
    path: tenant('/integration-tokens'),
    tag: 'Tokens',
    summary: 'Create an integration token',
    description: 'For systems that report mirrored runs. The token is shown only here.',
    who: { members: 'owner' },
    body: tokenBody,
    answers: { 201: 'TokenCreated' },
  },
  {
    id: 'revokeIntegrationToken',
    method: 'delete',
    path: tenant('/integration-tokens/:id'),
    tag: 'Tokens',
    summary: 'Revoke an integration token',
    who: { members: 'owner' },
    params: { id: "The token's id (as answered at creation)." },
    answers: { 204: { none: 'Revoked.' } },
    refusals: { 404: { when: 'Not an integration token of this tenant.' } },
  },

  // ── Policy source ──
  {
    id: 'getPolicySource',
    method: 'get',
    path: tenant('/policy-source'),
    tag: 'Policy source',
    summary: "The tenant's policy source",
    description: '`source: null` until an owner sets one. The credential never comes back, only whether there is one.',
    who: MEMBERS,
    answers: { 200: 'PolicySourceAnswer' },
    refusals: { 403: { when: 'A kiosk token: where policies come from is for members.' } },
  },
  {
    id: 'setPolicySource',
    method: 'put',
    path: tenant('/policy-source'),
    tag: 'Policy source',
    summary: "Set the tenant's policy source",
    description:
      '`simulated`, or `graph` with a base URL and collections. A graph `credential` left out keeps the stored one ' +
      '(same origin), `null` removes it. Addresses resolving to loopback, link-local or private networks are refused.',
    who: { members: 'owner' },
    body: policySourceBody,
    answers: { 200: 'PolicySourceAnswer' },
    refusals: {
      400: { when: 'A URL that is not allowed (scheme, user info, query, private address), a repeated collection.' },
      409: { when: 'Changed by someone else at the same time: read it again and retry.', codes: ['conflict'] },
    },
  },

  // ── Inventory and drift ──
  {
    id: 'listInventory',
    method: 'get',
    path: tenant('/inventory'),
    tag: 'Inventory and drift',
    summary: 'The latest inventory',
    description: "The latest successful sync's policies by name (`snapshot: null` before the first).",
    who: READ,
    query: inventoryQuery,
    queryNotes: { q: 'Name contains (case-insensitive); empty is no filter.', policyType: 'Only this policy type; empty is all.', ...PAGE_NOTES },
    answers: { 200: 'InventoryPage' },
  },
  {
    id: 'listDriftFindings',
    method: 'get',
    path: tenant('/drift/findings'),
    tag: 'Inventory and drift',
    summary: "A drift generation's findings",
    description: 'By change and name; the latest successful generation unless `run` names one (`generation: null` before the first).',
    who: READ,
    query: driftFindingsQuery,
    queryNotes: { run: 'The id of a `drift.generate` run of this tenant; anything else is a 404.', change: 'Only findings of this change.', ...PAGE_NOTES },
    answers: { 200: 'DriftFindingsPage' },
    refusals: { 404: { when: '`run` is not a drift generation of this tenant.' } },
  },
  {
    id: 'getDriftStatus',
    method: 'get',
    path: tenant('/drift/status'),
    tag: 'Inventory and drift',
    summary: 'Whether drift can be generated now',
    who: READ,
    answers: { 200: 'DriftStatus' },
  },

  // ── Backup sets ──
  {
    id: 'createBackupSet',
    method: 'post',
    path: tenant('/backup-sets'),
    tag: 'Backup sets',
    summary: 'Create a backup set',
    description: 'Empty at first: policies are added by `backup_set.add_policies` runs (`POST …/runs`).',
    who: { members: 'operator' },
    body: backupSetBody,
    answers: { 201: 'BackupSetAnswer' },
  },
  {
    id: 'listBackupSets',
    method: 'get',
    path: tenant('/backup-sets'),
    tag: 'Backup sets',
    summary: 'Backup sets',
    description: 'Newest first, without their items.',
    who: READ,
    query: pageQuery,
    queryNotes: PAGE_NOTES,
    answers: { 200: 'BackupSetsPage' },
  },
  {
    id: 'getBackupSet',
    method: 'get',
    path: tenant('/backup-sets/:id'),
    tag: 'Backup sets',
    summary: 'One backup set, with its items',
    who: READ,
    params: { id: "The backup set's id." },
    answers: { 200: 'BackupSetAnswer' },
    refusals: { 404: { when: 'Not a backup set of this tenant.' } },
  },

  // ── Restores ──
  {
    id: 'createRestore',
    method: 'post',
    path: tenant('/restores'),
    tag: 'Restores',
    summary: 'Create a restore (a draft)',
    who: { members: 'manager' },
    body: restoreBody,
    bodyNotes: { policyIds: 'Left out: every policy of the backup set. Order and repeats are irrelevant.' },
    answers: { 201: 'RestoreAnswer' },
    refusals: {
      400: { when: 'A policy id that is not captured in the backup set.' },
      404: { when: 'Not a backup set of this tenant.' },
      409: { when: 'The backup set has no captured policies yet.', codes: ['backup_set_empty'] },
    },
  },
  {
    id: 'listRestores',
    method: 'get',
    path: tenant('/restores'),
    tag: 'Restores',
    summary: 'Restores',
    description: 'Newest first, without their items.',
    who: READ,
    query: pageQuery,
    queryNotes: PAGE_NOTES,
    answers: { 200: 'RestoresPage' },
  },
  {
    id: 'getRestore',
    method: 'get',
    path: tenant('/restores/:id'),
    tag: 'Restores',
    summary: 'One restore, with its items',
    who: READ,
    params: RESTORE_ID,
    answers: { 200: 'RestoreAnswer' },
    refusals: { 404: { when: 'Not a restore of this tenant.' } },
  },
  {
    id: 'previewRestore',
    method: 'post',
    path: tenant('/restores/:id/preview'),
    tag: 'Restores',
    summary: 'Preview a restore',
    description:
      'Computes, from the database only, what executing would change against the latest inventory. The first ' +
      'preview creates the restore\'s `restore.execute` run (queued until executed). Takes no input.',
    who: { members: 'manager' },
    params: RESTORE_ID,
    body: restoreActionBody,
    answers: { 200: 'RestoreAnswer' },
    refusals: {
      404: { when: 'Not a restore of this tenant.' },
      409: { when: 'Not a draft or previewed restore; no successful inventory sync yet.', codes: ['invalid_transition', 'no_inventory'] },
    },
  },
  {
    id: 'executeRestore',
    method: 'post',
    path: tenant('/restores/:id/execute'),
    tag: 'Restores',
    summary: 'Execute a previewed restore',
    description: 'Starts its run and hands it to the workers. Takes no input.',
    who: { members: 'manager' },
    params: RESTORE_ID,
    body: restoreActionBody,
    answers: { 200: 'RestoreAnswer' },
    refusals: {
      404: { when: 'Not a restore of this tenant.' },
      409: { when: 'Not a previewed restore, or its run has already ended.', codes: ['invalid_transition'] },
      503: { when: 'The run could not be queued: the restore ends failed.', codes: ['dispatch_failed'], also: 'DispatchFailed' },
    },
  },
  {
    id: 'discardRestore',
    method: 'post',
    path: tenant('/restores/:id/discard'),
    tag: 'Restores',
    summary: 'Discard a draft or previewed restore',
    description: "A previewed restore's run ends failed (`restore_discarded`). Takes no input.",
    who: { members: 'manager' },
    params: RESTORE_ID,
    body: restoreActionBody,
    answers: { 200: 'RestoreAnswer' },
    refusals: {
      404: { when: 'Not a restore of this tenant.' },
      409: { when: 'Not a draft or previewed restore.', codes: ['invalid_transition'] },
    },
  },

  // ── Webhooks ──
  {
    id: 'createWebhook',
    method: 'post',
    path: tenant('/webhooks'),
    tag: 'Webhooks',
    summary: 'Create a webhook',
    description: 'Deliveries are described under `webhooks`. The signing secret is shown only in this answer.',
    who: { members: 'owner' },
    body: webhookBody,
    bodyNotes: {
      url: 'An http(s) URL; one resolving to a loopback, link-local or private address is refused (unless `ALLOW_PRIVATE_TARGETS=true`).',
      events: '`run.completed`, `run.queued`, or both.',
      types: 'Only runs of these operation types; empty or left out: every type.',
      outcomes: 'Only `run.completed` of these outcomes; empty or left out: every outcome.',
      format: '`json` (the default): the signed body; `slack`: a Slack incoming-webhook message.',
    },
    answers: { 201: { json: 'WebhookCreated', when: 'Created; `secret` is shown only here.' } },
    refusals: {
      400: { when: 'A URL that is not allowed, a type this install does not have, `outcomes` without `run.completed`.' },
      409: {
        when: 'The tenant has 20 webhooks already; the server has no `SOURCE_CREDENTIALS_KEY` to keep signing secrets.',
        codes: ['limit_reached', 'not_configured'],
      },
    },
  },
  {
    id: 'listWebhooks',
    method: 'get',
    path: tenant('/webhooks'),
    tag: 'Webhooks',
    summary: "The tenant's webhooks",
    description: 'Oldest first, each with its receiver\'s health; never a secret.',
    who: { members: 'owner' },
    answers: { 200: 'WebhooksAnswer' },
  },
  {
    id: 'getWebhook',
    method: 'get',
    path: tenant('/webhooks/:id'),
    tag: 'Webhooks',
    summary: 'One webhook',
    who: { members: 'owner' },
    params: { id: "The webhook's id." },
    answers: { 200: 'WebhookAnswer' },
    refusals: { 404: { when: 'Not a webhook of this tenant.' } },
  },
  {
    id: 'deleteWebhook',
    method: 'delete',
    path: tenant('/webhooks/:id'),
    tag: 'Webhooks',
    summary: 'Delete a webhook',
    description: 'Its pending deliveries go with it.',
    who: { members: 'owner' },
    params: { id: "The webhook's id." },
    answers: { 204: { none: 'Deleted.' } },
    refusals: { 404: { when: 'Not a webhook of this tenant.' } },
  },
  {
    id: 'listWebhookDeliveries',
    method: 'get',
    path: tenant('/webhooks/:id/deliveries'),
    tag: 'Webhooks',
    summary: "A webhook's delivery log",
    description: 'The newest 100 deliveries, newest first: status, HTTP code, attempts and duration of the last attempt.',
    who: { members: 'owner' },
    params: { id: "The webhook's id." },
    answers: { 200: 'DeliveriesAnswer' },
    refusals: { 404: { when: 'Not a webhook of this tenant.' } },
  },

  // ── Health and metrics ──
  {
    id: 'liveness',
    method: 'get',
    path: '/healthz',
    tag: 'Health and metrics',
    summary: 'Liveness',
    who: { anyone: true },
    answers: { 200: { json: 'Liveness', when: 'The process runs.' } },
  },
  {
    id: 'readiness',
    method: 'get',
    path: '/readyz',
    tag: 'Health and metrics',
    summary: 'Readiness',
    description: 'PostgreSQL, Redis and the queue, each checked within 2 s.',
    who: { anyone: true },
    answers: {
      200: { json: 'Readiness', when: 'Ready: every check is `ok`.' },
      503: { json: 'Readiness', when: 'Unavailable: at least one check is `down`.' },
    },
  },
  {
    id: 'metrics',
    method: 'get',
    path: '/metrics',
    tag: 'Health and metrics',
    summary: 'Prometheus metrics',
    description: 'With `METRICS_TOKEN` set, only for `Authorization: Bearer <METRICS_TOKEN>`.',
    who: { anyone: true, metricsToken: true },
    answers: { 200: { media: ['text/plain'], when: 'The Prometheus text format.' } },
    refusals: { 401: { when: '`METRICS_TOKEN` is set and was not presented.' } },
  },

  // ── API description ──
  {
    id: 'getOpenApi',
    method: 'get',
    path: '/api/openapi.json',
    tag: 'API description',
    summary: 'This document (OpenAPI 3.1)',
    who: { anyone: true },
    answers: { 200: { media: ['application/json'], when: 'The OpenAPI 3.1 document.' } },
  },
  {
    id: 'getAsyncApi',
    method: 'get',
    path: '/api/asyncapi.json',
    tag: 'API description',
    summary: "The live channel's description (AsyncAPI 3.0)",
    who: { anyone: true },
    answers: { 200: { media: ['application/json'], when: 'The AsyncAPI 3.0 document of the Socket.IO events.' } },
  },
  {
    id: 'getApiReference',
    method: 'get',
    path: '/api/docs',
    tag: 'API description',
    summary: 'The readable API reference',
    description: 'Swagger UI, served by Runboard itself from this document.',
    who: { anyone: true },
    answers: { 200: { media: ['text/html'], when: 'The reference page.' } },
  },
  {
    id: 'getApiReferenceAsset',
    method: 'get',
    path: '/api/docs/assets/:file',
    tag: 'API description',
    summary: "A file of the reference page",
    who: { anyone: true },
    params: { file: { description: 'A script, style sheet or icon of the page.', schema: { type: 'string', enum: Object.keys(REFERENCE_ASSETS) } } },
    answers: { 200: { media: ['text/javascript', 'text/css', 'image/png'], when: 'The file.' } },
    refusals: { 404: { when: 'Not a file of the page.' } },
  },
];
