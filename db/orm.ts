import { MikroORM, type Options } from '@mikro-orm/postgresql';
import { Migrator } from '@mikro-orm/migrations';
import { entities } from './entities.ts';
import { migrations } from './migrations/index.ts';
import { releaseDroppedConnections } from './pool-guard.ts';

export type Orm = MikroORM;

export type OrmOptions = {
  databaseUrl: string;
  /** Connection pool size; workers and servers size it to their concurrency. */
  poolMax?: number;
  debug?: boolean;
};

export function ormOptions({ databaseUrl, poolMax = 10, debug = false }: OrmOptions): Options {
  return {
    clientUrl: databaseUrl,
    entities,
    extensions: [Migrator],
    debug,
    pool: { min: 0, max: poolMax },
    driverOptions: { onPoolCreated: releaseDroppedConnections },
    // Dates travel as ISO strings on the wire; keep them as UTC instants in the database.
    timezone: '+00:00',
    migrations: {
      tableName: 'runboard_migrations',
      migrationsList: migrations,
      transactional: true,
      allOrNothing: true,
      snapshot: false,
      silent: true,
    },
    allowGlobalContext: false,
    ensureDatabase: false,
  };
}

export async function createOrm(options: OrmOptions): Promise<Orm> {
  return MikroORM.init(ormOptions(options));
}

/** Applies pending migrations; safe to call from several processes at once (the migrator holds a lock). */
export async function migrate(orm: Orm): Promise<string[]> {
  const applied = await orm.migrator.up();
  return applied.map((m) => m.name);
}
