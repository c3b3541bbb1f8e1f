import { withinRate, type LiveSocket } from '../context.ts';
import { rooms } from '../rooms.ts';
import { answer, subscribePayload } from './subscribe.ts';

/** `unsubscribe { tenant }`: leave the room (no access check needed to leave). */
export function onUnsubscribe(socket: LiveSocket) {
  return async (payload: unknown, ack: unknown): Promise<void> => {
    if (!withinRate(socket)) return answer(ack, { ok: false, error: 'rate_limited' });
    const parsed = subscribePayload.safeParse(payload);
    if (!parsed.success) return answer(ack, { ok: false, error: 'invalid' });
    socket.data.tenants.delete(parsed.data.tenant);
    await socket.leave(rooms.tenant(parsed.data.tenant));
    answer(ack, { ok: true });
  };
}
