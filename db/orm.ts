import { MikroORM, type Options } from '@mikro-orm/postgresql';
import { Migrator } from '@mikro-orm/migrations';
import type { Config } from './config.ts';
import { entities } from './entities.ts';
import { migrations } from './migrations/index.ts';
import { releaseDroppedConnections } from './pool-guard.ts';

export type Orm = MikroORM;

export type OrmOptions = {
  databaseUrl: string;
  /** The most connections this ORM opens at once (`poolSize` for servers and workers). */
  poolMax?: number;
  /** How its connections are named in pg_stat_activity (`runboard-server`, `runboard-worker`). */
  applicationName?: string;
  debug?: boolean;
};

/**
 * The database pool size of a server or worker process (docs/security.md, "Database connections"):
 * DATABASE_POOL_MAX when set — each process opens at most that many connections — else the role's default:
 * twice a worker's concurrency plus four (its jobs, sweeps and webhook sender share the pool), 20 for a server.
 */
export function poolSize(config: Pick<Config, 'databasePoolMax' | 'workerConcurrency'>, role: 'server' | 'worker'): number {
  return config.databasePoolMax ?? (role === 'worker' ? config.workerConcurrency * 2 + 4 : 20);
}

export function ormOptions({ databaseUrl, poolMax = 10, applicationName, debug = false }: OrmOptions): Options {
  return {
    clientUrl: databaseUrl,
    entities,
    extensions: [Migrator],
    debug,
    pool: { min: 0, max: poolMax },
    driverOptions: { onPoolCreated: releaseDroppedConnections, ...(applicationName ? { application_name: applicationName } : {}) },
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
