// GET /api/asyncapi.json (docs/api.md §4, §13): the live channel as an AsyncAPI 3.0 document. One document,
// rather than a JSON Schema per event, because it also says who sends what, which client message is answered
// through its ack (an operation's `reply`), and how to connect. Its payload schemas are the generated wire
// schemas of server/live/events.ts; what clients send is described from the handler's own zod schema.
import { LIVE_PATH, type ClientToServerEvents, type ServerToClientEvents } from '../../live/events.ts';
import { subscribePayload } from '../../live/handlers/subscribe.ts';
import { PRODUCT_VERSION, requestSchema, wireSchemas, type JsonSchema } from './schemas.ts';
import type { LiveShape, LiveShapes } from './shapes.ts';

export type AsyncApiDocument = JsonSchema & { components: { schemas: Record<string, JsonSchema>; messages: Record<string, JsonSchema> } };

type ServerEvent = keyof ServerToClientEvents;
type ClientEvent = keyof ClientToServerEvents;
/** The shape of shapes.ts that is exactly the payload events.ts declares for `event`: a wrong name does not compile. */
type PayloadOf<E extends ServerEvent> = {
  [K in LiveShape]: [LiveShapes[K]] extends [Parameters<ServerToClientEvents[E]>[0]]
    ? [Parameters<ServerToClientEvents[E]>[0]] extends [LiveShapes[K]]
      ? K
      : never
    : never;
}[LiveShape];

type Message = { summary: string; description?: string };

/** Every event the server sends, each with its payload's shape. */
const SERVER_EVENTS: { [E in ServerEvent]: Message & { payload: PayloadOf<E> } } = {
  'run:update': {
    payload: 'RunUpdatePayload',
    summary: "A committed change of a run, to the sockets subscribed to its tenant.",
    description:
      '`kind` is `queued`, `started`, `progress` or `completed`; `run` has no `failures` (read the detail); `history` is the ' +
      'entry this change added, when it added one. Keep, per run, the copy with the highest `version`.',
  },
  'notification:new': {
    payload: 'NotificationNewPayload',
    summary: 'A new notification, to every socket of the notified user (every tab and device).',
  },
  'notification:read': {
    payload: 'NotificationReadPayload',
    summary: 'Notifications marked read (`ids` or `"all"`), to every socket of that user.',
  },
  resync: {
    payload: 'ResyncPayload',
    summary: 'Changes may have been missed: re-read what you show from the HTTP API.',
  },
};

/** Every event a client sends; each is answered through its Socket.IO acknowledgement. */
const CLIENT_EVENTS: { [E in ClientEvent]: Message } = {
  subscribe: { summary: "Join a tenant's room, after the same access check as HTTP (any member, or a kiosk token bound to that tenant)." },
  unsubscribe: { summary: "Leave a tenant's room; the acknowledgement is optional." },
};

const ACK: Message = {
  summary: 'The answer to `subscribe` and `unsubscribe`, through the Socket.IO acknowledgement.',
  description: 'Errors: `forbidden` (no access, whether or not the tenant exists), `invalid`, `rate_limited`, `unavailable`.',
};

/** `run:update` → `runUpdate`: message and operation ids. */
const idOf = (event: string) => event.replace(/[:.](\w)/g, (_, c: string) => c.toUpperCase());
const capitalized = (text: string) => `${text.charAt(0).toUpperCase()}${text.slice(1)}`;

const DESCRIPTION = `Socket.IO (WebSocket transport) on the same origin and port as the HTTP API, path \`${LIVE_PATH}\`,
default namespace (docs/api.md §4). The HTTP API is the source of truth: an event is a nudge with a small payload.

- **Handshake**: \`auth: { token }\` with a session or kiosk token, or the \`rb_session\` cookie; a browser's \`Origin\`
  must be allowed. Refusals arrive as \`connect_error\` with the message \`unauthorized\`, \`too_many_connections\` or
  \`unavailable\`.
- A socket hears nothing of a tenant until it subscribes. Re-read from the HTTP API after every reconnect and \`resync\`.
- The HTTP API is described in [/api/openapi.json](/api/openapi.json).`;

/** The schemas `roots` refer to, directly or through others. */
function reachable(roots: string[], schemas: Record<string, JsonSchema>): Record<string, JsonSchema> {
  const found = new Map<string, JsonSchema>();
  const visit = (name: string) => {
    if (found.has(name)) return;
    const schema = schemas[name];
    if (!schema) throw new Error(`AsyncAPI description: no schema ${name}`);
    found.set(name, schema);
    for (const [, ref] of JSON.stringify(schema).matchAll(/"#\/components\/schemas\/([^"]+)"/g)) visit(ref!);
  };
  roots.forEach(visit);
  return Object.fromEntries([...found].sort(([a], [b]) => a.localeCompare(b)));
}

function build(): AsyncApiDocument {
  const channel = { $ref: '#/channels/live' };
  const inChannel = (id: string) => ({ $ref: `#/channels/live/messages/${id}` });
  const payload = (name: string) => ({ $ref: `#/components/schemas/${name}` });
  const messages: Record<string, JsonSchema> = {};
  const operations: Record<string, JsonSchema> = {};
  for (const [event, { payload: shape, ...text }] of Object.entries(SERVER_EVENTS) as [ServerEvent, Message & { payload: LiveShape }][]) {
    messages[idOf(event)] = { name: event, title: event, ...text, payload: payload(shape) };
    operations[`send${capitalized(idOf(event))}`] = { action: 'send', channel, summary: text.summary, messages: [inChannel(idOf(event))] };
  }
  for (const [event, text] of Object.entries(CLIENT_EVENTS)) {
    messages[idOf(event)] = { name: event, title: event, ...text, payload: payload('SubscribePayload') };
    operations[`receive${capitalized(idOf(event))}`] = {
      action: 'receive',
      channel,
      summary: text.summary,
      messages: [inChannel(idOf(event))],
      reply: { channel, messages: [inChannel('ack')] },
    };
  }
  messages.ack = { title: 'Acknowledgement', ...ACK, payload: payload('SubscribeAck') };
  const shapes = [...Object.values(SERVER_EVENTS).map((m) => m.payload), 'SubscribeAck'];
  return {
    asyncapi: '3.0.0',
    info: { title: 'Runboard live channel', version: PRODUCT_VERSION, description: DESCRIPTION },
    defaultContentType: 'application/json',
    servers: {
      runboard: {
        host: '{host}',
        protocol: 'ws',
        pathname: LIVE_PATH,
        description: "Runboard's own origin (the dashboard's); `wss` behind HTTPS.",
        variables: { host: { default: 'localhost:3000', description: 'Host and port of Runboard.' } },
      },
    },
    channels: {
      live: {
        address: '/',
        title: 'Default namespace',
        description: 'Every event of the channel; tenants are rooms joined with `subscribe`.',
        messages: Object.fromEntries(Object.keys(messages).map((id) => [id, { $ref: `#/components/messages/${id}` }])),
      },
    },
    operations,
    components: {
      schemas: { ...reachable(shapes, wireSchemas().schemas), SubscribePayload: requestSchema(subscribePayload) },
      messages,
    },
  };
}

let cached: AsyncApiDocument | undefined;
export function asyncApiDocument(): AsyncApiDocument {
  cached ??= build();
  return cached;
}
