// Every shape the API description names (docs/api.md §13), one entry per schema. `npm run openapi` turns each
// entry into a JSON Schema (server/http/openapi/wire-schemas.json), the `components.schemas` of
// /api/openapi.json and /api/asyncapi.json. Types only: the shapes live with the code that builds them, in the
// HTTP contract (server/http/contract.ts) and the live channel's (server/live/events.ts).
import type {
  NotificationNewPayload,
  NotificationReadPayload,
  RunUpdatePayload,
  SubscribeAck,
} from '../../live/events.ts';
import type {
  BackupSetAnswer,
  BackupSetsPage,
  BaselinesAnswer,
  DeliveriesAnswer,
  DriftFindingsPage,
  DriftStatus,
  ErrorBody,
  FailureReasonsAnswer,
  InventoryPage,
  KioskTokensAnswer,
  LoginAnswer,
  Me,
  NotificationsPage,
  OperationTypesAnswer,
  OverviewAnswer,
  PolicySourceAnswer,
  RestoreAnswer,
  RestoresPage,
  RunAnswer,
  RunHistoryAnswer,
  RunsPage,
  RunView,
  StartAnswer,
  Stats,
  TokenCreated,
  WebhookAnswer,
  WebhookCreated,
  WebhookPayload,
  WebhooksAnswer,
} from '../contract.ts';

// Answers that no route file names as a type (each is checked against what the routes send by the
// response-conformance hook of the integration tests).

/** `GET /healthz`: the process runs. */
export type Liveness = { status: 'ok' };
/** `GET /readyz`: whether PostgreSQL, Redis and the queue answer; 503 while one does not. */
export type Readiness = {
  status: 'ready' | 'unavailable';
  checks: { postgres: 'ok' | 'down'; redis: 'ok' | 'down'; queue: 'ok' | 'down' };
};
/** `503 dispatch_failed` of `POST …/runs`: the refusal, with the run that could not be queued (docs/api.md §1). */
export type DispatchFailed = ErrorBody & { run: RunView };

/** What HTTP routes answer, by the name the route table (routes.ts) uses. */
export type HttpShapes = {
  ErrorBody: ErrorBody;
  DispatchFailed: DispatchFailed;
  Liveness: Liveness;
  Readiness: Readiness;
  LoginAnswer: LoginAnswer;
  Me: Me;
  NotificationsPage: NotificationsPage;
  OperationTypesAnswer: OperationTypesAnswer;
  StartAnswer: StartAnswer;
  RunsPage: RunsPage;
  RunAnswer: RunAnswer;
  RunHistoryAnswer: RunHistoryAnswer;
  Stats: Stats;
  FailureReasonsAnswer: FailureReasonsAnswer;
  OverviewAnswer: OverviewAnswer;
  BaselinesAnswer: BaselinesAnswer;
  TokenCreated: TokenCreated;
  KioskTokensAnswer: KioskTokensAnswer;
  PolicySourceAnswer: PolicySourceAnswer;
  InventoryPage: InventoryPage;
  DriftFindingsPage: DriftFindingsPage;
  DriftStatus: DriftStatus;
  BackupSetAnswer: BackupSetAnswer;
  BackupSetsPage: BackupSetsPage;
  RestoreAnswer: RestoreAnswer;
  RestoresPage: RestoresPage;
  WebhookCreated: WebhookCreated;
  WebhooksAnswer: WebhooksAnswer;
  WebhookAnswer: WebhookAnswer;
  DeliveriesAnswer: DeliveriesAnswer;
  WebhookPayload: WebhookPayload;
};

/**
 * The live channel's payloads (docs/api.md §4), by the name asyncapi.ts uses. What clients send (`subscribe`,
 * `unsubscribe`) is described from the zod schema its handler validates with, like HTTP request bodies.
 */
export type LiveShapes = {
  RunUpdatePayload: RunUpdatePayload;
  NotificationNewPayload: NotificationNewPayload;
  NotificationReadPayload: NotificationReadPayload;
  /** `resync`: an empty object. */
  ResyncPayload: Record<string, never>;
  SubscribeAck: SubscribeAck;
};

export type HttpShape = keyof HttpShapes;
export type LiveShape = keyof LiveShapes;

/** The roots `npm run openapi` generates from, in this file. */
export const SHAPE_ROOTS = ['HttpShapes', 'LiveShapes'] as const;
