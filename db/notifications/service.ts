import type { Changefeed } from '../changefeed/publisher.ts';
import type { Tx } from '../database.ts';
import { queuedText } from './messages.ts';
import type { NotificationStore, NotificationText, QueuedNotification } from './store.ts';
import { toNotificationView, type NotificationPage, type NotificationView } from './view.ts';

export type { NotificationPage };


/**
 * The in-app inbox: the one writer of notifications and of their live pushes (`notification:new`,
 * `notification:read`). A user's notifications are only ever read or changed by that user; the run
 * lifecycle composes this service for the `queued` and terminal notifications of a run.
 */
export class NotificationService {
  constructor(
    readonly store: NotificationStore,
    private readonly changefeed: Changefeed,
  ) {}

  /** The `queued` notification of a new run, for the start statement to write along with the run. */
  queued(label: string, url: string): QueuedNotification {
    return { ...this.store.fit(queuedText(label)), url };
  }

  /** The view of the `queued` notification the start statement wrote. */
  queuedView(written: { id: string; created_at: Date }, run: { id: string; tenant_slug: string }, notification: QueuedNotification): NotificationView {
    return toNotificationView({ ...notification, id: written.id, created_at: written.created_at, read_at: null, run_id: run.id, tenant_slug: run.tenant_slug });
  }

  /** Written inside the transition's own transaction, so a run change and its notification commit together. */
  async create(
    tx: Tx,
    run: { id: string; tenant_id: string; initiator_id: string | null },
    text: NotificationText,
    url: string,
  ): Promise<NotificationView | null> {
    if (!run.initiator_id) return null;
    const row = await this.store.insert(tx, { userId: run.initiator_id, tenantId: run.tenant_id, runId: run.id, url, ...text });
    return toNotificationView(row);
  }

  /** Pushes a committed notification to its user's sockets (every tab and device), with the unread count. */
  async published(userId: string, notification: NotificationView, unreadCount?: number): Promise<void> {
    await this.changefeed.notificationCreated(userId, notification, unreadCount ?? (await this.store.unreadCount(userId)));
  }

  async list(userId: string, options: { unreadOnly: boolean; limit: number; cursor?: string }): Promise<NotificationPage> {
    // One after the other, as before: one pool connection per inbox read.
    const { rows, nextCursor } = await this.store.list(userId, options);
    const unreadCount = await this.store.unreadCount(userId);
    return { notifications: rows.map(toNotificationView), unreadCount, nextCursor };
  }

  async unreadCount(userId: string): Promise<number> {
    return this.store.unreadCount(userId);
  }

  /** Marks one of the user's own notifications read. False when it is not theirs (or does not exist). */
  async markRead(userId: string, notificationId: string): Promise<boolean> {
    if (!(await this.store.markRead(userId, notificationId))) return false;
    await this.changefeed.notificationsRead(userId, [notificationId], await this.store.unreadCount(userId));
    return true;
  }

  async markAllRead(userId: string): Promise<void> {
    await this.store.markAllRead(userId);
    await this.changefeed.notificationsRead(userId, 'all', 0);
  }
}
