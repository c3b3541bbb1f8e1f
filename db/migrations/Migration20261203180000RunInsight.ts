import { Migration } from '@mikro-orm/migrations';

/**
 * Finding runs and understanding failures (docs/api.md §11): each run's history, its search text (trigram
 * index on the scope's part), its failures per reason code, and the
 * index the baselines read. Existing runs are backfilled: search text from their scope, reasons from their
 * stored failures, and a history from their timestamps (by "before history").
 * pg_trgm ships with PostgreSQL and is trusted: a database owner may create it.
 */
export class Migration20261203180000RunInsight extends Migration {
  override name = 'Migration20261203180000RunInsight';

  override up(): void {
    this.addSql(`create extension if not exists pg_trgm;`);

    this.addSql(`create table "run_search" ("run_id" uuid not null, "tenant_id" uuid not null, "text" text not null, primary key ("run_id"));`);
    this.addSql(`create table "run_history" ("run_id" uuid not null, "version" int not null, "kind" text not null, "status" text not null, "total" int not null, "processed" int not null, "succeeded" int not null, "failed" int not null, "skipped" int not null, "at" timestamptz not null, "by_kind" text not null, "by_name" varchar(200) not null, primary key ("run_id", "version"));`);
    this.addSql(`create table "run_failure_reasons" ("run_id" uuid not null, "code" varchar(64) not null, "tenant_id" uuid not null, "type" varchar(100) not null, "run_created_at" timestamptz not null, "failures" int not null, "message" varchar(300) not null, "first_seen_at" timestamptz not null, "last_seen_at" timestamptz not null, primary key ("run_id", "code"));`);
    this.addSql(`alter table "operation_runs" add "history_at" timestamptz null;`);

    this.addSql(`alter table "run_search" add constraint "run_search_run_id_foreign" foreign key ("run_id") references "operation_runs" ("id") on update cascade on delete cascade;`);
    this.addSql(`alter table "run_search" add constraint "run_search_tenant_id_foreign" foreign key ("tenant_id") references "tenants" ("id") on delete cascade;`);
    this.addSql(`alter table "run_history" add constraint "run_history_run_id_foreign" foreign key ("run_id") references "operation_runs" ("id") on delete cascade;`);
    this.addSql(`alter table "run_history" add constraint "run_history_kind_check" check ("kind" in ('queued', 'started', 'progress', 'completed'));`);
    this.addSql(`alter table "run_history" add constraint "run_history_status_check" check ("status" in ('queued', 'running', 'completed'));`);
    this.addSql(`alter table "run_history" add constraint "run_history_by_kind_check" check ("by_kind" in ('user', 'worker', 'integration', 'system'));`);
    this.addSql(`alter table "run_failure_reasons" add constraint "run_failure_reasons_run_id_foreign" foreign key ("run_id") references "operation_runs" ("id") on delete cascade;`);
    this.addSql(`alter table "run_failure_reasons" add constraint "run_failure_reasons_tenant_id_foreign" foreign key ("tenant_id") references "tenants" ("id") on delete cascade;`);

    // Backfill before the indexes: one pass each, then one index build.
    this.addSql(`insert into "run_search" ("run_id", "tenant_id", "text")
      select r.id, r.tenant_id, left(lower(r.type || coalesce(' ' || (
        select string_agg(v #>> '{}', ' ') from jsonb_path_query(r.scope, 'strict $.** ? (@.type() == "string" || @.type() == "number" || @.type() == "boolean")') as v
      ), '')), 2000)
      from "operation_runs" r;`);
    this.addSql(`insert into "run_failure_reasons" ("run_id", "code", "tenant_id", "type", "run_created_at", "failures", "message", "first_seen_at", "last_seen_at")
      select r.id, left(f ->> 'code', 64), r.tenant_id, r.type, r.created_at, count(*), left((array_agg(f ->> 'message' order by n desc))[1], 300), r.updated_at, r.updated_at
      from "operation_runs" r, jsonb_array_elements(r.failures) with ordinality as e (f, n)
      where f ->> 'code' is not null
      group by r.id, left(f ->> 'code', 64);`);
    const before = `'system', 'recorded before history'`;
    this.addSql(`insert into "run_history" select id, 1, 'queued', 'queued', 0, 0, 0, 0, 0, created_at, ${before} from "operation_runs";`);
    this.addSql(`insert into "run_history" select id, 2, 'started', 'running', 0, 0, 0, 0, 0, started_at, ${before} from "operation_runs"
      where started_at is not null and (status = 'running' and version >= 2 or status = 'completed' and version > 2);`);
    this.addSql(`insert into "run_history" select id, version, 'progress', status, total, processed, succeeded, failed, skipped, updated_at, ${before} from "operation_runs"
      where status = 'running' and version > 2;`);
    this.addSql(`insert into "run_history" select id, version, 'completed', status, total, processed, succeeded, failed, skipped, coalesce(completed_at, updated_at), ${before} from "operation_runs"
      where status = 'completed' and version > 1;`);

    // The scope's part of the text only (after the type, which is found through the catalog): search-store.ts.
    this.addSql(`create index "run_search_scope_text" on "run_search" using gin ((substr("text", length(split_part("text", ' ', 1)) + 2)) gin_trgm_ops);`);
    this.addSql(`create index "run_failure_reasons_code_run" on "run_failure_reasons" ("code", "run_id");`);
    this.addSql(`create index "run_failure_reasons_tenant_created" on "run_failure_reasons" ("tenant_id", "run_created_at" desc);`);
    this.addSql(`create index "operation_runs_tenant_completed" on "operation_runs" ("tenant_id", "completed_at") include ("type", "outcome", "started_at") where status = 'completed';`);
  }
}
