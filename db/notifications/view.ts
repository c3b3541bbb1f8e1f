import type { NotificationLevel } from './entity.ts';
import type { NotificationRow } from './store.ts';

export type NotificationView = {
  id: string;
  tenant: string;
  runId: string;
  level: NotificationLevel;
  title: string;
  body: string;
  url: string;
  createdAt: string;
  readAt: string | null;
};

/** A page of a user's inbox. */
export type NotificationPage = { notifications: NotificationView[]; unreadCount: number; nextCursor: string | null };

const iso = (value: Date | string): string => (value instanceof Date ? value : new Date(value)).toISOString();

export function toNotificationView(row: NotificationRow): NotificationView {
  return {
    id: row.id,
    tenant: row.tenant_slug,
    runId: row.run_id,
    level: row.level,
    title: row.title,
    body: row.body,
    url: row.url,
    createdAt: iso(row.created_at),
    readAt: row.read_at === null ? null : iso(row.read_at),
  };
}
