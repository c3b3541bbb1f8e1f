import { Migration } from '@mikro-orm/migrations';

/** Initial schema: generated from the entities, then reviewed (partial unique index, keyset indexes, checks). */
export class Migration20261123000000Init extends Migration {
  override name = 'Migration20261123000000Init';

  override up(): void {
    this.addSql(`create table "tenants" ("id" uuid not null default gen_random_uuid(), "slug" varchar(64) not null, "name" varchar(200) not null, "created_at" timestamptz not null default now(), primary key ("id"));`);
    this.addSql(`alter table "tenants" add constraint "tenants_slug_unique" unique ("slug");`);
    this.addSql(`create table "users" ("id" uuid not null default gen_random_uuid(), "email" varchar(254) not null, "name" varchar(200) not null, "password_hash" varchar(255) not null, "created_at" timestamptz not null default now(), primary key ("id"));`);
    this.addSql(`alter table "users" add constraint "users_email_unique" unique ("email");`);
    this.addSql(`create table "operation_runs" ("id" uuid not null default gen_random_uuid(), "tenant_id" uuid not null, "type" varchar(100) not null, "status" text not null, "outcome" text not null, "identity_hash" varchar(64) not null, "scope" jsonb not null, "total" int not null default 0, "processed" int not null default 0, "succeeded" int not null default 0, "failed" int not null default 0, "skipped" int not null default 0, "failures" jsonb not null default '[]', "failure_count" int not null default 0, "initiator_id" uuid null, "attempts" int not null default 0, "created_at" timestamptz not null default now(), "started_at" timestamptz null, "completed_at" timestamptz null, "updated_at" timestamptz not null default now(), "heartbeat_at" timestamptz null, "version" int not null default 1, primary key ("id"));`);
    this.addSql(`create index "operation_runs_initiator_id_index" on "operation_runs" ("initiator_id");`);
    this.addSql(`create index "operation_runs_tenant_created" on "operation_runs" ("tenant_id", "created_at" desc, "id" desc);`);
    this.addSql(`create index "operation_runs_tenant_type_created" on "operation_runs" ("tenant_id", "type", "created_at" desc, "id" desc);`);
    this.addSql(`create index "operation_runs_running_heartbeat" on "operation_runs" ("heartbeat_at") where status = 'running';`);
    this.addSql(`create index "operation_runs_created" on "operation_runs" ("created_at");`);
    this.addSql(`create unique index "operation_runs_active_identity" on "operation_runs" ("tenant_id", "identity_hash") where status in ('queued', 'running');`);
    this.addSql(`alter table "operation_runs" add constraint "operation_runs_status_check" check ("status" in ('queued', 'running', 'completed'));`);
    this.addSql(`alter table "operation_runs" add constraint "operation_runs_outcome_check" check ("outcome" in ('pending', 'succeeded', 'partially_succeeded', 'failed'));`);
    this.addSql(`create table "notifications" ("id" uuid not null default gen_random_uuid(), "user_id" uuid not null, "tenant_id" uuid not null, "run_id" uuid not null, "level" text not null, "title" varchar(200) not null, "body" varchar(500) not null, "url" varchar(300) not null, "created_at" timestamptz not null default now(), "read_at" timestamptz null, primary key ("id"));`);
    this.addSql(`create index "notifications_tenant_id_index" on "notifications" ("tenant_id");`);
    this.addSql(`create index "notifications_run_id_index" on "notifications" ("run_id");`);
    this.addSql(`create index "notifications_user_created" on "notifications" ("user_id", "created_at" desc, "id" desc);`);
    this.addSql(`create index "notifications_user_unread" on "notifications" ("user_id", "created_at" desc) where read_at is null;`);
    this.addSql(`alter table "notifications" add constraint "notifications_level_check" check ("level" in ('info', 'success', 'warning', 'danger'));`);
    this.addSql(`create table "memberships" ("id" uuid not null default gen_random_uuid(), "tenant_id" uuid not null, "user_id" uuid not null, "role" text not null, "created_at" timestamptz not null default now(), primary key ("id"));`);
    this.addSql(`create index "memberships_user_id_index" on "memberships" ("user_id");`);
    this.addSql(`alter table "memberships" add constraint "memberships_tenant_user_unique" unique ("tenant_id", "user_id");`);
    this.addSql(`alter table "memberships" add constraint "memberships_role_check" check ("role" in ('readonly', 'operator', 'manager', 'owner'));`);
    this.addSql(`create table "auth_tokens" ("id" uuid not null default gen_random_uuid(), "token_hash" varchar(64) not null, "kind" text not null, "user_id" uuid null, "tenant_id" uuid null, "label" varchar(200) null, "created_by_id" uuid null, "created_at" timestamptz not null default now(), "expires_at" timestamptz null, "revoked_at" timestamptz null, primary key ("id"));`);
    this.addSql(`alter table "auth_tokens" add constraint "auth_tokens_token_hash_unique" unique ("token_hash");`);
    this.addSql(`create index "auth_tokens_user_id_index" on "auth_tokens" ("user_id");`);
    this.addSql(`create index "auth_tokens_tenant_id_index" on "auth_tokens" ("tenant_id");`);
    this.addSql(`alter table "auth_tokens" add constraint "auth_tokens_kind_check" check ("kind" in ('user', 'kiosk', 'integration'));`);
    this.addSql(`alter table "operation_runs" add constraint "operation_runs_tenant_id_foreign" foreign key ("tenant_id") references "tenants" ("id") on delete cascade;`);
    this.addSql(`alter table "operation_runs" add constraint "operation_runs_initiator_id_foreign" foreign key ("initiator_id") references "users" ("id") on delete set null;`);
    this.addSql(`alter table "notifications" add constraint "notifications_user_id_foreign" foreign key ("user_id") references "users" ("id") on delete cascade;`);
    this.addSql(`alter table "notifications" add constraint "notifications_tenant_id_foreign" foreign key ("tenant_id") references "tenants" ("id") on delete cascade;`);
    this.addSql(`alter table "notifications" add constraint "notifications_run_id_foreign" foreign key ("run_id") references "operation_runs" ("id") on delete cascade;`);
    this.addSql(`alter table "memberships" add constraint "memberships_tenant_id_foreign" foreign key ("tenant_id") references "tenants" ("id") on delete cascade;`);
    this.addSql(`alter table "memberships" add constraint "memberships_user_id_foreign" foreign key ("user_id") references "users" ("id") on delete cascade;`);
    this.addSql(`alter table "auth_tokens" add constraint "auth_tokens_user_id_foreign" foreign key ("user_id") references "users" ("id") on delete cascade;`);
    this.addSql(`alter table "auth_tokens" add constraint "auth_tokens_tenant_id_foreign" foreign key ("tenant_id") references "tenants" ("id") on delete cascade;`);
    this.addSql(`alter table "auth_tokens" add constraint "auth_tokens_created_by_id_foreign" foreign key ("created_by_id") references "users" ("id") on delete set null;`);
    this.addSql(`alter table "operation_runs" add constraint "operation_runs_counts_check" check ("total" >= 0 and "processed" >= 0 and "succeeded" >= 0 and "failed" >= 0 and "skipped" >= 0 and "failure_count" >= 0 and "version" >= 1);`);
  }
}
