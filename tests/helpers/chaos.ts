// Shared by the chaos scenarios (tests/chaos/): a live client that keeps a board view the way the dashboard
// does, the HTTP truth to hold it against, a fleet of real processes checked for crashes and fatal logs, and
// a TCP front door that fails over like a load balancer.
import { createConnection, createServer, type Server, type Socket as TcpSocket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { io } from 'socket.io-client';
import { RunsStore } from '../../dashboard/src/lib/runs-store.ts';
import type { RunUpdatePayload } from '../../server/live/events.ts';
import { call } from './app.ts';
import type { LiveClient } from './live.ts';
import type { ServiceProcess } from './processes.ts';

export type LiveRun = RunUpdatePayload['run'];
type Truth = Map<string, LiveRun>;

/** The HTTP truth of a tenant's runs, as the board reads it (the list carries no failures list). */
export async function readRuns(baseUrl: string, token: string, tenant = 'acme'): Promise<Truth> {
  const response = await call(baseUrl, 'GET', `/api/tenants/${tenant}/runs?limit=500`, { token });
  if (response.status !== 200) throw new Error(`GET runs → ${response.status} ${JSON.stringify(response.body)}`);
  return new Map((response.body.runs as (LiveRun & { failures?: unknown })[]).map(({ failures: _f, ...run }) => [run.id, run]));
}

/** Re-reads are retried this often while the API does not answer (a gateway is going away, say). */
const REREAD_RETRY_MS = 200;

/**
 * One client of the live channel holding a board view like the dashboard's (dashboard/src/lib/live.svelte.ts
 * and board.svelte.ts): the dashboard's own RunsStore keeps the highest version per run; after every
 * (re)connect it subscribes and re-reads over HTTP, and on every `resync` it re-reads.
 */
export class BoardClient {
  readonly store = new RunsStore({ types: [], buckets: [], range: '30d' }, 500);
  /** Every `run:update` received, in order, with when it arrived. */
  readonly updates: (RunUpdatePayload & { at: number })[] = [];
  /** Per update: receipt time − the run's `updatedAt` (commit), i.e. how far behind the live push arrived. */
  readonly lags: number[] = [];
  resyncs = 0;
  /** When each `resync` arrived. */
  readonly resyncTimes: number[] = [];
  /** When the socket last (re)connected, and when the re-read after it (or after a resync) finished. */
  connectedAt: number | null = null;
  syncedAt: number | null = null;
  #readSeq = 0;
  #reading: Promise<void> = Promise.resolve();
  #waiters: { check: () => boolean; resolve: () => void }[] = [];

  private constructor(
    readonly socket: LiveClient,
    readonly baseUrl: string,
    readonly token: string,
    readonly tenant: string,
  ) {
    socket.on('connect', () => void this.#onConnect());
    socket.on('disconnect', () => this.#wake());
    socket.on('resync', () => {
      this.resyncs += 1;
      this.resyncTimes.push(Date.now());
      this.reread();
    });
    socket.on('run:update', (payload) => {
      if (payload.tenant !== tenant) return;
      const at = Date.now();
      this.updates.push({ ...payload, at });
      this.lags.push(at - Date.parse(payload.run.updatedAt));
      this.store.apply(payload.run, Date.now());
      this.#wake();
    });
  }

  /**
   * Connects (WebSocket only, like the dashboard) and resolves once subscribed and synced. With `reconnect`,
   * Socket.IO's manager reconnects after a lost connection, quickly, and the client re-syncs each time.
   */
  static async open(baseUrl: string, token: string, options: { tenant?: string; reconnect?: boolean } = {}): Promise<BoardClient> {
    const socket: LiveClient = io(baseUrl, {
      path: '/socket.io',
      transports: ['websocket'],
      auth: { token },
      reconnection: options.reconnect ?? false,
      reconnectionDelay: 250,
      reconnectionDelayMax: 2_000,
      timeout: 10_000,
      forceNew: true,
    });
    const client = new BoardClient(socket, baseUrl, token, options.tenant ?? 'acme');
    await client.until(() => client.syncedAt !== null, 20_000, `${baseUrl}: first sync`);
    return client;
  }

  /** The view: run id → the run as this client shows it. */
  runs(): Truth {
    return new Map(this.store.rows.map((run) => [run.id, run]));
  }

  /** Re-reads the list and merges it (pushes that arrive meanwhile are kept); a newer re-read wins. */
  reread(): Promise<void> {
    const seq = ++this.#readSeq;
    const mark = this.store.mark();
    this.#reading = (async () => {
      for (;;) {
        try {
          const response = await call(this.baseUrl, 'GET', `/api/tenants/${this.tenant}/runs?limit=500`, { token: this.token });
          if (response.status !== 200) throw new Error(`GET runs → ${response.status}`);
          if (seq !== this.#readSeq) return;
          this.store.replace(response.body, mark, Date.now());
          this.syncedAt = Date.now();
          this.#wake();
          return;
        } catch {
          if (seq !== this.#readSeq) return;
          await sleep(REREAD_RETRY_MS);
        }
      }
    })();
    return this.#reading;
  }

  /** Resolves once the latest re-read has finished. */
  settled(): Promise<void> {
    return this.#reading;
  }

  /** The terminal (`completed`) updates received per run id. */
  terminalUpdates(): Map<string, number> {
    const counts = new Map<string, number>();
    for (const { kind, run } of this.updates) if (kind === 'completed') counts.set(run.id, (counts.get(run.id) ?? 0) + 1);
    return counts;
  }

  until(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
    if (check()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), timeoutMs);
      this.#waiters.push({ check, resolve: () => (clearTimeout(timer), resolve()) });
    });
  }

  close(): void {
    this.#readSeq += 1;
    this.socket.close();
  }

  async #onConnect(): Promise<void> {
    this.connectedAt = Date.now();
    // A subscription the server could not check (database unreachable) is asked again, as the dashboard does.
    for (;;) {
      const ack = await this.socket.timeout(10_000).emitWithAck('subscribe', { tenant: this.tenant }).catch(() => null);
      if (ack?.ok) break;
      if (!this.socket.connected || ack?.error === 'forbidden' || ack?.error === 'invalid') return;
      await sleep(REREAD_RETRY_MS);
    }
    await this.reread();
  }

  #wake(): void {
    this.#waiters = this.#waiters.filter((w) => (w.check() ? (w.resolve(), false) : true));
  }
}

