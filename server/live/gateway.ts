import type { IncomingMessage, Server as HttpServer } from 'node:http';
import { parse as parseCookies } from 'cookie';
import { Server } from 'socket.io';
import type { ControlMessage } from '../../db/changefeed/messages.ts';
import type { Services } from '../../db/services.ts';
import { SESSION_COOKIE } from '../http/auth.ts';
import type { Metrics } from '../metrics.ts';
import { freshAllowance, SOCKET_LIMITS, type LiveServer, type LiveSocket } from './context.ts';
import { LIVE_PATH } from './events.ts';
import { socketHandlers } from './handlers/index.ts';
import { startRelay, type Relay } from './relay.ts';
import { rooms } from './rooms.ts';

export type Gateway = { io: LiveServer; ready: Promise<void>; close(): Promise<void> };

/** Sockets are re-checked this often: revoked or expired tokens, removed memberships, slow clients. */
export const REVALIDATE_MS = 2_000;
const SLOW_CLIENT_CHECK_MS = 250;
/** Resync requests arriving within this window of the first are answered by one `resync`. */
export const RESYNC_COALESCE_MS = 300;

/** Browsers send Origin; it must be allowed (own origin by default). Non-browser clients send none. */
export function originAllowed(req: IncomingMessage, allowedOrigins: string[]): boolean {
  const origin = req.headers.origin;
  if (!origin) return true;
  if (allowedOrigins.length > 0) return allowedOrigins.includes(origin);
  try {
    return new URL(origin).host === req.headers.host;
  } catch {
    return false;
  }
}

function handshakeToken(socket: LiveSocket): string | null {
  const auth = socket.handshake.auth as Record<string, unknown> | undefined;
  if (typeof auth?.token === 'string' && auth.token.length <= 200) return auth.token;
  const cookie = socket.handshake.headers.cookie;
  if (!cookie || cookie.length > 8_192) return null;
  const value = parseCookies(cookie)[SESSION_COOKIE];
  return typeof value === 'string' && value.length <= 200 ? value : null;
}

/**
 * The live channel (docs/api.md §4) on the API's own HTTP server: handshake authentication, tenant rooms
 * behind the access policy, and the Redis relay. HTTP handlers never emit here; they publish.
 */
