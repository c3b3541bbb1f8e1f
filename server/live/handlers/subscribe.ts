import { z } from 'zod';
import { requireTenantAccess } from '../../../db/access/policy.ts';
import type { Actor } from '../../../db/access/actor.ts';
import type { AuthService } from '../../../db/auth/service.ts';
import { SOCKET_LIMITS, withinRate, type LiveSocket } from '../context.ts';
import type { SubscribeAck } from '../events.ts';
import { rooms } from '../rooms.ts';

export const subscribePayload = z.strictObject({ tenant: z.string().min(1).max(64) });

/** Reply through the ack if the client gave one; a missing or non-function ack is tolerated. */
export function answer(ack: unknown, value: SubscribeAck): void {
  if (typeof ack === 'function') (ack as (v: SubscribeAck) => void)(value);
}

/**
 * `subscribe { tenant }`: join the tenant's room after the same access check as HTTP — against fresh
 * memberships (and a kiosk token's tenants, docs/api.md §12), so a member removed a second ago is refused.
 * Errors are whitelisted codes, never text. Subscribes that arrive together (a wall of many tenants, after
 * each connect) share one read of the actor: one that starts later reads afresh.
 */
export function onSubscribe(socket: LiveSocket, auth: AuthService) {
  let reading: Promise<Actor | null> | null = null;
  const refresh = () =>
    (reading ??= auth.refresh(socket.data.actor.tokenId).finally(() => {
      reading = null;
    }));
  return async (payload: unknown, ack: unknown): Promise<void> => {
    if (!withinRate(socket)) return answer(ack, { ok: false, error: 'rate_limited' });
    const parsed = subscribePayload.safeParse(payload);
    if (!parsed.success) return answer(ack, { ok: false, error: 'invalid' });
    const { tenant } = parsed.data;
    if (!socket.data.tenants.has(tenant) && socket.data.tenants.size >= SOCKET_LIMITS.tenantsPerSocket) {
      return answer(ack, { ok: false, error: 'invalid' });
    }
    let actor;
    try {
      actor = await refresh();
    } catch {
      return answer(ack, { ok: false, error: 'unavailable' });
    }
    if (!actor) {
      socket.disconnect(true);
      return;
    }
    socket.data.actor = actor;
    try {
      requireTenantAccess(actor, tenant, 'read');
    } catch {
      return answer(ack, { ok: false, error: 'forbidden' });
    }
    if (!socket.connected) return;
    socket.data.tenants.add(tenant);
    await socket.join(rooms.tenant(tenant));
    answer(ack, { ok: true });
  };
}