/** Opens `count` board clients in small waves (so many handshakes do not all hit a 2-core box at once). */
export async function openBoards(
  count: number,
  target: (i: number) => { baseUrl: string; token: string },
  into: BoardClient[],
  options: { reconnect?: boolean } = {},
): Promise<BoardClient[]> {
  const made: BoardClient[] = [];
  for (let first = 0; first < count; first += 25) {
    const wave = await Promise.all(
      Array.from({ length: Math.min(25, count - first) }, (_, k) => {
        const { baseUrl, token } = target(first + k);
        return BoardClient.open(baseUrl, token, options).then((client) => (into.push(client), client));
      }),
    );
    made.push(...wave);
  }
  return made;
}

/**
 * How long this machine takes, right now, to serve every client one full re-read at once — the work a resync
 * asks of it. Recovery bounds add it (twice) to the promised figure, so they hold on a loaded machine without
 * being loose on a quiet one; the measured figures are printed either way.
 */
export async function rereadWave(clients: BoardClient[]): Promise<number> {
  const started = Date.now();
  await Promise.all(clients.map((client) => client.reread()));
  return Date.now() - started;
}

/** Like `rereadWave`, for a reconnect: every client drops its socket and reconnects (handshake, subscribe, re-read). */
export async function reconnectWave(clients: BoardClient[]): Promise<number> {
  const started = Date.now();
  for (const client of clients) client.socket.disconnect().connect();
  await Promise.all(clients.map((client) => client.until(() => (client.syncedAt ?? 0) > started, 30_000, 'a re-sync after reconnecting')));
  return Date.now() - started;
}

/**
 * Why a view is not the truth, for views taken while runs still move: each run's version must lie between the
 * truth read just before and the truth read just after the view was looked at, over the same set of runs.
 */
export function inconsistencies(view: Truth, before: Truth, after: Truth): string[] {
  const problems: string[] = [];
  for (const [id, truth] of after) {
    const seen = view.get(id)?.version ?? 0;
    // A run created after `before` was read may not have reached the view yet.
    const low = before.get(id)?.version ?? 0;
    if (seen < low || seen > truth.version) problems.push(`${id}: view v${seen}, truth v${low}..v${truth.version}`);
  }
  for (const id of view.keys()) if (!after.has(id)) problems.push(`${id}: not in the truth`);
  return problems;
}

