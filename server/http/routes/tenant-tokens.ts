import type { Router } from 'express';
import type { Role } from '../../../db/access/roles.ts';
import type { TokenKind } from '../../../db/auth/entities.ts';
import type { AuthService } from '../../../db/auth/service.ts';
import { tenantAccess } from '../auth.ts';
import { tokenBody, type TokenCreated } from '../contract.ts';
import { parse, uuidParam } from '../validate.ts';

/**
 * Create (shown once) and revoke a tenant-bound token: kiosk tokens (manager+) and integration tokens
 * (owner). Registered on the tenant router itself, so the paths are plain `/<path>` and `/<path>/:id`.
 * A kiosk token created here reads this one tenant; revoking here also revokes a kiosk token bound to this
 * tenant and others (docs/api.md §12), as a manager of any of its tenants may.
 */
export function addTenantTokenRoutes(
  router: Router,
  auth: AuthService,
  options: { path: string; kind: Exclude<TokenKind, 'user'>; role: Role },
): void {
  const { path, kind, role } = options;

  router.post(path, async (req, res) => {
    const { tenant, actor } = tenantAccess(req, { role });
    const { label } = parse(tokenBody, req.body);
    const created = await auth.createTenantToken(kind, tenant.id, label, actor.kind === 'user' ? actor.user.id : null);
    res.status(201).json(created satisfies TokenCreated);
  });

  router.delete(`${path}/:id`, async (req, res) => {
    const { tenant } = tenantAccess(req, { role });
    await auth.revokeTenantToken(kind, tenant.id, uuidParam(req.params.id, 'The token'));
    res.status(204).end();
  });
}
