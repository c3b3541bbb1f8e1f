// The floor: the least a relay can do — Redis SUBSCRIBE → Socket.IO room emit, no auth, no persistence, no
// metrics — in a process of its own, with the gateway's own Socket.IO options. The live benchmark drives it
// at the same load as the product; the memory benchmark uses it as the bare socket.io server.
// Run as a script (forked by `startFloor`), it serves; imported, it only exports the starter.
import { fork, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { createClient } from 'redis';
import { Server } from 'socket.io';

export type Floor = {
  pid: number;
  url: string;
  /** Heap used after two forced collections, in bytes. */
  heapUsed(): Promise<number>;
  stop(): Promise<void>;
};

type FloorMessage = { type: 'listening'; port: number } | { type: 'heap'; bytes: number };

const SCRIPT = fileURLToPath(import.meta.url);

/**
 * Forks the floor; with `channel`, it relays that Redis channel's run changes to `tenant:<slug>` rooms.
 * `nodeOptions` are extra Node flags (e.g. `--cpu-prof`).
 */
export async function startFloor(options: { redisUrl?: string; channel?: string; nodeOptions?: string[] } = {}): Promise<Floor> {
  const { nodeOptions = [], ...relay } = options;
  const child: ChildProcess = fork(SCRIPT, ['--serve', JSON.stringify(relay)], {
    execArgv: ['--import', 'tsx', '--expose-gc', ...nodeOptions],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const next = (type: FloorMessage['type']) =>
    new Promise<FloorMessage>((resolve, reject) => {
      const onMessage = (message: FloorMessage) => {
        if (message.type !== type) return;
        child.off('exit', onExit);
        child.off('message', onMessage);
        resolve(message);
      };
      const onExit = () => reject(new Error('the floor process exited'));
      child.on('message', onMessage);
      child.once('exit', onExit);
    });
  const listening = await next('listening').catch((error: Error) => {
    child.kill('SIGKILL');
    throw error;
  });
  return {
    pid: child.pid!,
    url: `http://127.0.0.1:${(listening as { port: number }).port}`,
    async heapUsed() {
      const answer = next('heap');
      child.send({ type: 'heap' });
      return ((await answer) as { bytes: number }).bytes;
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

async function serve(options: { redisUrl?: string; channel?: string }): Promise<void> {
  const httpServer = createServer();
  // The same engine options as server/live/gateway.ts, so the difference measured is the product's own work.
  const io = new Server(httpServer, {
    path: '/socket.io',
    serveClient: false,
    transports: ['websocket'],
    maxHttpBufferSize: 64 * 1024,
    perMessageDeflate: false,
    httpCompression: false,
  });
  io.on('connection', (socket) => {
    socket.on('subscribe', (payload: { tenant: string }, ack?: (answer: { ok: boolean }) => void) => {
      void socket.join(`tenant:${payload.tenant}`);
      ack?.({ ok: true });
    });
    socket.on('unsubscribe', (payload: { tenant: string }, ack?: (answer: { ok: boolean }) => void) => {
      void socket.leave(`tenant:${payload.tenant}`);
      ack?.({ ok: true });
    });
  });
  const subscriber = options.redisUrl && options.channel ? createClient({ url: options.redisUrl }) : null;
  if (subscriber && options.channel) {
    await subscriber.connect();
    await subscriber.subscribe(options.channel, (raw) => {
      const change = JSON.parse(raw) as { tenant: string; kind: string; run: unknown };
      io.to(`tenant:${change.tenant}`).emit('run:update', { tenant: change.tenant, kind: change.kind, run: change.run });
    });
  }
  await new Promise<void>((resolve) => httpServer.listen(0, '127.0.0.1', resolve));
  process.on('message', (message: { type: string }) => {
    if (message.type !== 'heap') return;
    const gc = (globalThis as { gc?: () => void }).gc;
    gc?.();
    gc?.();
    process.send?.({ type: 'heap', bytes: process.memoryUsage().heapUsed } satisfies FloorMessage);
  });
  const stop = () => {
    io.disconnectSockets(true);
    void subscriber?.close().catch(() => undefined);
    io.close(() => process.exit(0));
    setTimeout(() => process.exit(0), 2_000).unref();
  };
  process.on('SIGTERM', stop);
  process.on('disconnect', stop);
  process.send?.({ type: 'listening', port: (httpServer.address() as AddressInfo).port } satisfies FloorMessage);
}

if (process.argv[2] === '--serve' && process.argv[1] === SCRIPT) await serve(JSON.parse(process.argv[3] ?? '{}') as { redisUrl?: string; channel?: string });