/** True when the view is exactly the truth (same runs, same payloads). */
export function viewEquals(view: Truth, truth: Truth): boolean {
  return view.size === truth.size && [...truth].every(([id, run]) => JSON.stringify(view.get(id)) === JSON.stringify(run));
}

/**
 * Watches `clients` until each, once `eligible`, holds a view consistent with the HTTP truth, or the deadline
 * passes. Runs keep moving meanwhile, so a view taken at time `at` is held against lower and upper bounds:
 * the truth as it was `lagMs` before (a live push takes a moment to arrive) and the `baseline` (a truth read
 * before the clients re-synchronised: a re-read shows at least that), and the truth read after the view was
 * taken (no run further along than committed). Returns when each converged (the moment its view was taken)
 * and, for those that did not, what was still wrong.
 */
export async function awaitConvergence(
  clients: BoardClient[],
  readTruth: () => Promise<Truth>,
  options: { deadline: number; eligible?: (client: BoardClient) => boolean; lagMs?: number; baseline?: Truth },
): Promise<{ convergedAt: Map<BoardClient, number>; problems: Map<BoardClient, string[]> }> {
  const eligible = options.eligible ?? (() => true);
  const lagMs = options.lagMs ?? 0;
  const convergedAt = new Map<BoardClient, number>();
  const problems = new Map<BoardClient, string[]>();
  const pending = new Set(clients);
  /** Truth reads, each with the moment it had certainly been read by. */
  const history: { readBy: number; truth: Truth }[] = [];
  const read = async () => {
    const truth = await readTruth().catch(() => null);
    if (truth) history.push({ readBy: Date.now(), truth });
    return truth;
  };
  while (pending.size > 0 && Date.now() < options.deadline) {
    const ready = [...pending].filter(eligible);
    const at = Date.now();
    const views = ready.map((client) => ({ client, runs: client.runs() }));
    const after = ready.length > 0 ? await read() : null;
    const lows = [history.findLast((h) => h.readBy <= at - lagMs)?.truth, options.baseline].filter((t): t is Truth => t !== undefined);
    if (after && lows.length > 0) {
      for (const { client, runs } of views) {
        const wrong = lows.flatMap((low) => inconsistencies(runs, low, after));
        if (wrong.length === 0) {
          pending.delete(client);
          problems.delete(client);
          convergedAt.set(client, at);
        } else {
          problems.set(client, wrong);
        }
      }
    }
    if (pending.size > 0) await sleep(50);
  }
  for (const client of pending) if (!problems.has(client)) problems.set(client, ['never eligible (not reconnected or not synced)']);
  return { convergedAt, problems };
}

/** Reads (e.g. the HTTP truth) until `done(value)` or `ms` pass; returns the last value read. */
export async function settle<T>(read: () => Promise<T>, done: (value: T) => boolean, ms: number): Promise<T> {
  const deadline = Date.now() + ms;
  let last: { value: T } | null = null;
  let failure: unknown = new Error('nothing read');
  for (;;) {
    try {
      last = { value: await read() };
      if (done(last.value)) return last.value;
    } catch (error) {
      failure = error;
    }
    if (Date.now() >= deadline) break;
    await sleep(200);
  }
  if (last) return last.value;
  throw failure;
}

export const percentile = (values: number[], p: number): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
};

/** A fatal pino line, or Node reporting an unhandled rejection or uncaught exception. */
const FATAL_LINE = /"level":60|unhandled ?rejection|uncaught ?exception|triggerUncaughtException/i;

/**
 * The processes of one scenario, started so that a failed start still leaves the others to stop, and
 * checked at the end: none crashed (except those killed on purpose) and none logged a fatal line.
 */
export class Fleet {
  readonly #members: { label: string; process: ServiceProcess; killed: boolean }[] = [];

