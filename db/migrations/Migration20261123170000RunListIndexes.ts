import { Migration } from '@mikro-orm/migrations';

/**
 * Indexes measured with the list benchmark (1 M runs, `npm run bench -- --only=list`):
 * - `initiator=me` read every run of that person and sorted them (255 ms for 20 k runs); now it walks the
 *   newest runs of one initiator in one tenant.
 * - stats read the heap of every run in the window (600 ms for a 30-day window of 100 k runs); the tenant/
 *   created index now carries type, status and outcome, so they are an index-only scan. Same key as before:
 *   list pages use it as they did.
 */
export class Migration20261123170000RunListIndexes extends Migration {
  override name = 'Migration20261123170000RunListIndexes';

  override up(): void {
    this.addSql(`create index "operation_runs_tenant_initiator_created" on "operation_runs" ("tenant_id", "initiator_id", "created_at" desc, "id" desc) where "initiator_id" is not null;`);
    this.addSql(`create index "operation_runs_tenant_created_covering" on "operation_runs" ("tenant_id", "created_at" desc, "id" desc) include ("type", "status", "outcome");`);
    this.addSql(`drop index "operation_runs_tenant_created";`);
    this.addSql(`alter index "operation_runs_tenant_created_covering" rename to "operation_runs_tenant_created";`);
  }
}
