import type BeeQueue from 'bee-queue';
import { AuthService } from './auth/service.ts';
import { TokenStore } from './auth/store.ts';
import { BackupService } from './backups/service.ts';
import { BackupStore } from './backups/store.ts';
import { Catalog } from './catalog/catalog.ts';
import { Changefeed } from './changefeed/publisher.ts';
import { DriftService, type DriftScope } from './drift/service.ts';
import { DriftStore } from './drift/store.ts';
import type { Config } from './config.ts';
import { InventoryService } from './inventory/service.ts';
import { InventoryStore } from './inventory/store.ts';
import type { Logger } from './logger.ts';
import { NotificationService } from './notifications/service.ts';
import { NotificationStore } from './notifications/store.ts';
import type { Orm } from './orm.ts';
import { createRunsQueue, type RunJob } from './queue.ts';
import { createRedis, type RedisClient } from './redis.ts';
import { RestoreService } from './restores/service.ts';
import { RestoreStore } from './restores/store.ts';
import { RunBaselines } from './runs/baselines.ts';
import { RunEventStore } from './runs/event-store.ts';
import { RunHistoryStore } from './runs/history-store.ts';
import { RunLifecycle } from './runs/lifecycle.ts';
import { MirroredRuns } from './runs/mirrored.ts';
import { RunQueries } from './runs/queries.ts';
import { RunReasonStore } from './runs/reason-store.ts';
import { RunSearchStore } from './runs/search-store.ts';
import { RunRetention } from './runs/retention.ts';
import { RunStarter } from './runs/start.ts';
import { RunStore } from './runs/store.ts';
import { PolicySourceService } from './sources/service.ts';
import { PolicySourceStore } from './sources/store.ts';
import { TenantService } from './tenants/service.ts';
import { TenantStore } from './tenants/store.ts';
import { WebhookDeliverer, type AttemptObserver } from './webhooks/delivery.ts';
import { WebhookService } from './webhooks/service.ts';
import { WebhookStore } from './webhooks/store.ts';

/** Everything the server and the workers share: one set per process, built from the config. */
export type Services = {
  config: Config;
  logger: Logger;
  orm: Orm;
  redis: RedisClient;
  queue: BeeQueue<RunJob>;
  catalog: Catalog;
  changefeed: Changefeed;
  auth: AuthService;
  tenants: TenantService;
  notifications: NotificationService;
  lifecycle: RunLifecycle;
  runs: RunQueries;
  mirrored: MirroredRuns;
  starter: RunStarter;
  retention: RunRetention;
  inventory: InventoryService;
  drift: DriftService;
  backups: BackupService;
  restores: RestoreService;
  /** Policy sources: set by owners (API, CLI), opened by workers. */
  sources: PolicySourceService;
  /** Outgoing webhooks (docs/api.md §13): set by owners; delivered by workers (`deliverer`). */
  webhooks: WebhookService;
  /** A worker's sender of webhook deliveries, reporting each attempt to `observe` (its metrics). */
  webhookDeliverer(observe?: AttemptObserver): WebhookDeliverer;
  close(): Promise<void>;
};

export async function createServices(config: Config, orm: Orm, logger: Logger, options: { isWorker: boolean }): Promise<Services> {
  const redis = createRedis(config.redisUrl, logger, 'commands');
  await redis.connect();
  const queue = createRunsQueue(config.redisUrl, config.redisPrefix, { isWorker: options.isWorker });
  queue.on('error', (error) => logger.warn({ err: error.message }, 'queue redis error'));
  await queue.ready();
  const catalog = Catalog.forConfig(config);
  const changefeed = new Changefeed(redis, config.redisPrefix, logger);
  // Changes published while this process had no Redis link were dropped (pub/sub is at-most-once): once the
  // link is back, ask every gateway to have its clients re-read.
  redis.on('ready', () => void changefeed.control({ type: 'resync' }));
  // Each table's store, composed by the services below; nothing outside db/ gets a store.
  const notificationStore = new NotificationStore(orm);
  const historyStore = new RunHistoryStore(orm);
  const reasonStore = new RunReasonStore(orm);
  const webhookStore = new WebhookStore(orm);
  const runStore = new RunStore(orm, notificationStore, historyStore, new RunSearchStore(orm), reasonStore, webhookStore);
  const tenantStore = new TenantStore(orm);
  const notifications = new NotificationService(notificationStore, changefeed);
  const tenants = new TenantService(tenantStore, changefeed);
  const lifecycle = new RunLifecycle(orm, runStore, new RunEventStore(orm), catalog, notifications, changefeed);
  const runs = new RunQueries(runStore, catalog, historyStore, reasonStore, new RunBaselines(runStore));
  const starter = new RunStarter(tenants, catalog, lifecycle, queue, logger);
  const inventory = new InventoryService(new InventoryStore(orm), runs);
  const drift = new DriftService(new DriftStore(orm), inventory, runs);
  starter.prepare('drift.generate', (tenant, scope) => drift.prepareScope(tenant.id, scope as Partial<DriftScope>));
  const backups = new BackupService(new BackupStore(orm));
  starter.prepare('backup_set.add_policies', backups.prepareAddPolicies);
  const webhooks = new WebhookService(webhookStore, catalog, config);
  const restores = new RestoreService(new RestoreStore(orm), { backups, inventory, starter, lifecycle, runs });
  return {
    config,
    logger,
    orm,
    redis,
    queue,
    catalog,
    changefeed,
    auth: new AuthService(new TokenStore(orm, tenantStore), tenantStore, changefeed, { sessionHours: config.sessionTtlHours, kioskDays: config.kioskTtlDays }),
    tenants,
    notifications,
    lifecycle,
    runs,
    mirrored: new MirroredRuns(lifecycle, runs, catalog),
    starter,
    retention: new RunRetention(runStore),
    inventory,
    drift,
    backups,
    restores,
    sources: new PolicySourceService(new PolicySourceStore(orm), config, logger),
    webhooks,
    webhookDeliverer: (observe) => new WebhookDeliverer(webhookStore, webhooks, catalog, config, observe),
    async close() {
      await queue.close(5_000).catch(() => undefined);
      await redis.close().catch(() => undefined);
    },
  };
}
