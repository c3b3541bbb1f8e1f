import { Router } from 'express';
import type { Services } from '../../../db/services.ts';
import { tenantAccess } from '../auth.ts';
import { webhookBody, type DeliveriesAnswer, type WebhookAnswer, type WebhookCreated, type WebhooksAnswer } from '../contract.ts';
import { parse, uuidParam } from '../validate.ts';

/** The tenant's outgoing webhooks (docs/api.md §13): owners only, since they send the tenant's runs elsewhere. */
export function webhookRoutes(services: Services): Router {
  const router = Router({ mergeParams: true });
  const { webhooks } = services;
  const owner = { role: 'owner' } as const;

  router.post('/webhooks', async (req, res) => {
    const { tenant, actor } = tenantAccess(req, owner);
    const body = parse(webhookBody, req.body);
    const created = await webhooks.create(tenant.id, actor.kind === 'user' ? actor.user.id : null, {
      url: body.url,
      events: body.events,
      ...(body.types ? { types: body.types } : {}),
      ...(body.outcomes ? { outcomes: body.outcomes } : {}),
      ...(body.format ? { format: body.format } : {}),
    });
    res.status(201).json(created satisfies WebhookCreated);
  });

  router.get('/webhooks', async (req, res) => {
    const { tenant } = tenantAccess(req, owner);
    res.json({ webhooks: await webhooks.list(tenant.id) } satisfies WebhooksAnswer);
  });

  router.get('/webhooks/:id', async (req, res) => {
    const { tenant } = tenantAccess(req, owner);
    res.json({ webhook: await webhooks.get(tenant.id, uuidParam(req.params.id, 'The webhook')) } satisfies WebhookAnswer);
  });

  router.delete('/webhooks/:id', async (req, res) => {
    const { tenant } = tenantAccess(req, owner);
    await webhooks.delete(tenant.id, uuidParam(req.params.id, 'The webhook'));
    res.status(204).end();
  });

  router.get('/webhooks/:id/deliveries', async (req, res) => {
    const { tenant } = tenantAccess(req, owner);
    res.json({ deliveries: await webhooks.deliveries(tenant.id, uuidParam(req.params.id, 'The webhook')) } satisfies DeliveriesAnswer);
  });

  return router;
}
