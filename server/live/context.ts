import type { Server, Socket } from 'socket.io';
import type { Actor } from '../../db/access/actor.ts';
import type { ClientToServerEvents, ServerToClientEvents } from './events.ts';

/** Kept per socket: small on purpose (≤ a few hundred bytes) so 10k idle sockets stay cheap. */
export type SocketData = {
  actor: Actor;
  /** Tenant slugs this socket is subscribed to. */
  tenants: Set<string>;
  /** Fixed-window counter for subscribe/unsubscribe messages. */
  window: { startedAt: number; count: number };
};

export type LiveServer = Server<ClientToServerEvents, ServerToClientEvents, Record<string, never>, SocketData>;
export type LiveSocket = Socket<ClientToServerEvents, ServerToClientEvents, Record<string, never>, SocketData>;

export const SOCKET_LIMITS = {
  /** subscribe/unsubscribe messages per socket per window */
  messagesPerWindow: 30,
  windowMs: 10_000,
  tenantsPerSocket: 50,
  /** packets queued for one client before it counts as too slow and is disconnected */
  maxBufferedPackets: 1_000,
  /** open sockets per token on one gateway (tabs, devices, walls sharing a kiosk token) */
  socketsPerToken: 50,
};

/** True when this socket may send one more control message now. */
export function withinRate(socket: LiveSocket, now = Date.now()): boolean {
  const window = socket.data.window;
  if (now - window.startedAt >= SOCKET_LIMITS.windowMs) {
    window.startedAt = now;
    window.count = 0;
  }
  window.count += 1;
  return window.count <= SOCKET_LIMITS.messagesPerWindow;
}
