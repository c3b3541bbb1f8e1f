// The webhook sender of a worker (docs/api.md §13): claims due deliveries from the outbox and sends up to
// WEBHOOK_CONCURRENCY of them at once, each in its own time limit, so a slow or dead receiver occupies at most a
// few slots (MAX_IN_FLIGHT_PER_WEBHOOK) and never the run path, which only wrote a row. It wakes when a run is
// queued or completes (the changefeed) and polls as a fallback; any number of workers share the outbox.
import { createRedis } from '../db/redis.ts';
import type { Services } from '../db/services.ts';
import type { AttemptObserver } from '../db/webhooks/delivery.ts';

export type WebhookSender = { close(): Promise<void> };

/** Polls for due deliveries (retries, missed wake-ups) at least this often. */
const POLL_MS = 1_000;
const BACKLOG_EVERY_MS = 5_000;
const PURGE_EVERY_MS = 60 * 60_000;

export async function startWebhookSender(
  services: Services,
  options: { observe?: AttemptObserver; onBacklog?: (pending: number) => void } = {},
): Promise<WebhookSender> {
  const { config, logger, changefeed } = services;
  const deliverer = services.webhookDeliverer(options.observe);
  const slots = config.webhooks.concurrency;
  const inFlight = new Set<Promise<void>>();
  let closing = false;
  let claiming = false;
  let again = false;

  const pump = async (): Promise<void> => {
    if (closing) return;
    if (claiming) {
      again = true;
      return;
    }
    claiming = true;
    try {
      do {
        again = false;
        const free = slots - inFlight.size;
        if (free <= 0) break;
        const claimed = await deliverer.claim(free);
        for (const delivery of claimed) {
          const attempt: Promise<void> = deliverer
            .attempt(delivery)
            .then(() => undefined)
            .catch((error: Error) => logger.warn({ delivery: delivery.id, err: error.message }, 'webhook attempt could not be recorded'))
            .finally(() => {
              inFlight.delete(attempt);
              void pump();
            });
          inFlight.add(attempt);
        }
        // A full claim may have left more behind.
        if (claimed.length === free) again = true;
      } while (again && !closing);
    } catch (error) {
      logger.warn({ err: (error as Error).message }, 'webhook claim failed');
    } finally {
      claiming = false;
    }
  };

  // Deliveries are written by `queued` and `completed` changes: those wake the sender (a false wake is harmless).
  const subscriber = createRedis(config.redisUrl, logger, 'webhook wake-ups');
  try {
    await subscriber.connect();
    await subscriber.subscribe(changefeed.channels.runs, (raw) => {
      if (raw.includes('"kind":"completed"') || raw.includes('"kind":"queued"')) void pump();
    });
  } catch (error) {
    // Redis is down at start: the poll still sends everything (node-redis re-subscribes once it is back).
    logger.warn({ err: (error as Error).message }, 'webhook wake-ups unavailable; polling only');
  }

  const poller = setInterval(() => void pump(), Math.min(POLL_MS, config.webhooks.retryBaseMs));
  const backlog = setInterval(() => {
    deliverer.backlog().then(options.onBacklog ?? (() => undefined), () => undefined);
  }, BACKLOG_EVERY_MS);
  const purger = setInterval(() => {
    deliverer
      .purge()
      .then((removed) => removed > 0 && logger.info({ removed }, 'old webhook deliveries removed'))
      .catch((error: Error) => logger.warn({ err: error.message }, 'webhook delivery purge failed'));
  }, PURGE_EVERY_MS);
  void pump();

  return {
    async close() {
      closing = true;
      clearInterval(poller);
      clearInterval(backlog);
      clearInterval(purger);
      await subscriber.close().catch(() => undefined);
      // Attempts in flight end within their time limit; one cut short is sent again after its lease (at least once).
      await Promise.allSettled([...inFlight]);
    },
  };
}
