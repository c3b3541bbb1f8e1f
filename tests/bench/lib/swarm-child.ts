// One process of the client swarm (see client-swarm.ts): many socket.io-client sockets, or HTTP pollers, that
// stamp what they receive with the machine's wall clock. Driven over IPC by the bench process.
import { io, type Socket } from 'socket.io-client';
import type { RunUpdatePayload } from '../../../server/live/events.ts';
import { wallClock, type SwarmReply, type SwarmRequest } from './client-swarm.ts';

type Receipts = Map<string, number[]>;

const sockets: Socket[] = [];
/** `runId:version` → receipt times (one per socket that received it). */
let receipts: Receipts = new Map();
let completedReceipts = 0;
let deliveries = 0;
const pollers: { stop: () => void }[] = [];

function record(key: string, completed: boolean): void {
  const at = wallClock();
  deliveries += 1;
  if (completed) completedReceipts += 1;
  const times = receipts.get(key);
  if (times) times.push(at);
  else receipts.set(key, [at]);
}

function connectOne(url: string, token: string | undefined): Promise<Socket | null> {
  const socket = io(url, {
    path: '/socket.io',
    transports: ['websocket'],
    auth: token ? { token } : {},
    reconnection: false,
    forceNew: true,
    timeout: 30_000,
  });
  socket.on('run:update', (payload: RunUpdatePayload) => record(`${payload.run.id}:${payload.run.version}`, payload.kind === 'completed'));
  return new Promise((resolve) => {
    socket.once('connect', () => resolve(socket));
    socket.once('connect_error', () => {
      socket.close();
      resolve(null);
    });
  });
}

/** Connects and subscribes `count` more sockets; a socket whose handshake or subscribe is refused counts as failed. */
async function connect(url: string, tokens: string[], count: number, tenant: string): Promise<SwarmReply> {
  let failed = 0;
  // Small waves: thousands of simultaneous handshakes would only measure the accept queue.
  for (let first = 0; first < count; first += 50) {
    const wave = await Promise.all(
      Array.from({ length: Math.min(50, count - first) }, async (_, k) => {
        const socket = await connectOne(url, tokens[first + k]);
        const answer = await socket
          ?.timeout(30_000)
          .emitWithAck('subscribe', { tenant })
          .catch(() => ({ ok: false }));
        if (socket && answer?.ok) return socket;
        socket?.close();
        return null;
      }),
    );
    for (const socket of wave) if (socket) sockets.push(socket);
    else failed += 1;
  }
  return { type: 'connected', connected: sockets.length, failed };
}

/**
 * A dashboard polling the list API: every `intervalMs` (first poll at a random phase) it reads the newest
 * runs. A change is shown once the page shows that version or a newer one (versions go up by one per
 * change), so seeing version V of a run for the first time records every version up to V at that moment.
 */
function startPoller(url: string, token: string, tenant: string, intervalMs: number): { stop: () => void } {
  const seen = new Map<string, number>();
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  const poll = async () => {
    if (stopped) return;
    const started = wallClock();
    try {
      const response = await fetch(`${url}/api/tenants/${tenant}/runs?limit=50`, { headers: { authorization: `Bearer ${token}` } });
      const body = (await response.json()) as { runs?: { id: string; version: number; status: string }[] };
      for (const run of body.runs ?? []) {
        const shown = seen.get(run.id) ?? 0;
        if (shown >= run.version) continue;
        seen.set(run.id, run.version);
        for (let version = shown + 1; version <= run.version; version++) record(`${run.id}:${version}`, version === run.version && run.status === 'completed');
      }
    } catch {
      // a failed poll is a missed observation, nothing more
    }
    if (!stopped) timer = setTimeout(() => void poll(), Math.max(0, intervalMs - (wallClock() - started)));
  };
  timer = setTimeout(() => void poll(), Math.random() * intervalMs);
  return {
    stop: () => {
      stopped = true;
      clearTimeout(timer);
    },
  };
}

async function handle(request: SwarmRequest): Promise<SwarmReply> {
  switch (request.type) {
    case 'connect':
      return connect(request.url, request.tokens, request.count, request.tenant);
    case 'poll':
      for (let i = 0; i < request.count; i++) pollers.push(startPoller(request.url, request.tokens[i % request.tokens.length]!, request.tenant, request.intervalMs));
      return { type: 'ok' };
    case 'stop-polling':
      for (const poller of pollers.splice(0)) poller.stop();
      return { type: 'ok' };
    case 'reset':
      receipts = new Map();
      completedReceipts = 0;
      deliveries = 0;
      return { type: 'ok' };
    case 'counts':
      return { type: 'counts', completed: completedReceipts, deliveries };
    case 'collect':
      return { type: 'receipts', receipts: [...receipts] };
    case 'close':
      for (const poller of pollers.splice(0)) poller.stop();
      for (const socket of sockets.splice(0)) socket.close();
      return { type: 'ok' };
  }
}

process.on('message', (message: { id: number; request: SwarmRequest }) => {
  void handle(message.request).then(
    (reply) => process.send?.({ id: message.id, reply }),
    (error: Error) => process.send?.({ id: message.id, reply: { type: 'error', message: error.message } }),
  );
});
// The bench process went away: nothing else would end this one.
process.on('disconnect', () => process.exit(0));
process.send?.({ id: 0, reply: { type: 'ok' } });
