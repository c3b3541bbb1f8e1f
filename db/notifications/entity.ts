import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import { OperationRun } from '../runs/entity.ts';
import { Tenant, User } from '../tenants/entities.ts';

export const NOTIFICATION_LEVELS = ['info', 'success', 'warning', 'danger'] as const;
export type NotificationLevel = (typeof NOTIFICATION_LEVELS)[number];

export const Notification = defineEntity({
  name: 'Notification',
  tableName: 'notifications',
  properties: {
    id: p.uuid().primary().defaultRaw('gen_random_uuid()'),
    user: () => p.manyToOne(User).deleteRule('cascade'),
    tenant: () => p.manyToOne(Tenant).deleteRule('cascade').index(),
    run: () => p.manyToOne(OperationRun).deleteRule('cascade').index(),
    level: p.enum(NOTIFICATION_LEVELS),
    title: p.string().length(200),
    body: p.string().length(500),
    url: p.string().length(300),
    createdAt: p.datetime().defaultRaw('now()'),
    readAt: p.datetime().nullable(),
  },
  indexes: [
    { name: 'notifications_user_created', expression: 'create index "notifications_user_created" on "notifications" ("user_id", "created_at" desc, "id" desc)' },
    { name: 'notifications_user_unread', expression: 'create index "notifications_user_unread" on "notifications" ("user_id", "created_at" desc) where read_at is null' },
  ],
});
export type INotification = InferEntity<typeof Notification>;
