// Denial-of-service limits of one real gateway process (`server/main.ts`): request bodies, request heads
// (headers and URL), socket message size, socket control-message rate, sockets per token, and a client that
// stops reading. The limits live in server/app.ts (BODY_LIMIT, Node's 16 KB head limit) and
// server/live/context.ts (SOCKET_LIMITS) + gateway.ts (maxHttpBufferSize); the tests read them from there.
import { connect, type Socket as NetSocket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { createClient } from 'redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { channels } from '../../db/changefeed/channels.ts';
import type { RunChange } from '../../db/changefeed/messages.ts';
import { BODY_LIMIT } from '../../server/app.ts';
import { SOCKET_LIMITS } from '../../server/live/context.ts';
import { call } from '../helpers/app.ts';
import { expectError } from '../helpers/instances.ts';
import { RecordingClient, refusal } from '../helpers/live.ts';
import { metricValue, spawnGateway, stopAll, type GatewayProcess } from '../helpers/processes.ts';
import { issueSession } from '../helpers/sessions.ts';
import { createTestEnv, seedTenant, type Seeded, type TestEnv } from '../helpers/stack.ts';

const BODY_BYTES = Number.parseInt(BODY_LIMIT, 10) * 1024;
/** engine.io's maxHttpBufferSize in server/live/gateway.ts. */
const SOCKET_MESSAGE_BYTES = 64 * 1024;
/** Node's default --max-http-header-size: request line + headers. */
const HEAD_BYTES = 16 * 1024;
/** Harness-only preload (shared with the memory benchmark): SIGUSR2 forces full GCs, so /metrics shows live heap. */
const GC_PRELOAD = fileURLToPath(new URL('../bench/lib/gc-on-signal.mjs', import.meta.url));

/** Sends a literal HTTP/1.1 request head and reads the whole answer (the server closes the connection). */
async function rawRequest(port: number, head: string): Promise<{ status: number; contentType: string; body: string }> {
  const socket = connect(port, '127.0.0.1');
  const chunks: Buffer[] = [];
  socket.on('data', (chunk: Buffer) => chunks.push(chunk));
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.once('close', () => resolve());
    socket.write(head);
  });
  const text = Buffer.concat(chunks).toString('utf8');
  const [headers = '', body = ''] = text.split('\r\n\r\n');
  return {
    status: Number(/^HTTP\/1\.1 (\d{3})/.exec(headers)?.[1]),
    contentType: /^content-type: *(.*)$/im.exec(headers)?.[1] ?? '',
    body,
  };
}

/** `promise`, or a rejection naming `what` after `ms`. */
async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms)));
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

