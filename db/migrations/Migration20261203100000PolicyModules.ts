import { Migration } from '@mikro-orm/migrations';

/**
 * The seeds' operations: a policy source per tenant, inventory snapshots (owned by their sync run), drift
 * findings (owned by their generation run), backup sets with captured items, and restores with their items.
 * Generated from the entities, then reviewed.
 */
export class Migration20261203100000PolicyModules extends Migration {
  override name = 'Migration20261203100000PolicyModules';

  override up(): void {
    this.addSql(`create table "policy_sources" ("tenant_id" uuid not null, "kind" text not null, "base_url" varchar(2000) null, "collections" jsonb not null default '[]', "credential_ciphertext" text null, "simulated" jsonb null, "updated_at" timestamptz not null default now(), "updated_by_id" uuid null, primary key ("tenant_id"));`);
    this.addSql(`create table "inventory_items" ("run_id" uuid not null, "external_id" varchar(200) not null, "tenant_id" uuid not null, "name" varchar(400) not null, "policy_type" varchar(200) not null, "last_modified" timestamptz null, "settings" jsonb not null, "settings_hash" varchar(64) not null, primary key ("run_id", "external_id"));`);
    this.addSql(`create index "inventory_items_run_name" on "inventory_items" ("run_id", "name", "external_id");`);
    this.addSql(`create index "inventory_items_tenant" on "inventory_items" ("tenant_id");`);
    this.addSql(`create table "drift_findings" ("id" uuid not null default gen_random_uuid(), "run_id" uuid not null, "tenant_id" uuid not null, "external_id" varchar(200) not null, "name" varchar(400) not null, "policy_type" varchar(200) not null, "change" text not null, "fields" jsonb not null default '[]', "fields_omitted" int not null default 0, primary key ("id"));`);
    this.addSql(`create index "drift_findings_run_change_name" on "drift_findings" ("run_id", "change", "name", "id");`);
    this.addSql(`create index "drift_findings_tenant" on "drift_findings" ("tenant_id");`);
    this.addSql(`create table "backup_sets" ("id" uuid not null default gen_random_uuid(), "tenant_id" uuid not null, "name" varchar(200) not null, "created_at" timestamptz not null default now(), "created_by_id" uuid null, primary key ("id"));`);
    this.addSql(`create index "backup_sets_tenant_created" on "backup_sets" ("tenant_id", "created_at" desc, "id" desc);`);
    this.addSql(`create table "restores" ("id" uuid not null default gen_random_uuid(), "tenant_id" uuid not null, "backup_set_id" uuid not null, "policy_ids" jsonb null, "status" text not null, "run_id" uuid null, "created_by_id" uuid null, "created_at" timestamptz not null default now(), "updated_at" timestamptz not null default now(), primary key ("id"));`);
    this.addSql(`create index "restores_backup_set_id_index" on "restores" ("backup_set_id");`);
    this.addSql(`create index "restores_run_id_index" on "restores" ("run_id");`);
    this.addSql(`create index "restores_tenant_created" on "restores" ("tenant_id", "created_at" desc, "id" desc);`);
    this.addSql(`create table "restore_items" ("restore_id" uuid not null, "external_id" varchar(200) not null, "name" varchar(400) not null, "policy_type" varchar(200) not null, "action" text not null, "fields" jsonb not null default '[]', "result" text null, "error_code" varchar(100) null, "applied_at" timestamptz null, primary key ("restore_id", "external_id"));`);
    this.addSql(`create table "backup_items" ("backup_set_id" uuid not null, "external_id" varchar(200) not null, "name" varchar(400) not null, "policy_type" varchar(200) not null, "settings" jsonb not null, "settings_hash" varchar(64) not null, "captured_at" timestamptz not null default now(), "run_id" uuid null, primary key ("backup_set_id", "external_id"));`);
    this.addSql(`create index "backup_items_run_id_index" on "backup_items" ("run_id");`);
    this.addSql(`alter table "policy_sources" add constraint "policy_sources_tenant_id_foreign" foreign key ("tenant_id") references "tenants" ("id") on update cascade on delete cascade;`);
    this.addSql(`alter table "policy_sources" add constraint "policy_sources_updated_by_id_foreign" foreign key ("updated_by_id") references "users" ("id") on delete set null;`);
    this.addSql(`alter table "policy_sources" add constraint "policy_sources_kind_check" check ("kind" in ('simulated', 'graph'));`);
    this.addSql(`alter table "inventory_items" add constraint "inventory_items_run_id_foreign" foreign key ("run_id") references "operation_runs" ("id") on delete cascade;`);
    this.addSql(`alter table "inventory_items" add constraint "inventory_items_tenant_id_foreign" foreign key ("tenant_id") references "tenants" ("id") on delete cascade;`);
    this.addSql(`alter table "drift_findings" add constraint "drift_findings_run_id_foreign" foreign key ("run_id") references "operation_runs" ("id") on delete cascade;`);
    this.addSql(`alter table "drift_findings" add constraint "drift_findings_tenant_id_foreign" foreign key ("tenant_id") references "tenants" ("id") on delete cascade;`);
    this.addSql(`alter table "drift_findings" add constraint "drift_findings_change_check" check ("change" in ('added', 'removed', 'modified'));`);
    this.addSql(`alter table "backup_sets" add constraint "backup_sets_tenant_id_foreign" foreign key ("tenant_id") references "tenants" ("id") on delete cascade;`);
    this.addSql(`alter table "backup_sets" add constraint "backup_sets_created_by_id_foreign" foreign key ("created_by_id") references "users" ("id") on delete set null;`);
    this.addSql(`alter table "restores" add constraint "restores_tenant_id_foreign" foreign key ("tenant_id") references "tenants" ("id") on delete cascade;`);
    this.addSql(`alter table "restores" add constraint "restores_backup_set_id_foreign" foreign key ("backup_set_id") references "backup_sets" ("id") on delete cascade;`);
    this.addSql(`alter table "restores" add constraint "restores_run_id_foreign" foreign key ("run_id") references "operation_runs" ("id") on delete set null;`);
    this.addSql(`alter table "restores" add constraint "restores_created_by_id_foreign" foreign key ("created_by_id") references "users" ("id") on delete set null;`);
    this.addSql(`alter table "restores" add constraint "restores_status_check" check ("status" in ('draft', 'previewed', 'executing', 'completed', 'completed_with_errors', 'failed', 'discarded'));`);
    this.addSql(`alter table "restore_items" add constraint "restore_items_restore_id_foreign" foreign key ("restore_id") references "restores" ("id") on delete cascade;`);
    this.addSql(`alter table "restore_items" add constraint "restore_items_action_check" check ("action" in ('create', 'update', 'unchanged'));`);
    this.addSql(`alter table "restore_items" add constraint "restore_items_result_check" check ("result" in ('applied', 'failed', 'skipped'));`);
    this.addSql(`alter table "backup_items" add constraint "backup_items_backup_set_id_foreign" foreign key ("backup_set_id") references "backup_sets" ("id") on delete cascade;`);
    this.addSql(`alter table "backup_items" add constraint "backup_items_run_id_foreign" foreign key ("run_id") references "operation_runs" ("id") on delete set null;`);
  }
}
