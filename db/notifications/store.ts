import { sql, type Expression, type QueryCreator, type Selectable } from 'kysely';
import { clockTimestamp, queries, type Database, type Tx } from '../database.ts';
import type { Orm } from '../orm.ts';
import { cursorInstant, decodeCursor, encodeCursor } from '../pagination.ts';
import type { NotificationLevel } from './entity.ts';

/** Column limits of `notifications`: text is cut to fit here, the one place that writes the table. */
export const NOTIFICATION_LIMITS = { title: 200, body: 500 } as const;

export type NotificationText = { level: NotificationLevel; title: string; body: string };

/** The `queued` notification written by the start statement for a new run's initiator. */
export type QueuedNotification = NotificationText & { url: string };

export type NotificationRow = {
  id: string;
  tenant_slug: string;
  run_id: string;
  level: NotificationLevel;
  title: string;
  body: string;
  url: string;
  created_at: Date;
  read_at: Date | null;
};

const fit = (text: NotificationText): NotificationText => ({
  level: text.level,
  title: text.title.slice(0, NOTIFICATION_LIMITS.title),
  body: text.body.slice(0, NOTIFICATION_LIMITS.body),
});

const COLUMNS = ['n.id', 't.slug as tenant_slug', 'n.run_id', 'n.level', 'n.title', 'n.body', 'n.url', 'n.created_at', 'n.read_at'] as const;

/** The one owner of `notifications` SQL. */
export class NotificationStore {
  constructor(private readonly orm: Orm) {}

  /** The text as it is stored (cut to the column limits): what a view of the new row will show. */
  fit(text: NotificationText): NotificationText {
    return fit(text);
  }

  /**
   * The insert of a new run's `queued` notification, as a CTE of the start statement: it reads the run from
   * the statement's `r` (nothing when the run was not inserted, or has no initiator).
   */
  insertForNewRun(q: QueryCreator<Database & { r: Selectable<Database['operation_runs']> }>, notification: QueuedNotification) {
    const text = fit(notification);
    return q
      .insertInto('notifications')
      .columns(['user_id', 'tenant_id', 'run_id', 'level', 'title', 'body', 'url', 'created_at'])
      .expression((eb) =>
        eb
          .selectFrom('r')
          .select((s) => [
            s.ref('r.initiator_id').$notNull().as('user_id'),
            'r.tenant_id',
            s.ref('r.id').as('run_id'),
            s.val(text.level).as('level'),
            s.val(text.title).as('title'),
            s.val(text.body).as('body'),
            s.val(notification.url).as('url'),
            clockTimestamp.as('created_at'),
          ])
          .where('r.initiator_id', 'is not', null),
      )
      .returning(['id', 'created_at']);
  }

  /** The unread count of a user, as a subquery another statement can embed. */
  unreadCountOf(userId: Expression<string | null>) {
    return queries(this.orm)
      .selectFrom('notifications as c')
      .select((eb) => eb.fn.countAll<string>().as('count'))
      .where('c.user_id', '=', userId as Expression<string>)
      .where('c.read_at', 'is', null);
  }

  /** Inserts one notification inside the caller's transaction (a run change and its notification commit together). */
  async insert(tx: Tx, notification: { userId: string; tenantId: string; runId: string; url: string } & NotificationText): Promise<NotificationRow> {
    const text = fit(notification);
    const row = await queries(this.orm, tx)
      .with('n', (q) =>
        q
          .insertInto('notifications')
          .values({
            user_id: notification.userId,
            tenant_id: notification.tenantId,
            run_id: notification.runId,
            level: text.level,
            title: text.title,
            body: text.body,
            url: notification.url,
            created_at: clockTimestamp,
          })
          .returningAll(),
      )
      .selectFrom('n')
      .innerJoin('tenants as t', 't.id', 'n.tenant_id')
      .select(COLUMNS)
      .executeTakeFirstOrThrow();
    return row;
  }

  async list(userId: string, options: { unreadOnly: boolean; limit: number; cursor?: string }): Promise<{ rows: NotificationRow[]; nextCursor: string | null }> {
    let query = queries(this.orm)
      .selectFrom('notifications as n')
      .innerJoin('tenants as t', 't.id', 'n.tenant_id')
      .select(COLUMNS)
      .select(sql<string>`${sql.raw(cursorInstant('n.created_at'))}`.as('cursor_at'))
      .where('n.user_id', '=', userId);
    if (options.unreadOnly) query = query.where('n.read_at', 'is', null);
    if (options.cursor) {
      const { createdAt, id } = decodeCursor(options.cursor);
      query = query.where(sql<boolean>`(n.created_at, n.id) < (${createdAt}::timestamptz, ${id}::uuid)`);
    }
    const rows = await query.orderBy('n.created_at', 'desc').orderBy('n.id', 'desc').limit(options.limit + 1).execute();
    const page = rows.slice(0, options.limit);
    const last = page.at(-1);
    return {
      rows: page.map(({ cursor_at: _cursor, ...row }) => row),
      nextCursor: rows.length > options.limit && last ? encodeCursor(last.cursor_at, last.id) : null,
    };
  }

  async unreadCount(userId: string): Promise<number> {
    const row = await this.unreadCountOf(sql.val(userId)).executeTakeFirst();
    return Number(row?.count ?? 0);
  }

  /** Marks one of the user's own notifications read; false when it is not theirs (or does not exist). */
  async markRead(userId: string, notificationId: string): Promise<boolean> {
    const rows = await queries(this.orm)
      .updateTable('notifications')
      .set((eb) => ({ read_at: eb.fn.coalesce('read_at', clockTimestamp) }))
      .where('id', '=', notificationId)
      .where('user_id', '=', userId)
      .returning('id')
      .execute();
    return rows.length > 0;
  }

  async markAllRead(userId: string): Promise<void> {
    await queries(this.orm)
      .updateTable('notifications')
      .set({ read_at: clockTimestamp })
      .where('user_id', '=', userId)
      .where('read_at', 'is', null)
      .execute();
  }
}
