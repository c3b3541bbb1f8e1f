// The HTTP API (docs/api.md §3) as the dashboard calls it: same origin, the httpOnly session cookie rides along
// (`credentials: 'same-origin'`), or a kiosk token as `Authorization: Bearer` on the wall. No token is ever
// stored by the dashboard for a signed-in user: JavaScript never sees the session.
// Response shapes come from the server's one HTTP contract, type-only: zod stays out of the browser bundle.
import type { ErrorBody } from '../../../server/http/contract.ts';
import type { Bucket, RangePreset } from './vocabulary.ts';

export type {
  BaselinesAnswer,
  FailureReason,
  FailureReasonsAnswer,
  RunHistoryAnswer,
  RunHistoryEntry,
  TypeBaseline,
  BackupSetAnswer,
  BackupSetsPage,
  DeliveriesAnswer,
  DeliveryView,
  DriftFindingsPage,
  DriftStatus,
  InventoryPage,
  Me,
  Membership,
  NotificationsPage,
  OperationTypesAnswer,
  OperationTypeView,
  OverviewAnswer,
  PolicySourceAnswer,
  PolicySourceBody,
  PolicySourceView,
  RestoreAnswer,
  RestoreBody,
  RestoresPage,
  Role,
  RunAnswer,
  RunsPage,
  RunSummary,
  RunView,
  StartAnswer,
  StartBody,
  Stats,
  TenantOverview,
  User,
  WebhookAnswer,
  WebhookBody,
  WebhookCreated,
  WebhooksAnswer,
  WebhookView,
} from '../../../server/http/contract.ts';

export class ApiError extends Error {
  override name = 'ApiError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    /** The whole answer, for errors that carry more than a message (400 details, a 503's failed run). */
    readonly body: unknown = null,
  ) {
    super(message);
  }
}

type Options = {
  method?: 'GET' | 'POST' | 'PUT' | 'DELETE';
  body?: unknown;
  /** A kiosk token (the wall); signed-in users authenticate with their cookie. */
  token?: string | null;
  signal?: AbortSignal;
  fetch?: typeof fetch;
};

let onUnauthorized: (() => void) | null = null;

/** What to do when the session is gone (401 on a cookie-authenticated call): the app shell sends to login. */
export function setUnauthorizedHandler(handler: (() => void) | null): void {
  onUnauthorized = handler;
}

export async function api<T>(path: string, options: Options = {}): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  let response: Response;
  try {
    response = await (options.fetch ?? fetch)(path, {
      method: options.method ?? 'GET',
      headers,
      credentials: 'same-origin',
      cache: 'no-store',
      ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
    });
  } catch (error) {
    if ((error as Error)?.name === 'AbortError') throw error;
    throw new ApiError(0, 'network', 'The server cannot be reached.');
  }
  if (response.status === 204) return undefined as T;
  // Any answer may come from something other than our API (a proxy's error page): read it defensively.
  const body = (await response.json().catch(() => null)) as Partial<ErrorBody> | null;
  if (!response.ok) {
    if (response.status === 401 && !options.token && onUnauthorized) onUnauthorized();
    throw new ApiError(
      response.status,
      body?.error?.code ?? 'http_error',
      body?.error?.message ?? `The server answered ${response.status}.`,
      body,
    );
  }
  return body as T;
}

const t = (tenant: string) => `/api/tenants/${encodeURIComponent(tenant)}`;

export type RunQuery = {
  types: readonly string[];
  buckets: readonly Bucket[];
  from: Date;
  to?: Date | null;
  limit: number;
  cursor?: string | null;
  /** Search (docs/api.md §11): id or its first 8+ characters, type or label, initiator, failure code, scope text. */
  q?: string | null;
  failureCodes?: readonly string[];
};

export function runsPath(tenant: string, query: RunQuery): string {
  const params = new URLSearchParams();
  for (const type of query.types) params.append('type', type);
  for (const bucket of query.buckets) params.append('bucket', bucket);
  params.set('from', query.from.toISOString());
  if (query.to) params.set('to', query.to.toISOString());
  if (query.q) params.set('q', query.q);
  for (const code of query.failureCodes ?? []) params.append('failureCode', code);
  params.set('limit', String(query.limit));
  if (query.cursor) params.set('cursor', query.cursor);
  return `${t(tenant)}/runs?${params}`;
}

