import type { Logger } from '../logger.ts';
import type { NotificationView } from '../notifications/view.ts';
import type { RedisClient } from '../redis.ts';
import { summaryOf, type RunHistoryEntry, type RunView } from '../runs/view.ts';
import { channels, type Channels } from './channels.ts';
import type { ControlMessage, RunChange, RunUpdateKind, UserEvent } from './messages.ts';

/**
 * Publishes committed changes to Redis. Callers publish only after commit. Pub/sub is at-most-once, so a
 * failed publish is logged and dropped, never retried into a reorder: consumers re-read PostgreSQL on resync.
 */
export class Changefeed {
  readonly channels: Channels;

  constructor(
    private readonly redis: RedisClient,
    prefix: string,
    private readonly logger: Logger,
  ) {
    this.channels = channels(prefix);
  }

  async runChanged(kind: RunUpdateKind, run: RunView, history?: RunHistoryEntry): Promise<void> {
    // The live payload never carries the failures list; clients read it from the detail endpoint.
    const message: RunChange = { tenant: run.tenant, kind, run: summaryOf(run), ...(history ? { history } : {}), committedAt: Date.now() };
    await this.publish(this.channels.runs, message);
  }

  async notificationCreated(userId: string, notification: NotificationView, unreadCount: number): Promise<void> {
    const message: UserEvent = { userId, type: 'notification:new', notification, unreadCount };
    await this.publish(this.channels.users, message);
  }

  async notificationsRead(userId: string, ids: string[] | 'all', unreadCount: number): Promise<void> {
    const message: UserEvent = { userId, type: 'notification:read', ids, unreadCount };
    await this.publish(this.channels.users, message);
  }

  async control(message: ControlMessage): Promise<void> {
    await this.publish(this.channels.control, message);
  }

  private async publish(channel: string, message: unknown): Promise<void> {
    try {
      await this.redis.publish(channel, JSON.stringify(message));
    } catch (error) {
      this.logger.warn({ channel, err: (error as Error).message }, 'changefeed publish failed');
    }
  }
}
