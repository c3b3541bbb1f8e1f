import type { AuthService } from '../../../db/auth/service.ts';
import type { LiveSocket } from '../context.ts';
import type { ClientToServerEvents } from '../events.ts';
import { onSubscribe } from './subscribe.ts';
import { onUnsubscribe } from './unsubscribe.ts';

type Handler = (payload: unknown, ack: unknown) => Promise<void>;

/**
 * Every client → server event and its handler, registered on each socket by the gateway. One list, so the
 * access-matrix test covers exactly what is served, and an event added to events.ts without a handler
 * does not compile.
 */
export const socketHandlers: { [E in keyof ClientToServerEvents]: (socket: LiveSocket, auth: AuthService) => Handler } = {
  subscribe: (socket, auth) => onSubscribe(socket, auth),
  unsubscribe: (socket) => onUnsubscribe(socket),
};
