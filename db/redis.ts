import { createClient } from 'redis';
import type { Logger } from './logger.ts';

export type RedisClient = ReturnType<typeof createClient>;

/**
 * A node-redis client that reconnects forever with capped backoff and never crashes the process on a
 * connection error (errors are logged once per outage, not per retry).
 */
export function createRedis(url: string, logger: Logger, name: string): RedisClient {
  const client = createClient({
    url,
    socket: {
      connectTimeout: 5_000,
      // Capped low: once Redis is back, each process's link (and so the clients' resync) follows within 0.5 s.
      reconnectStrategy: (retries) => Math.min(100 * 2 ** retries, 500),
    },
    // Commands issued while disconnected fail fast instead of queueing without bound.
    disableOfflineQueue: true,
  });
  let down = false;
  client.on('error', (error: Error) => {
    if (down) return;
    down = true;
    logger.warn({ redis: name, err: error.message }, 'redis connection error');
  });
  client.on('ready', () => {
    if (down) logger.info({ redis: name }, 'redis connection restored');
    down = false;
  });
  return client;
}
