import { Migration } from '@mikro-orm/migrations';

/** Mirrored runs: event ids applied per run, so a retried report is a no-op (docs/api.md §9). */
export class Migration20261123140000RunEvents extends Migration {
  override name = 'Migration20261123140000RunEvents';

  override up(): void {
    this.addSql(`create table "run_events" ("run_id" uuid not null, "event_id" varchar(200) not null, "created_at" timestamptz not null default now(), primary key ("run_id", "event_id"));`);
    this.addSql(`alter table "run_events" add constraint "run_events_run_id_foreign" foreign key ("run_id") references "operation_runs" ("id") on delete cascade;`);
  }
}
