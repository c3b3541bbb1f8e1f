import { AuthToken } from './auth/entities.ts';
import { Notification } from './notifications/entity.ts';
import { OperationRun } from './runs/entity.ts';
import { RunEventRecord } from './runs/event.entity.ts';
import { Membership, Tenant, User } from './tenants/entities.ts';

export const entities = [Tenant, User, Membership, AuthToken, OperationRun, Notification, RunEventRecord];
