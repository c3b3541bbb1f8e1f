import type { Pool, PoolClient } from 'pg';

type Release = (error?: Error | boolean) => void;

/**
 * Gives a pooled connection back as soon as PostgreSQL drops it (restart, failover, pg_terminate_backend).
 *
 * Kysely (under MikroORM) releases a transaction's connection only after a successful COMMIT or ROLLBACK; when
 * the connection dies mid-transaction both fail, the connection is never released, and each such loss leaks a
 * pool slot until every query of the process waits forever. Here a checked-out connection that ends is
 * released (and so removed from the pool) at once; the late release of its holder, if any, is a no-op.
 */
export function releaseDroppedConnections(pool: Pool): void {
  pool.on('connect', (client: PoolClient) => {
    let release: Release | undefined;
    // pg-pool assigns `client.release` on every checkout: wrap each one as it is assigned.
    Object.defineProperty(client, 'release', {
      configurable: true,
      get: () => release,
      set: (poolRelease: Release) => {
        let released = false;
        const once: Release = (error) => {
          if (released) return;
          released = true;
          client.off('end', onEnd);
          poolRelease(error);
        };
        const onEnd = () => once(new Error('connection ended while checked out'));
        client.once('end', onEnd);
        release = once;
      },
    });
  });
}
