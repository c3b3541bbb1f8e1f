import { Migration } from '@mikro-orm/migrations';

/**
 * `attempts` was counted on every start and read by nothing: a run starts once (queued → running) and a run
 * whose worker is lost ends `failed/worker_lost` rather than being retried, so it could only ever be 0 or 1.
 */
export class Migration20261203000000DropRunAttempts extends Migration {
  override name = 'Migration20261203000000DropRunAttempts';

  override up(): void {
    this.addSql(`alter table "operation_runs" drop column "attempts";`);
  }
}
