import type { Server, Socket } from 'socket.io';
import type { Actor } from '../../db/access/actor.ts';
import type { ClientToServerEvents, ServerToClientEvents } from './events.ts';

/** Kept per socket: small on purpose (≤ a few hundred bytes) so 10k idle sockets stay cheap. */
export type SocketData = {
  actor: Actor;
  /** Tenant slugs this socket is subscribed to. */
  tenants: Set<string>;
  /** Token bucket for subscribe/unsubscribe messages: what is left, and when it was last refilled. */
  allowance: { tokens: number; at: number };
};

export type LiveServer = Server<ClientToServerEvents, ServerToClientEvents, Record<string, never>, SocketData>;
export type LiveSocket = Socket<ClientToServerEvents, ServerToClientEvents, Record<string, never>, SocketData>;

export const SOCKET_LIMITS = {
  /**
   * Tenants one socket may be subscribed to: a NOC wall or the overview of a user in many tenants watches
   * them all on one socket (docs/api.md §12).
   */
  tenantsPerSocket: 250,
  /**
   * subscribe/unsubscribe messages per socket: a burst of this many (every tenant at once, after each
   * connect), then `refillPerSecond`.
   */
  messageBurst: 260,
  refillPerSecond: 5,
  /** packets queued for one client, at two checks in a row, before it counts as too slow and is disconnected */
  maxBufferedPackets: 1_000,
  /** open sockets per token on one gateway (tabs, devices, walls sharing a kiosk token) */
  socketsPerToken: 50,
};

/** A full allowance, for a new socket. */
export const freshAllowance = (now = Date.now()): SocketData['allowance'] => ({ tokens: SOCKET_LIMITS.messageBurst, at: now });

/** True when this socket may send one more control message now (and takes it from its allowance). */
export function withinRate(socket: LiveSocket, now = Date.now()): boolean {
  const allowance = socket.data.allowance;
  allowance.tokens = Math.min(SOCKET_LIMITS.messageBurst, allowance.tokens + ((now - allowance.at) / 1000) * SOCKET_LIMITS.refillPerSecond);
  allowance.at = now;
  if (allowance.tokens < 1) return false;
  allowance.tokens -= 1;
  return true;
}