  /** Starts all given processes; if one fails, those that started are kept (for `stop`) and it throws. */
  async start<const T extends readonly Promise<ServiceProcess>[]>(labels: string[], starts: T): Promise<{ -readonly [K in keyof T]: Awaited<T[K]> }> {
    const settled = await Promise.allSettled(starts);
    settled.forEach((s, i) => {
      if (s.status === 'fulfilled') this.#members.push({ label: labels[i] ?? `process ${i}`, process: s.value, killed: false });
    });
    const failed = settled.find((s) => s.status === 'rejected');
    if (failed) throw (failed as PromiseRejectedResult).reason;
    return settled.map((s) => (s as PromiseFulfilledResult<ServiceProcess>).value) as { -readonly [K in keyof T]: Awaited<T[K]> };
  }

  /** SIGKILL on purpose: this one is expected dead, and is not reported as a crash. */
  async kill(process: ServiceProcess): Promise<void> {
    const member = this.#members.find((m) => m.process === process);
    if (member) member.killed = true;
    await process.kill();
  }

  /** Processes that died unasked, and fatal or unhandled-error lines in any process's output. */
  problems(): string[] {
    const found: string[] = [];
    for (const { label, process, killed } of this.#members) {
      if (!killed && !process.alive()) found.push(`${label} exited (${process.child.exitCode ?? process.child.signalCode}): ${process.lines.slice(-5).join(' | ')}`);
      for (const line of process.lines) if (FATAL_LINE.test(line)) found.push(`${label}: ${line.slice(0, 300)}`);
    }
    return found;
  }

  /** Every output line of the process with this label (for counting log events). */
  lines(label: string): string[] {
    return this.#members.filter((m) => m.label === label).flatMap((m) => m.process.lines);
  }

  async stop(): Promise<void> {
    await Promise.all(this.#members.map(({ process }) => process.stop(10_000).catch(() => process.kill().catch(() => undefined))));
  }
}

/**
 * What clients of a load-balanced install see: one address. Each new TCP connection goes to the first backend
 * that accepts it — a dead backend refuses connections, so clients that reconnect land on the next one, the
 * way a balancer with health checks routes them. Connections are spliced byte for byte (WebSocket included).
 */
export class FailoverProxy {
  readonly #sockets = new Set<TcpSocket>();
  /** Index of the backend tried first; it moves on once a backend refused. */
  #current = 0;
  /** Connections accepted while held, routed on `release()`. */
  #held: TcpSocket[] | null = null;

  private constructor(
    private readonly server: Server,
    readonly port: number,
    private readonly backends: number[],
  ) {
    server.on('connection', (client) => (this.#held ? this.#held.push(client) : this.#route(client, this.#current)));
  }

  static async start(backendPorts: number[]): Promise<FailoverProxy> {
    const server = createServer({ pauseOnConnect: true });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    if (!address || typeof address === 'string') throw new Error('proxy: no port');
    return new FailoverProxy(server, address.port, backendPorts);
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** The port of the backend new connections go to now. */
  get backend(): number | undefined {
    return this.backends[this.#current];
  }

  /** New connections wait (accepted, not routed), like clients of a balancer that has not yet noticed a dead node. */
  hold(): void {
    this.#held ??= [];
  }

  /** Routes the connections that waited, and new ones, again. */
  release(): void {
    const held = this.#held ?? [];
    this.#held = null;
    for (const client of held) this.#route(client, this.#current);
  }

  #route(client: TcpSocket, first: number): void {
    let upstream: TcpSocket | null = null;
    this.#sockets.add(client);
    const close = () => {
      client.destroy();
      upstream?.destroy();
      this.#sockets.delete(client);
      if (upstream) this.#sockets.delete(upstream);
    };
    client.on('error', close);
    client.on('close', close);
    const attempt = (index: number) => {
      const port = this.backends[index];
      if (port === undefined || client.destroyed) return close();
      const next = createConnection({ host: '127.0.0.1', port });
      upstream = next;
      this.#sockets.add(next);
      let connected = false;
      next.once('connect', () => {
        connected = true;
        client.pipe(next).pipe(client);
        client.resume();
      });
      next.on('error', () => {
        if (connected) return close();
        // Refused: this backend is gone; this and later connections go to the next one.
        this.#sockets.delete(next);
        if (this.#current === index) this.#current = index + 1;
        attempt(index + 1);
      });
      next.on('close', () => connected && close());
    };
    attempt(first);
  }

  async close(): Promise<void> {
    for (const socket of [...this.#sockets, ...(this.#held ?? [])]) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
