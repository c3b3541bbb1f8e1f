// The one contract of the live channel (docs/api.md §4), imported by the gateway, the tests, the watch CLI and
// the dashboard. Types only: safe to import from the browser.
import type { RunUpdateKind } from '../../db/changefeed/messages.ts';
import type { NotificationView } from '../../db/notifications/view.ts';
import type { RunHistoryEntry, RunView } from '../../db/runs/view.ts';

export type { RunHistoryEntry, RunUpdateKind, RunView, NotificationView };

/**
 * A run change; `run` carries `failureCount` but not the failures list (read the detail for that). `history`:
 * the entry this change added to the run's history, when it added one (docs/api.md §11).
 */
export type RunUpdatePayload = { tenant: string; kind: RunUpdateKind; run: Omit<RunView, 'failures'>; history?: RunHistoryEntry };
export type NotificationNewPayload = { notification: NotificationView; unreadCount: number };
export type NotificationReadPayload = { ids: string[] | 'all'; unreadCount: number };

export type SubscribePayload = { tenant: string };
/** `rate_limited` and `unavailable` (database unreachable) extend the contract's forbidden | invalid. */
export type SubscribeAck = { ok: true } | { ok: false; error: 'forbidden' | 'invalid' | 'rate_limited' | 'unavailable' };

export interface ServerToClientEvents {
  'run:update': (payload: RunUpdatePayload) => void;
  'notification:new': (payload: NotificationNewPayload) => void;
  'notification:read': (payload: NotificationReadPayload) => void;
  /** The server may have missed changes: re-read everything shown from the HTTP API. */
  resync: (payload: Record<string, never>) => void;
}

export interface ClientToServerEvents {
  subscribe: (payload: SubscribePayload, ack: (answer: SubscribeAck) => void) => void;
  unsubscribe: (payload: SubscribePayload, ack?: (answer: SubscribeAck) => void) => void;
}

export const LIVE_PATH = '/socket.io';
