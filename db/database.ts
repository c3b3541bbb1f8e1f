// Typed queries: the Kysely schema is inferred from the MikroORM entities, so a renamed or retyped column
// fails to compile in every store that uses it. Only the stores (db/*/store.ts) write SQL.
import type { EntityManager } from '@mikro-orm/postgresql';
import type { InferKyselyDB } from '@mikro-orm/sql';
import { sql, type Kysely } from 'kysely';
import type { entities } from './entities.ts';
import type { Orm } from './orm.ts';

export type Database = InferKyselyDB<(typeof entities)[number]>;
export type Db = Kysely<Database>;

/** An entity manager inside `em.transactional()`: queries built from it run in that transaction. */
export type Tx = EntityManager;

/** Typed queries on `tx` when given (its transaction), else on a fresh fork (the pool). */
export function queries(orm: Orm, tx?: Tx): Db {
  return (tx ?? orm.em.fork()).getKysely<Database>();
}

/** The statement's own clock (`now()` is the transaction's start, which orders badly inside long transactions). */
export const clockTimestamp = sql<Date>`clock_timestamp()`;

/** An interval of `seconds` before the statement's clock. */
export const secondsAgo = (seconds: number) => sql<Date>`clock_timestamp() - make_interval(secs => ${seconds})`;

/** A round trip to PostgreSQL: rejects when it cannot be reached (readiness checks, start-up probes). */
export async function ping(orm: Orm): Promise<void> {
  await sql`select 1`.execute(queries(orm));
}
