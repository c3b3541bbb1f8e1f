// Many live clients in child processes, so that hundreds of sockets decoding every run:update do not compete
// with the test process (which drives the load and checks the results). Each client behaves like the
// dashboard (docs/api.md §4): it reconnects when its socket drops, subscribes again and re-reads the runs over
// HTTP, so a completion it missed while away is recovered — and counted apart from what was pushed. The same
// file is the child's entry point: the parent forks it and talks to it over IPC.
import { fork, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { io } from 'socket.io-client';
import type { LiveClient } from './live.ts';

const SELF = fileURLToPath(import.meta.url);

/** Where one client connects, and with which token (the gateway allows ≤ 50 sockets per token). */
export type WatcherTarget = { baseUrl: string; token: string };

/** One run's completion as the clients got it: the version/outcome the first one saw, and by how many clients. */
export type SeenRun = { runId: string; version: number; outcome: string; pushedTo: number; recoveredBy: number };

export type WatchersReport = {
  clients: number;
  runs: SeenRun[];
  /** (client, run) pairs where the client has the completion neither pushed nor re-read (first 20). */
  missed: string[];
  /** Completions a client never had pushed although its socket never dropped: must not happen. */
  missedWhileConnected: number;
  /** A client that had a run's completion pushed twice. */
  duplicates: number;
  /** A client that got a completion with another version or outcome than the first client did (first 20). */
  disagreements: string[];
  /** queued/started/progress updates that arrived after the same client already had the completion pushed. */
  lateUpdates: number;
  /** Every run:update received, all kinds. */
  updates: number;
  /** Why sockets dropped (socket.io's reason: `ping timeout`, `transport close`, …) and how often. */
  disconnects: Record<string, number>;
  /** The longest event-loop stall of a child, in ms: a long one means it was starved of CPU (or overloaded). */
  maxLoopDelayMs: number;
  rssBytes: number[];
};

type Progress = { completions: number; updates: number; disconnects: number; pending: number; round: number };
type ChildReport = Omit<WatchersReport, 'rssBytes' | 'runs'> & { runs: [string, number, string, number, number][]; rssBytes: number };

type ParentMessage =
  | { type: 'connect'; targets: WatcherTarget[]; tenant: string }
  | { type: 'expect'; runIds: string[]; round: number }
  | { type: 'report' };
type ChildMessage =
  | { type: 'connected' }
  | { type: 'failed'; message: string }
  | ({ type: 'progress' } & Progress)
  | ({ type: 'report' } & ChildReport);

/** One child process holding some of the clients. */
class WatcherChild {
  progress: Progress = { completions: 0, updates: 0, disconnects: 0, pending: 0, round: 0 };
  readonly exited: Promise<void>;
  #onProgress: () => void = () => undefined;
  #reports: ((report: ChildReport) => void)[] = [];

  constructor(readonly child: ChildProcess) {
    this.exited = new Promise((done) => child.once('exit', () => done()));
    child.on('message', (message: ChildMessage) => {
      if (message.type === 'progress') {
        this.progress = message;
        this.#onProgress();
      }
      if (message.type === 'report') this.#reports.shift()?.(message);
    });
  }

  onProgress(listener: () => void): void {
    this.#onProgress = listener;
  }

  send(message: ParentMessage): void {
    this.child.send(message);
  }

  connect(targets: WatcherTarget[], tenant: string, timeoutMs: number): Promise<void> {
    return new Promise<void>((done, reject) => {
      const timer = setTimeout(() => reject(new Error(`watchers: ${targets.length} clients not connected within ${timeoutMs} ms`)), timeoutMs);
      this.child.on('message', (message: ChildMessage) => {
        if (message.type !== 'connected' && message.type !== 'failed') return;
        clearTimeout(timer);
        if (message.type === 'connected') done();
        else reject(new Error(`watchers: ${message.message}`));
      });
      void this.exited.then(() => (clearTimeout(timer), reject(new Error('watchers exited before connecting'))));
      this.send({ type: 'connect', targets, tenant });
    });
  }

  report(): Promise<ChildReport> {
    return new Promise((done) => {
      this.#reports.push(done);
      this.send({ type: 'report' });
    });
  }
}

/** Live clients subscribed to one tenant, spread over `processes` child processes. */
export class Watchers {
  #round = 0;
  #waiter: (() => void) | null = null;

  private constructor(private readonly children: WatcherChild[]) {
    for (const child of children) child.onProgress(() => this.#waiter?.());
  }

  /** Forks the children, connects every client (in waves) and subscribes it; resolves once all acked `ok`. */
  static async start(targets: WatcherTarget[], tenant: string, options: { processes?: number; timeoutMs?: number } = {}): Promise<Watchers> {
    const count = options.processes ?? 2;
    const children = Array.from({ length: count }, () => new WatcherChild(fork(SELF, [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })));
    const watchers = new Watchers(children);
    try {
      await Promise.all(children.map((c, k) => c.connect(targets.filter((_, i) => i % count === k), tenant, options.timeoutMs ?? 60_000)));
    } catch (error) {
      await watchers.close();
      throw error;
    }
    return watchers;
  }

  get pids(): number[] {
    return this.children.map((c) => c.child.pid!);
  }

  /** Completions received so far (pushed or re-read), over all clients: it stops moving once they have caught up. */
  get completions(): number {
    return this.children.reduce((n, c) => n + c.progress.completions, 0);
  }

  /**
   * Resolves true once every client has each of `runIds` completed (pushed or re-read; ids named before
   * count too), or false after `timeoutMs`: the report then says who missed what.
   */
  allSeen(runIds: string[], timeoutMs: number): Promise<boolean> {
    const round = ++this.#round;
    const done = () => this.children.every((c) => c.progress.round === round && c.progress.pending === 0);
    return new Promise((resolveSeen) => {
      const timer = setTimeout(() => {
        this.#waiter = null;
        resolveSeen(false);
      }, timeoutMs);
      this.#waiter = () => {
        if (!done()) return;
        clearTimeout(timer);
        this.#waiter = null;
        resolveSeen(true);
      };
      for (const child of this.children) child.send({ type: 'expect', runIds, round });
    });
  }

  /** Every child's figures, merged: per run, how many clients had it pushed and how many re-read it. */
  async report(): Promise<WatchersReport> {
    const parts = await Promise.all(this.children.map((c) => c.report()));
    const runs = new Map<string, SeenRun>();
    const disagreements = parts.flatMap((p) => p.disagreements);
    for (const part of parts) {
      for (const [runId, version, outcome, pushedTo, recoveredBy] of part.runs) {
        const seen = runs.get(runId);
        if (!seen) runs.set(runId, { runId, version, outcome, pushedTo, recoveredBy });
        else {
          if (seen.version !== version || seen.outcome !== outcome) disagreements.push(`${runId}: v${version}/${outcome} in one child, v${seen.version}/${seen.outcome} in another`);
          seen.pushedTo += pushedTo;
          seen.recoveredBy += recoveredBy;
        }
      }
    }
    const disconnects: Record<string, number> = {};
    for (const part of parts) for (const [reason, n] of Object.entries(part.disconnects)) disconnects[reason] = (disconnects[reason] ?? 0) + n;
    const sum = (pick: (p: ChildReport) => number) => parts.reduce((n, p) => n + pick(p), 0);
    return {
      clients: sum((p) => p.clients),
      runs: [...runs.values()],
      missed: parts.flatMap((p, k) => p.missed.map((m) => `process ${k}: ${m}`)).slice(0, 20),
      missedWhileConnected: sum((p) => p.missedWhileConnected),
      duplicates: sum((p) => p.duplicates),
      disagreements: disagreements.slice(0, 20),
      lateUpdates: sum((p) => p.lateUpdates),
      updates: sum((p) => p.updates),
      disconnects,
      maxLoopDelayMs: Math.max(...parts.map((p) => p.maxLoopDelayMs)),
      rssBytes: parts.map((p) => p.rssBytes),
    };
  }

  async close(): Promise<void> {
    await Promise.all(
      this.children.map((c) => {
        if (c.child.exitCode === null && c.child.signalCode === null) c.child.kill('SIGTERM');
        return c.exited;
      }),
    );
  }
}

/** Resident set size of a process on this machine (Linux /proc), in bytes. */
export function rssOf(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = /^VmRSS:\s+(\d+) kB/m.exec(status)?.[1];
  return kb ? Number(kb) * 1024 : NaN;
}

/** How a client has a run's completion. */
const PUSHED = 1;
const RECOVERED = 2;

/** The child: connects the clients, counts what they receive, answers `expect` and `report`. */
function runChild(): void {
  const send = (message: ChildMessage) => process.send?.(message);
  process.on('disconnect', () => process.exit(0));
  process.on('SIGTERM', () => process.exit(0));

  let clients = 0;
  let tenant = '';
  const runs = new Map<string, { version: number; outcome: string; seen: Uint8Array; pushedTo: number; recoveredBy: number }>();
  const figures: Progress = { completions: 0, updates: 0, disconnects: 0, pending: 0, round: 0 };
  const expected = new Set<string>();
  const disconnected: boolean[] = [];
  const disconnects: Record<string, number> = {};
  const disagreements: string[] = [];
  let duplicates = 0;
  let lateUpdates = 0;
  let dirty = false;
  const loopDelay = monitorEventLoopDelay({ resolution: 20 });
  loopDelay.enable();

  const completed = (client: number, run: { id: string; version: number; outcome: string }, how: typeof PUSHED | typeof RECOVERED) => {
    let entry = runs.get(run.id);
    if (!entry) {
      entry = { version: run.version, outcome: run.outcome, seen: new Uint8Array(clients), pushedTo: 0, recoveredBy: 0 };
      runs.set(run.id, entry);
    }
    if (entry.seen[client]) {
      if (how === PUSHED && entry.seen[client] === PUSHED) duplicates += 1;
      return;
    }
    if ((entry.version !== run.version || entry.outcome !== run.outcome) && disagreements.length < 20) {
      disagreements.push(`client #${client} got ${run.id} v${run.version}/${run.outcome}, another v${entry.version}/${entry.outcome}`);
    }
    entry.seen[client] = how;
    if (how === PUSHED) entry.pushedTo += 1;
    else entry.recoveredBy += 1;
    figures.completions += 1;
    dirty = true;
    if (entry.pushedTo + entry.recoveredBy === clients && expected.has(run.id)) figures.pending -= 1;
  };

  const onUpdate = (client: number, kind: string, run: { id: string; version: number; outcome: string }) => {
    figures.updates += 1;
    dirty = true;
    if (kind === 'completed') completed(client, run, PUSHED);
    else if (runs.get(run.id)?.seen[client] === PUSHED) lateUpdates += 1;
  };

  /** What the dashboard does after a reconnect: re-read the runs over HTTP (every page of the default window). */
  const reread = async (client: number, target: WatcherTarget) => {
    let cursor: string | null = null;
    do {
      const query = `limit=500${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
      const response = await fetch(`${target.baseUrl}/api/tenants/${tenant}/runs?${query}`, { headers: { authorization: `Bearer ${target.token}` } });
      if (!response.ok) throw new Error(`re-read → ${response.status}`);
      const page = (await response.json()) as { runs: { id: string; status: string; version: number; outcome: string }[]; nextCursor: string | null };
      for (const run of page.runs) if (run.status === 'completed') completed(client, run, RECOVERED);
      cursor = page.nextCursor;
    } while (cursor);
  };

  const subscribe = (socket: LiveClient) =>
    socket
      .timeout(20_000)
      .emitWithAck('subscribe', { tenant })
      .then((ack) => {
        if (!ack.ok) throw new Error(`subscribe ${ack.error}`);
      });

  const connect = (target: WatcherTarget, index: number) =>
    new Promise<LiveClient>((done, reject) => {
      const socket: LiveClient = io(target.baseUrl, {
        path: '/socket.io',
        transports: ['websocket'],
        auth: { token: target.token },
        reconnection: true,
        reconnectionDelay: 500,
        reconnectionDelayMax: 5_000,
        timeout: 20_000,
        forceNew: true,
      });
      socket.on('run:update', ({ kind, run }) => onUpdate(index, kind, run));
      socket.once('connect_error', (error) => reject(new Error(`client #${index}: ${error.message}`)));
      socket.once('connect', () => {
        subscribe(socket).then(() => done(socket), (error: Error) => reject(new Error(`client #${index}: ${error.message}`)));
        socket.on('disconnect', (reason) => {
          disconnected[index] = true;
          figures.disconnects += 1;
          disconnects[reason] = (disconnects[reason] ?? 0) + 1;
          dirty = true;
        });
        // Back again: subscribe first, then re-read, so nothing falls between the two.
        socket.io.on('reconnect', () => {
          subscribe(socket)
            .then(() => reread(index, target))
            .catch((error: Error) => process.stderr.write(`watchers: client #${index} could not resync: ${error.message}\n`));
        });
      });
    });

  process.on('message', (message: ParentMessage) => {
    if (message.type === 'connect') {
      clients = message.targets.length;
      tenant = message.tenant;
      void (async () => {
        // Waves of 40, so hundreds of handshakes do not all land on a 2-core box at once.
        for (let first = 0; first < clients; first += 40) {
          await Promise.all(message.targets.slice(first, first + 40).map((target, k) => connect(target, first + k)));
        }
      })().then(
        () => send({ type: 'connected' }),
        (error: Error) => send({ type: 'failed', message: error.message }),
      );
      setInterval(() => {
        if (!dirty) return;
        dirty = false;
        send({ type: 'progress', ...figures });
      }, 200).unref();
    }
    if (message.type === 'expect') {
      for (const id of message.runIds) {
        if (expected.has(id)) continue;
        expected.add(id);
        const entry = runs.get(id);
        if (!entry || entry.pushedTo + entry.recoveredBy < clients) figures.pending += 1;
      }
      figures.round = message.round;
      // Answered at once, so a parent waiting on nothing new does not wait for the next update.
      send({ type: 'progress', ...figures });
    }
    if (message.type === 'report') {
      const missed: string[] = [];
      let missedWhileConnected = 0;
      for (const [runId, entry] of runs) {
        for (let i = 0; i < clients; i++) {
          if (!entry.seen[i] && missed.length < 20) missed.push(`client #${i} missed ${runId}`);
          if (entry.seen[i] !== PUSHED && !disconnected[i]) missedWhileConnected += 1;
        }
      }
      send({
        type: 'report',
        clients,
        runs: [...runs].map(([runId, e]) => [runId, e.version, e.outcome, e.pushedTo, e.recoveredBy]),
        missed,
        missedWhileConnected,
        duplicates,
        disagreements,
        lateUpdates,
        updates: figures.updates,
        disconnects,
        maxLoopDelayMs: Math.round(loopDelay.max / 1e6),
        rssBytes: rssOf(process.pid),
      });
    }
  });
}

if (process.argv[1] && resolve(process.argv[1]) === SELF) runChild();
