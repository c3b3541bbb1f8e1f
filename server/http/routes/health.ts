import { Router } from 'express';
import { timingSafeEqual } from 'node:crypto';
import { ping } from '../../../db/database.ts';
import { queueHealthy } from '../../../db/queue.ts';
import { withTimeout } from '../../../db/timeout.ts';
import type { Services } from '../../../db/services.ts';
import type { Metrics } from '../../metrics.ts';

const CHECK_TIMEOUT_MS = 2_000;

/** True when the check settles successfully within the bound. */
const within = (check: Promise<unknown>): Promise<boolean> =>
  withTimeout(check, CHECK_TIMEOUT_MS).then(
    () => true,
    () => false,
  );

function sameSecret(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

/** Liveness, readiness (PostgreSQL + Redis) and Prometheus metrics. */
export function healthRoutes(services: Services, metrics: Metrics): Router {
  const router = Router();

  router.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });

  router.get('/readyz', async (_req, res) => {
    const [postgres, redis] = await Promise.all([
      within(ping(services.orm)),
      within(services.redis.ping()),
    ]);
    // Starts need the queue too: its own connection, with its scripts loaded.
    const queue = queueHealthy(services.queue);
    const ready = postgres && redis && queue;
    res.status(ready ? 200 : 503).json({
      status: ready ? 'ready' : 'unavailable',
      checks: { postgres: postgres ? 'ok' : 'down', redis: redis ? 'ok' : 'down', queue: queue ? 'ok' : 'down' },
    });
  });

  router.get('/metrics', async (req, res) => {
    const token = services.config.metricsToken;
    if (token && !sameSecret(req.get('authorization') ?? '', `Bearer ${token}`)) {
      res.status(401).json({ error: { code: 'unauthorized', message: 'Metrics need the metrics token.' } });
      return;
    }
    res.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });

  return router;
}