export function attachGateway(httpServer: HttpServer, services: Services, metrics: Metrics): Gateway {
  const { config, logger, auth } = services;
  const io: LiveServer = new Server(httpServer, {
    path: LIVE_PATH,
    serveClient: false,
    // WebSocket only: no sticky sessions needed behind a load balancer. Long-polling is opt-in.
    transports: config.livePolling ? ['polling', 'websocket'] : ['websocket'],
    maxHttpBufferSize: 64 * 1024,
    perMessageDeflate: false,
    httpCompression: false,
    connectTimeout: 10_000,
    allowRequest: (req, callback) => {
      const ok = originAllowed(req, config.allowedOrigins);
      if (!ok) metrics.live.refusedHandshakes.inc({ reason: 'origin' });
      callback(ok ? null : 'origin not allowed', ok);
    },
  });

  io.use(async (socket, next) => {
    const token = handshakeToken(socket);
    try {
      const actor = token ? await auth.authenticate(token) : null;
      // Integration tokens report runs over HTTP; they have no live access.
      if (!actor || actor.kind === 'integration') {
        metrics.live.refusedHandshakes.inc({ reason: 'unauthorized' });
        return next(new Error('unauthorized'));
      }
      // A leaked or looping client cannot open sockets without bound on one token.
      if ((io.sockets.adapter.rooms.get(rooms.token(actor.tokenId))?.size ?? 0) >= SOCKET_LIMITS.socketsPerToken) {
        metrics.live.refusedHandshakes.inc({ reason: 'too_many_connections' });
        return next(new Error('too_many_connections'));
      }
      socket.data = { actor, tenants: new Set(), allowance: freshAllowance() };
      next();
    } catch {
      metrics.live.refusedHandshakes.inc({ reason: 'unavailable' });
      next(new Error('unavailable'));
    }
  });

  io.on('connection', (socket) => {
    const { actor } = socket.data;
    void socket.join(rooms.token(actor.tokenId));
    if (actor.kind === 'user') void socket.join(rooms.user(actor.user.id));
    metrics.live.sockets.inc({ kind: actor.kind });
    for (const event of Object.keys(socketHandlers) as (keyof typeof socketHandlers)[]) {
      socket.on(event, socketHandlers[event](socket, auth));
    }
    socket.on('disconnect', () => {
      metrics.live.sockets.dec({ kind: actor.kind });
    });
  });

  // After a Redis restart every process whose link comes back asks for a resync, within moments of each other.
  // One `resync` per burst, sent after the burst's first request (so after every request it covers), spares
  // every client all but one full re-read at the moment the gateway is busiest.
  let resyncTimer: NodeJS.Timeout | undefined;
  const resync = () => {
    resyncTimer ??= setTimeout(() => {
      resyncTimer = undefined;
      io.emit('resync', {});
    }, RESYNC_COALESCE_MS);
  };

  const onControl = (message: ControlMessage) => {
    if (message.type === 'resync') resync();
    if (message.type === 'token:revoked') io.in(rooms.token(message.tokenId)).disconnectSockets(true);
    if (message.type === 'membership:removed') {
      for (const socket of io.of('/').sockets.values()) {
        if (socket.data.actor?.kind === 'user' && socket.data.actor.user.id === message.userId) leave(socket, message.tenant);
      }
    }
  };

  // Slow clients are looked for often (cheap: a walk over local sockets), so a burst cannot pile up much. A
  // client is dropped when it is over the limit at two checks in a row: one that stalls for a moment (a long
  // render of a wall taking thousands of updates a second, a collection) and reads again is left alone.
  let overLimit = new WeakSet<LiveSocket>();
  const dropSlowClients = () => {
    let subscriptions = 0;
    const over = new WeakSet<LiveSocket>();
    for (const socket of io.of('/').sockets.values()) {
      if (bufferedPackets(socket) <= SOCKET_LIMITS.maxBufferedPackets) {
        subscriptions += socket.data.tenants.size;
      } else if (overLimit.has(socket)) {
        metrics.live.slowClientsDropped.inc();
        drop(socket);
      } else {
        over.add(socket);
        subscriptions += socket.data.tenants.size;
      }
    }
    overLimit = over;
    metrics.live.subscriptions.set(subscriptions);
  };
  const slowTimer = setInterval(dropSlowClients, SLOW_CLIENT_CHECK_MS);

  const revalidate = async () => {
    const sockets = [...io.of('/').sockets.values()];
    if (sockets.length === 0) return;
    const valid = await auth.stillValid([...new Set(sockets.map((s) => s.data.actor.tokenId))]);
    const members = await auth.memberSlugs([
      ...new Set(sockets.flatMap((s) => (s.data.actor.kind === 'user' && s.data.tenants.size > 0 ? [s.data.actor.user.id] : []))),
    ]);
    for (const socket of sockets) {
      const { actor, tenants } = socket.data;
      if (!valid.has(actor.tokenId)) {
        socket.disconnect(true);
        continue;
      }
      if (actor.kind !== 'user') continue;
      for (const tenant of tenants) if (!members.get(actor.user.id)?.has(tenant)) leave(socket, tenant);
    }
  };

  let revalidating = false;
  const tick = () => {
    if (revalidating) return;
    revalidating = true;
    revalidate()
      .catch((error: Error) => logger.warn({ err: error.message }, 'live revalidation failed'))
      .finally(() => {
        revalidating = false;
      });
  };
  const timer = setInterval(tick, REVALIDATE_MS);

  const subscriber = services.redis.duplicate();
  const relay: Promise<Relay> = startRelay({
    io,
    subscriber,
    channels: services.changefeed.channels,
    metrics,
    logger,
    onControl,
    onRestored: () => {
      // Control messages may have been missed too: re-check before telling clients to re-read.
      tick();
      resync();
    },
  });

  return {
    io,
    ready: relay.then(() => undefined),
    async close() {
      clearInterval(timer);
      clearInterval(slowTimer);
      clearTimeout(resyncTimer);
      await relay.then((r) => r.close()).catch(() => subscriber.close().catch(() => undefined));
      io.disconnectSockets(true);
      await new Promise<void>((resolve) => {
        io.close(() => resolve());
      });
    },
  };
}

/** Packets engine.io holds for a client that is not reading (its write buffer is not in the public types). */
function bufferedPackets(socket: LiveSocket): number {
  return (socket.conn as unknown as { writeBuffer?: unknown[] }).writeBuffer?.length ?? 0;
}

/**
 * Disconnects a client that does not read, discarding what is queued for it: a plain disconnect would wait
 * for the buffer to drain (never, for this client) and hold the connection until the heartbeat gives up.
 */
function drop(socket: LiveSocket): void {
  socket.disconnect(true);
  socket.conn.close(true);
  (socket.conn as unknown as { transport?: { socket?: { terminate?: () => void } } }).transport?.socket?.terminate?.();
}

function leave(socket: LiveSocket, tenant: string): void {
  socket.data.tenants.delete(tenant);
  void socket.leave(rooms.tenant(tenant));
}
