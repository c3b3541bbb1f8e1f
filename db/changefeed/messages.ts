import type { NotificationView } from '../notifications/view.ts';
import type { RunHistoryEntry, RunView } from '../runs/view.ts';

import type { RunUpdateKind } from '../runs/model.ts';

export type { RunUpdateKind };

/**
 * On `<prefix>:runs`: a committed run change; `run` never carries the failures list (see failureCount);
 * `history`: the entry the change added to the run's history, if it added one.
 */
export type RunChange = { tenant: string; kind: RunUpdateKind; run: RunView; history?: RunHistoryEntry; committedAt: number };

/** On `<prefix>:users`: something for one user's own sockets. */
export type UserEvent =
  | { userId: string; type: 'notification:new'; notification: NotificationView; unreadCount: number }
  | { userId: string; type: 'notification:read'; ids: string[] | 'all'; unreadCount: number };

/** On `<prefix>:control`: credentials or memberships changed; gateways drop what no longer holds. */
export type ControlMessage =
  | { type: 'token:revoked'; tokenId: string }
  | { type: 'membership:removed'; tenant: string; userId: string }
  /** A publisher's Redis link came back: what it published meanwhile was dropped, so clients re-read. */
  | { type: 'resync' };
