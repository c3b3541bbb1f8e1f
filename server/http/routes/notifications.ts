import { Router } from 'express';
import { z } from 'zod';
import { requireUser } from '../../../db/access/policy.ts';
import { notFound } from '../../../db/errors.ts';
import type { Services } from '../../../db/services.ts';
import { actorOf } from '../auth.ts';
import { parse, uuidParam } from '../validate.ts';

const listQuery = z.strictObject({
  unread: z.enum(['true', 'false']).optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: z.string().max(200).optional(),
});

/** The signed-in user's own inbox; kiosk and integration tokens have none. */
export function notificationRoutes(services: Services): Router {
  const router = Router();
  const { notifications } = services;

  router.get('/', async (req, res) => {
    const actor = requireUser(actorOf(req));
    const query = parse(listQuery, req.query, 'query');
    res.json(
      await notifications.list(actor.user.id, {
        unreadOnly: query.unread === 'true',
        limit: query.limit,
        ...(query.cursor ? { cursor: query.cursor } : {}),
      }),
    );
  });

  router.post('/read-all', async (req, res) => {
    const actor = requireUser(actorOf(req));
    await notifications.markAllRead(actor.user.id);
    res.status(204).end();
  });

  router.post('/:id/read', async (req, res) => {
    const actor = requireUser(actorOf(req));
    const id = uuidParam(req.params.id, 'The notification');
    if (!(await notifications.markRead(actor.user.id, id))) throw notFound('The notification');
    res.status(204).end();
  });

  return router;
}
