import { systemActor } from '../db/access/actor.ts';
import { keyOf } from '../db/changefeed/channels.ts';
import { runsPurge } from '../db/catalog/operations.ts';
import type { Services } from '../db/services.ts';

/** How often the worker checks whether today's purge has been started for each tenant. */
export const SCHEDULE_CHECK_MS = 15 * 60_000;

/**
 * Starts one `runs.purge` run per tenant per day (initiator: none), through the same starter as the API.
 * Any number of workers may run this: a Redis `SET NX` per tenant and day lets exactly one of them start
 * it; the run's identity de-duplicates any overlap with an owner's on-demand purge.
 */
export async function startDailyPurges(services: Services, now = new Date()): Promise<number> {
  const day = now.toISOString().slice(0, 10);
  let started = 0;
  for (const tenant of await services.tenants.listTenants()) {
    const claimed = await services.redis.set(keyOf(services.config.redisPrefix, 'schedule', 'purge', tenant.id, day), '1', {
      NX: true,
      PX: 36 * 3_600_000,
    });
    if (claimed !== 'OK') continue;
    const { reused } = await services.starter.start(systemActor(tenant, 'retention schedule'), tenant.slug, { type: runsPurge.type, scope: {} });
    if (!reused) started += 1;
  }
  return started;
}
