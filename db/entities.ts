import { AuthToken, KioskTokenTenant } from './auth/entities.ts';
import { BackupItem, BackupSet } from './backups/entity.ts';
import { DriftFinding } from './drift/entity.ts';
import { InventoryItem } from './inventory/entity.ts';
import { Notification } from './notifications/entity.ts';
import { OperationRun } from './runs/entity.ts';
import { Restore, RestoreItem } from './restores/entity.ts';
import { RunEventRecord } from './runs/event.entity.ts';
import { RunHistoryRecord } from './runs/history.entity.ts';
import { RunFailureReason } from './runs/reason.entity.ts';
import { RunSearchText } from './runs/search.entity.ts';
import { PolicySource } from './sources/entity.ts';
import { Membership, Tenant, User } from './tenants/entities.ts';
import { Webhook, WebhookDelivery } from './webhooks/entity.ts';

export const entities = [
  Tenant, User, Membership, AuthToken, OperationRun, Notification, RunEventRecord, RunHistoryRecord, RunSearchText, RunFailureReason,
  PolicySource, InventoryItem, DriftFinding, BackupSet, BackupItem, Restore, RestoreItem, Webhook, WebhookDelivery,
  KioskTokenTenant,
];
