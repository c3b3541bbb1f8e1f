import { Migration } from '@mikro-orm/migrations';

/**
 * Outgoing webhooks (docs/api.md §13): the tenants' webhooks and their deliveries, the outbox that the run changes
 * write in their own transaction and the workers send from (with each attempt's result: the delivery log).
 */
export class Migration20261204000000Webhooks extends Migration {
  override name = 'Migration20261204000000Webhooks';

  override up(): void {
    this.addSql(`create table "webhooks" ("id" uuid not null, "tenant_id" uuid not null, "url" varchar(2000) not null, "events" jsonb not null, "types" jsonb not null default '[]', "outcomes" jsonb not null default '[]', "format" text not null, "secret_ciphertext" text not null, "created_by_id" uuid null, "created_at" timestamptz not null default now(), "consecutive_failures" int not null default 0, "paused_until" timestamptz null, "last_delivery_at" timestamptz null, primary key ("id"));`);
    this.addSql(`create index "webhooks_tenant_id_index" on "webhooks" ("tenant_id");`);
    this.addSql(`create table "webhook_deliveries" ("id" uuid not null, "webhook_id" uuid not null, "tenant_id" uuid not null, "run_id" uuid not null, "event" varchar(40) not null, "run_version" int not null, "snapshot" jsonb not null, "status" text not null, "attempts" int not null default 0, "next_attempt_at" timestamptz not null, "lease_until" timestamptz null, "created_at" timestamptz not null, "first_attempt_at" timestamptz null, "last_attempt_at" timestamptz null, "completed_at" timestamptz null, "last_status" int null, "last_error" varchar(300) null, "duration_ms" int null, primary key ("id"));`);
    this.addSql(`create index "webhook_deliveries_due" on "webhook_deliveries" ("next_attempt_at") where status in ('pending', 'delivering');`);
    this.addSql(`create index "webhook_deliveries_run_order" on "webhook_deliveries" ("webhook_id", "run_id", "run_version");`);
    this.addSql(`create index "webhook_deliveries_log" on "webhook_deliveries" ("webhook_id", "created_at" desc);`);
    this.addSql(`create index "webhook_deliveries_run" on "webhook_deliveries" ("run_id");`);
    this.addSql(`create index "webhook_deliveries_in_flight" on "webhook_deliveries" ("webhook_id") where status = 'delivering';`);
    this.addSql(`alter table "webhooks" add constraint "webhooks_tenant_id_foreign" foreign key ("tenant_id") references "tenants" ("id") on delete cascade;`);
    this.addSql(`alter table "webhooks" add constraint "webhooks_created_by_id_foreign" foreign key ("created_by_id") references "users" ("id") on delete set null;`);
    this.addSql(`alter table "webhooks" add constraint "webhooks_format_check" check ("format" in ('json', 'slack'));`);
    this.addSql(`alter table "webhook_deliveries" add constraint "webhook_deliveries_webhook_id_foreign" foreign key ("webhook_id") references "webhooks" ("id") on delete cascade;`);
    this.addSql(`alter table "webhook_deliveries" add constraint "webhook_deliveries_tenant_id_foreign" foreign key ("tenant_id") references "tenants" ("id") on delete cascade;`);
    this.addSql(`alter table "webhook_deliveries" add constraint "webhook_deliveries_run_id_foreign" foreign key ("run_id") references "operation_runs" ("id") on delete cascade;`);
    this.addSql(`alter table "webhook_deliveries" add constraint "webhook_deliveries_status_check" check ("status" in ('pending', 'delivering', 'succeeded', 'failed'));`);
  }
}
