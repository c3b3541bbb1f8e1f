import type { Channels } from '../../db/changefeed/channels.ts';
import type { ControlMessage, RunChange, UserEvent } from '../../db/changefeed/messages.ts';
import type { Logger } from '../../db/logger.ts';
import type { RedisClient } from '../../db/redis.ts';
import type { Metrics } from '../metrics.ts';
import type { LiveServer } from './context.ts';
import { rooms } from './rooms.ts';

export type Relay = { close(): Promise<void> };

/**
 * Each gateway node subscribes once to the changefeed and emits to its own local rooms, so any number of
 * nodes behave alike with no Socket.IO adapter. A broadcast is encoded once per message, not per socket.
 * When the subscription comes back after a Redis outage, `onRestored` runs (re-validate, then `resync`).
 */
export async function startRelay(options: {
  io: LiveServer;
  subscriber: RedisClient;
  channels: Channels;
  metrics: Metrics;
  logger: Logger;
  onControl: (message: ControlMessage) => void;
  onRestored: () => void;
}): Promise<Relay> {
  const { io, subscriber, channels, metrics, logger } = options;
  let everReady = false;
  let lost = false;
  subscriber.on('error', () => {
    lost = true;
  });
  subscriber.on('ready', () => {
    if (everReady && lost) {
      lost = false;
      metrics.live.subscriberReconnects.inc();
      logger.info('changefeed subscription restored; asking clients to resync');
      options.onRestored();
    }
    everReady = true;
  });

  const roomSize = (room: string) => io.sockets.adapter.rooms.get(room)?.size ?? 0;

  await subscriber.connect();
  await subscriber.subscribe(channels.runs, (raw) => {
    const change = parse<RunChange>(raw);
    if (!change) return;
    const room = rooms.tenant(change.tenant);
    io.to(room).emit('run:update', { tenant: change.tenant, kind: change.kind, run: change.run, ...(change.history ? { history: change.history } : {}) });
    metrics.live.deliveries.inc({ event: 'run:update' }, roomSize(room));
    metrics.live.relayLag.observe(Math.max(0, Date.now() - change.committedAt) / 1000);
  });
  await subscriber.subscribe(channels.users, (raw) => {
    const event = parse<UserEvent>(raw);
    if (!event) return;
    const room = rooms.user(event.userId);
    if (event.type === 'notification:new') {
      io.to(room).emit('notification:new', { notification: event.notification, unreadCount: event.unreadCount });
    } else {
      io.to(room).emit('notification:read', { ids: event.ids, unreadCount: event.unreadCount });
    }
    metrics.live.deliveries.inc({ event: event.type }, roomSize(room));
  });
  await subscriber.subscribe(channels.control, (raw) => {
    const message = parse<ControlMessage>(raw);
    if (message) options.onControl(message);
  });
  everReady = true;

  return {
    async close() {
      await subscriber.close().catch(() => undefined);
    },
  };
}

function parse<T>(raw: string): T | null {
  try {
    return JSON.parse(raw) as T;
  } catch {
    return null;
  }
}