describe('denial-of-service limits of a gateway process', () => {
  let env: TestEnv;
  let acme: Seeded;
  let gateway: GatewayProcess;
  const clients: RecordingClient[] = [];

  const connectAs = async (token: string) => {
    const client = await RecordingClient.connect(gateway.baseUrl, { token });
    clients.push(client);
    return client;
  };
  const closeClients = () => {
    for (const client of clients.splice(0)) client.close();
  };
  const metrics = async () => (await call<string>(gateway.baseUrl, 'GET', '/metrics')).body;

  beforeAll(async () => {
    env = await createTestEnv();
    acme = await seedTenant(env.services, 'acme');
    gateway = await spawnGateway(env, { NODE_OPTIONS: `--expose-gc --import=${GC_PRELOAD}` });
  }, 90_000);

  afterAll(async () => {
    closeClients();
    await stopAll([gateway]);
    await env?.cleanup();
  }, 60_000);

  it(`a JSON body over ${BODY_LIMIT} is refused with 413 before authentication or any work; one just under is read`, async () => {
    const token = await issueSession(env, acme.users.operator);
    const padded = (bytes: number) => JSON.stringify({ type: 'demo.batch', scope: { key: 'x'.repeat(bytes - 60) } });
    const over = padded(BODY_BYTES + 1_024);
    expect(Buffer.byteLength(over)).toBeGreaterThan(BODY_BYTES);
    for (const [path, options] of [
      ['/api/auth/login', {}],
      ['/api/tenants/acme/runs', {}],
      ['/api/tenants/acme/runs', { token }],
      ['/api/tenants/acme/kiosk-tokens', { token }],
    ] as const) {
      expectError(await call(gateway.baseUrl, 'POST', path, { ...options, raw: over }), 413, 'payload_too_large', path);
    }
    // Just under the limit the body is parsed and judged on its content (a 200-char key is the schema's maximum).
    const under = padded(BODY_BYTES - 1_024);
    expectError(await call(gateway.baseUrl, 'POST', '/api/tenants/acme/runs', { token, raw: under }), 400, 'validation_failed', 'under the limit');
    const runs = await env.services.orm.em.fork().execute<{ n: string }[]>('select count(*) as n from operation_runs');
    expect(Number(runs[0]?.n)).toBe(0);
  });

  it('a request head over 16 KB (headers or URL) gets 431 in the contract shape; a long URL under it is routed', async () => {
    const headers = await rawRequest(gateway.port, `GET /api/me HTTP/1.1\r\nHost: x\r\nX-Padding: ${'a'.repeat(HEAD_BYTES + 1_000)}\r\n\r\n`);
    const url = await rawRequest(gateway.port, `GET /api/tenants/acme/runs?cursor=${'a'.repeat(HEAD_BYTES + 1_000)} HTTP/1.1\r\nHost: x\r\n\r\n`);
    for (const answer of [headers, url]) {
      expect(answer.status).toBe(431);
      expect(answer.contentType).toMatch(/^application\/json/);
      expect(JSON.parse(answer.body)).toEqual({ error: { code: 'headers_too_large', message: expect.any(String) } });
    }
    // 8 KB of URL is an ordinary request: authenticated and answered by the route.
    const token = await issueSession(env, acme.users.readonly);
    const long = await call(gateway.baseUrl, 'GET', `/api/tenants/acme/runs/${'a'.repeat(8_000)}`, { token });
    expectError(long, 404, 'not_found', '8 KB run id');
    expect((await call(gateway.baseUrl, 'GET', '/readyz')).status).toBe(200);
  });

  it(`a socket message over ${SOCKET_MESSAGE_BYTES / 1024} KB closes that socket only; one under it is answered`, async () => {
    const token = await issueSession(env, acme.users.operator);
    const [big, bystander] = await Promise.all([connectAs(token), connectAs(token)]);
    // Under the limit: read and refused on its content (a tenant slug is at most 64 characters).
    expect(await big.socket.timeout(10_000).emitWithAck('subscribe', { tenant: 'x'.repeat(SOCKET_MESSAGE_BYTES - 1_024) })).toEqual({ ok: false, error: 'invalid' });
    expect(big.socket.connected).toBe(true);
    const gone = big.disconnected();
    big.socket.emit('subscribe', { tenant: 'x'.repeat(SOCKET_MESSAGE_BYTES + 1_024) }, () => undefined);
    expect(await gone).toBe('transport close');
    expect(await bystander.subscribe({ tenant: 'acme' })).toEqual({ ok: true });
    closeClients();
  });

  it(`subscribe/unsubscribe: a burst of ${SOCKET_LIMITS.messageBurst} per socket, then ${SOCKET_LIMITS.refillPerSecond}/s, beyond that rate_limited; other sockets unaffected`, async () => {
    const token = await issueSession(env, acme.users.readonly);
    const [noisy, quiet] = await Promise.all([connectAs(token), connectAs(token)]);
    // Sent at once, as a wall subscribes to its tenants; far more than the refill can add meanwhile.
    const extra = 20;
    const acks = await Promise.all(
      Array.from({ length: SOCKET_LIMITS.messageBurst + extra }, (_, i) =>
        noisy.socket.timeout(10_000).emitWithAck(i % 2 ? 'unsubscribe' : 'subscribe', { tenant: 'acme' }),
      ),
    );
    expect(acks.slice(0, SOCKET_LIMITS.messageBurst).every((a) => a.ok)).toBe(true);
    expect(acks.slice(SOCKET_LIMITS.messageBurst + extra / 2).every((a) => a.ok === false && a.error === 'rate_limited')).toBe(true);
    // The socket stays connected (a rate-limited client is slowed, not dropped), and others are not limited.
    expect(noisy.socket.connected).toBe(true);
    expect(await quiet.subscribe({ tenant: 'acme' })).toEqual({ ok: true });
    closeClients();
  });

  it(`a user in many tenants subscribes to all at once on one socket, up to ${SOCKET_LIMITS.tenantsPerSocket}; one more gets invalid`, async () => {
    const count = SOCKET_LIMITS.tenantsPerSocket + 1;
    const user = await env.services.tenants.createUser({ email: 'noc@limits.test', name: 'NOC', passwordHash: 'x' });
    const slugs = Array.from({ length: count }, (_, i) => `noc-${String(i).padStart(3, '0')}`);
    for (const slug of slugs) {
      await env.services.tenants.createTenant(slug, slug);
      await env.services.tenants.addMember(slug, 'noc@limits.test', 'readonly');
    }
    const wall = await connectAs(await issueSession(env, user));
    const acks = await Promise.all(slugs.slice(0, -1).map((tenant) => wall.subscribe({ tenant })));
    expect(acks.filter((a) => a.ok)).toHaveLength(SOCKET_LIMITS.tenantsPerSocket);
    expect(await wall.subscribe({ tenant: slugs.at(-1) })).toEqual({ ok: false, error: 'invalid' });
    // Within the limit, it is still subscribed to what it has and receives it.
    await expect(wall.subscribe({ tenant: slugs[0] })).resolves.toEqual({ ok: true });
    closeClients();
  });

  it(`one token opens at most ${SOCKET_LIMITS.socketsPerToken} sockets; number ${SOCKET_LIMITS.socketsPerToken + 1} gets too_many_connections`, async () => {
    const token = await issueSession(env, acme.users.readonly);
    for (let first = 0; first < SOCKET_LIMITS.socketsPerToken; first += 10) {
      await Promise.all(Array.from({ length: 10 }, () => connectAs(token)));
    }
    expect(clients.filter((c) => c.socket.connected)).toHaveLength(SOCKET_LIMITS.socketsPerToken);
    expect(await refusal(gateway.baseUrl, { token })).toBe('too_many_connections');
    expect(metricValue(await metrics(), 'runboard_live_refused_handshakes_total', 'reason="too_many_connections"')).toBeGreaterThanOrEqual(1);
    // Per token: the same user's other session is not affected.
    const other = await issueSession(env, acme.users.readonly);
    expect(await refusal(gateway.baseUrl, { token: other })).toBe('connected');
    closeClients();
  });

  it('a client that stops reading is disconnected while a normal client keeps receiving, and its buffers are freed', async () => {
    /** Live heap of the gateway: full collections forced first, median of three readings. */
    const liveHeap = async () => {
      const readings: number[] = [];
      for (let i = 0; i < 3; i++) {
        process.kill(gateway.child.pid!, 'SIGUSR2');
        await sleep(200); // a signal has no answer to await; the collections take a few ms
        readings.push(metricValue(await metrics(), 'runboard_nodejs_heap_size_used_bytes'));
      }
      return readings.sort((a, b) => a - b)[1]!;
    };

    const token = await issueSession(env, acme.users.readonly);
    const [normal, slow] = await Promise.all([connectAs(token), connectAs(token)]);
    expect(await normal.subscribe({ tenant: 'acme' })).toEqual({ ok: true });
    expect(await slow.subscribe({ tenant: 'acme' })).toEqual({ ok: true });
    const before = await metrics();
    const socketsBefore = metricValue(before, 'runboard_live_sockets', 'kind="user"');
    const droppedBefore = metricValue(before, 'runboard_live_slow_clients_disconnected_total');
    const heapBefore = await liveHeap();

    // The slow client's TCP socket stops being read: the kernel buffers fill, then the gateway's.
    const tcp = (slow.socket.io.engine as unknown as { transport: { ws: { _socket: NetSocket } } }).transport.ws._socket;
    tcp.pause();

    // Synthetic committed changes straight onto the changefeed (~3 KB each): load without waiting on a worker.
    const publisher = createClient({ url: env.config.redisUrl });
    await publisher.connect();
    const runsChannel = channels(env.config.redisPrefix).runs;
    const pad = 'x'.repeat(3_000);
    const change = (i: number, id = `synthetic-${i}`): RunChange => ({
      tenant: 'acme',
      kind: 'progress',
      committedAt: Date.now(),
      run: {
        id,
        tenant: 'acme',
        type: 'demo.batch',
        label: 'Demo batch',
        status: 'running',
        outcome: 'pending',
        bucket: 'running',
        counts: { total: 1_000_000, processed: i, succeeded: i, failed: 0, skipped: 0 },
        failureCount: 0,
        scope: { pad },
        initiator: null,
        createdAt: new Date().toISOString(),
        startedAt: new Date().toISOString(),
        completedAt: null,
        updatedAt: new Date().toISOString(),
        version: i + 1,
        related: [],
      },
    });
    // 6 000 × 3 KB = 18 MB would sit in the gateway for the slow client without the bound.
    const MESSAGES = 6_000;
    let received = 0;
    const gotAll = new Promise<void>((resolve) => {
      normal.socket.on('run:update', ({ run }) => {
        if (run.id.startsWith('synthetic-') && ++received >= MESSAGES) resolve();
      });
    });
    try {
      for (let first = 0; first < MESSAGES; first += 200) {
        await Promise.all(Array.from({ length: 200 }, (_, k) => publisher.publish(runsChannel, JSON.stringify(change(first + k)))));
      }
      await within(gotAll, 30_000, 'the normal client to receive every synthetic update');

      // Slow clients are looked for every 250 ms.
      await expect
        .poll(async () => metricValue(await metrics(), 'runboard_live_slow_clients_disconnected_total'), { timeout: 10_000, interval: 250 })
        .toBeGreaterThan(droppedBefore);
      expect(metricValue(await metrics(), 'runboard_live_sockets', 'kind="user"')).toBe(socketsBefore - 1);

      // The normal client is still live.
      expect(normal.socket.connected).toBe(true);
      await publisher.publish(runsChannel, JSON.stringify(change(MESSAGES, 'synthetic-after')));
      await normal.until(() => normal.of('run:update').some((u) => u.run.id === 'synthetic-after'), 10_000, 'an update after the slow client was dropped');

      const heapAfter = await liveHeap();
      const growthMb = (heapAfter - heapBefore) / 2 ** 20;
      console.log(
        `[limits] slow client: ${MESSAGES} × 3 KB published; gateway live heap ${(heapBefore / 2 ** 20).toFixed(1)} MB before, ` +
          `${(heapAfter / 2 ** 20).toFixed(1)} MB after the drop (${growthMb >= 0 ? '+' : ''}${growthMb.toFixed(1)} MB)`,
      );
      // What the slow client was owed (18 MB) is not retained: the growth stays well under it.
      expect(growthMb).toBeLessThan(6);
    } finally {
      tcp.resume();
      await publisher.close();
      closeClients();
    }
  }, 90_000);
});