/** A query string of the set values only (empty strings and nulls left out). */
function search(values: Record<string, string | number | null | undefined>): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(values)) if (value !== undefined && value !== null && value !== '') params.set(key, String(value));
  const text = params.toString();
  return text ? `?${text}` : '';
}

export type PageQuery = { limit?: number; cursor?: string | null };
export type InventoryQuery = PageQuery & { q?: string; policyType?: string };
export type DriftQuery = PageQuery & { run?: string | null; change?: string | null };
export type RestoreTransition = 'preview' | 'execute' | 'discard';

export const endpoints = {
  me: () => '/api/me',
  login: () => '/api/auth/login',
  logout: () => '/api/auth/logout',
  operationTypes: (tenant: string) => `${t(tenant)}/operation-types`,
  startRun: (tenant: string) => `${t(tenant)}/runs`,
  runs: (tenant: string, query: RunQuery) => runsPath(tenant, query),
  run: (tenant: string, id: string) => `${t(tenant)}/runs/${encodeURIComponent(id)}`,
  stats: (tenant: string, window: RangePreset) => `${t(tenant)}/stats?window=${encodeURIComponent(window)}`,
  // docs/api.md §11: top failure reasons of a window, a run's history, each type's baseline.
  failureReasons: (tenant: string, window: RangePreset, limit?: number) => `${t(tenant)}/failure-reasons${search({ window, limit })}`,
  runHistory: (tenant: string, id: string) => `${t(tenant)}/runs/${encodeURIComponent(id)}/history`,
  baselines: (tenant: string) => `${t(tenant)}/baselines`,
  // docs/api.md §12: every tenant of the caller (or of a kiosk token) on one screen, optionally narrowed.
  overview: (window: RangePreset, tenants: readonly string[] = []) =>
    `/api/overview${search({ window, tenants: tenants.length > 0 ? tenants.join(',') : null })}`,
  notifications: (query: { unread?: boolean; limit?: number; cursor?: string | null }) => {
    const params = new URLSearchParams();
    if (query.unread) params.set('unread', 'true');
    if (query.limit) params.set('limit', String(query.limit));
    if (query.cursor) params.set('cursor', query.cursor);
    return `/api/notifications?${params}`;
  },
  readNotification: (id: string) => `/api/notifications/${encodeURIComponent(id)}/read`,
  readAllNotifications: () => '/api/notifications/read-all',
  /** Runs of some types (newest first) in some buckets, over the API's default window. */
  runsOfTypes: (tenant: string, types: readonly string[], buckets: readonly Bucket[] = [], limit = 20) => {
    const params = new URLSearchParams();
    for (const type of types) params.append('type', type);
    for (const bucket of buckets) params.append('bucket', bucket);
    params.set('limit', String(limit));
    return `${t(tenant)}/runs?${params}`;
  },
  // Policies, drift, backups and restores (docs/api.md §10).
  policySource: (tenant: string) => `${t(tenant)}/policy-source`,
  inventory: (tenant: string, query: InventoryQuery) =>
    `${t(tenant)}/inventory${search({ q: query.q, policyType: query.policyType, limit: query.limit, cursor: query.cursor })}`,
  driftFindings: (tenant: string, query: DriftQuery) =>
    `${t(tenant)}/drift/findings${search({ run: query.run, change: query.change, limit: query.limit, cursor: query.cursor })}`,
  driftStatus: (tenant: string) => `${t(tenant)}/drift/status`,
  backupSets: (tenant: string, query: PageQuery = {}) => `${t(tenant)}/backup-sets${search({ limit: query.limit, cursor: query.cursor })}`,
  backupSet: (tenant: string, id: string) => `${t(tenant)}/backup-sets/${encodeURIComponent(id)}`,
  restores: (tenant: string, query: PageQuery = {}) => `${t(tenant)}/restores${search({ limit: query.limit, cursor: query.cursor })}`,
  restore: (tenant: string, id: string) => `${t(tenant)}/restores/${encodeURIComponent(id)}`,
  restoreAction: (tenant: string, id: string, action: RestoreTransition) => `${t(tenant)}/restores/${encodeURIComponent(id)}/${action}`,
  // Outgoing webhooks (docs/api.md §13), owners only.
  webhooks: (tenant: string) => `${t(tenant)}/webhooks`,
  webhook: (tenant: string, id: string) => `${t(tenant)}/webhooks/${encodeURIComponent(id)}`,
  webhookDeliveries: (tenant: string, id: string) => `${t(tenant)}/webhooks/${encodeURIComponent(id)}/deliveries`,
};
