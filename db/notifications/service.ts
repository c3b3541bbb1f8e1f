import type { EntityManager } from '@mikro-orm/postgresql';
import type { Changefeed } from '../changefeed/publisher.ts';
import type { Orm } from '../orm.ts';
import { cursorInstant, decodeCursor, encodeCursor } from '../pagination.ts';
import type { NotificationText } from './messages.ts';
import { toNotificationView, type NotificationRow, type NotificationView } from './view.ts';

const COLUMNS = `n.id, t.slug as tenant_slug, n.run_id, n.level, n.title, n.body, n.url, n.created_at, n.read_at`;

export type NotificationPage = { notifications: NotificationView[]; unreadCount: number; nextCursor: string | null };

/** The in-app inbox: one user's notifications, only ever read or changed by that user. */
export class NotificationService {
  constructor(
    private readonly orm: Orm,
    private readonly changefeed: Changefeed,
  ) {}

  /** Written inside the transition's own transaction, so a run change and its notification commit together. */
  async create(
    tx: EntityManager,
    run: { id: string; tenant_id: string; initiator_id: string | null },
    text: NotificationText,
    url: string,
  ): Promise<NotificationView | null> {
    if (!run.initiator_id) return null;
    const [row] = await tx.execute<NotificationRow[]>(
      `with n as (
         insert into notifications (user_id, tenant_id, run_id, level, title, body, url, created_at)
         values (?, ?, ?, ?, ?, ?, ?, clock_timestamp()) returning *)
       select ${COLUMNS} from n join tenants t on t.id = n.tenant_id`,
      [run.initiator_id, run.tenant_id, run.id, text.level, text.title.slice(0, 200), text.body.slice(0, 500), url],
    );
    return row ? toNotificationView(row) : null;
  }

  async list(userId: string, options: { unreadOnly: boolean; limit: number; cursor?: string }): Promise<NotificationPage> {
    const params: unknown[] = [userId];
    let where = 'n.user_id = ?';
    if (options.unreadOnly) where += ' and n.read_at is null';
    if (options.cursor) {
      const { createdAt, id } = decodeCursor(options.cursor);
      where += ' and (n.created_at, n.id) < (?::timestamptz, ?::uuid)';
      params.push(createdAt, id);
    }
    const rows = await this.orm.em.fork().execute<(NotificationRow & { cursor_at: string })[]>(
      `select ${COLUMNS}, ${cursorInstant('n.created_at')} as cursor_at from notifications n join tenants t on t.id = n.tenant_id
       where ${where} order by n.created_at desc, n.id desc limit ?`,
      [...params, options.limit + 1],
    );
    const page = rows.slice(0, options.limit);
    const last = page.at(-1);
    return {
      notifications: page.map(toNotificationView),
      unreadCount: await this.unreadCount(userId),
      nextCursor: rows.length > options.limit && last ? encodeCursor(last.cursor_at, last.id) : null,
    };
  }

  async unreadCount(userId: string): Promise<number> {
    const [row] = await this.orm.em.fork().execute<{ count: string }[]>(
      `select count(*) as count from notifications where user_id = ? and read_at is null`,
      [userId],
    );
    return Number(row?.count ?? 0);
  }

  /** Marks one of the user's own notifications read. False when it is not theirs (or does not exist). */
  async markRead(userId: string, notificationId: string): Promise<boolean> {
    const em = this.orm.em.fork();
    const rows = await em.execute<{ id: string; read_at: Date | null }[]>(
      `update notifications set read_at = coalesce(read_at, clock_timestamp())
       where id = ? and user_id = ? returning id`,
      [notificationId, userId],
    );
    if (rows.length === 0) return false;
    await this.changefeed.notificationsRead(userId, [notificationId], await this.unreadCount(userId));
    return true;
  }

  async markAllRead(userId: string): Promise<void> {
    await this.orm.em.fork().execute(
      `update notifications set read_at = clock_timestamp() where user_id = ? and read_at is null`,
      [userId],
    );
    await this.changefeed.notificationsRead(userId, 'all', 0);
  }
}
