import { Router } from 'express';
import { requireUser } from '../../../db/access/policy.ts';
import { notFound } from '../../../db/errors.ts';
import type { Services } from '../../../db/services.ts';
import { actorOf } from '../auth.ts';
import { notificationsQuery, type NotificationsPage } from '../contract.ts';
import { parse, uuidParam } from '../validate.ts';

/** The signed-in user's own inbox; kiosk and integration tokens have none. */
export function notificationRoutes(services: Services): Router {
  const router = Router();
  const { notifications } = services;

  router.get('/', async (req, res) => {
    const actor = requireUser(actorOf(req));
    const query = parse(notificationsQuery, req.query, 'query');
    res.json(
      await notifications.list(actor.user.id, {
        unreadOnly: query.unread === 'true',
        limit: query.limit,
        ...(query.cursor ? { cursor: query.cursor } : {}),
      }) satisfies NotificationsPage,
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
