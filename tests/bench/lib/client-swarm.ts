// Clients for the live benchmarks, in child processes of their own, so their CPU is visible apart from the
// gateway's (and so a 2-core machine shares it the way real clients on other machines would not).
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { newToken } from '../../../db/auth/tokens.ts';
import type { Services } from '../../../db/services.ts';

/**
 * Milliseconds on the machine's wall clock with sub-millisecond resolution, comparable across processes
 * (each process's `timeOrigin` is read from the same system clock).
 */
export const wallClock = () => performance.timeOrigin + performance.now();

export type SwarmRequest =
  | { type: 'connect'; url: string; tokens: string[]; count: number; tenant: string }
  | { type: 'poll'; url: string; tokens: string[]; tenant: string; intervalMs: number; count: number }
  | { type: 'stop-polling' | 'reset' | 'counts' | 'collect' | 'close' };

export type SwarmReply =
  | { type: 'ok' }
  | { type: 'error'; message: string }
  | { type: 'connected'; connected: number; failed: number }
  | { type: 'counts'; completed: number; deliveries: number }
  | { type: 'receipts'; receipts: [string, number[]][] };

const CHILD = fileURLToPath(new URL('./swarm-child.ts', import.meta.url));

class SwarmProcess {
  private nextId = 1;
  private readonly pending = new Map<number, (reply: SwarmReply) => void>();
  readonly ready: Promise<void>;

  constructor(readonly child: ChildProcess) {
    let started: () => void = () => undefined;
    this.ready = new Promise((resolve) => (started = resolve));
    child.on('message', (message: { id: number; reply: SwarmReply }) => {
      if (message.id === 0) return started();
      this.pending.get(message.id)?.(message.reply);
      this.pending.delete(message.id);
    });
    child.once('exit', () => {
      for (const resolve of this.pending.values()) resolve({ type: 'error', message: 'swarm process exited' });
      this.pending.clear();
    });
  }

  ask(request: SwarmRequest): Promise<SwarmReply> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, (reply) => (reply.type === 'error' ? reject(new Error(reply.message)) : resolve(reply)));
      this.child.send({ id, request });
    });
  }
}

export type Swarm = {
  pids: number[];
  size: number;
  /**
   * Connects `count` more sockets spread evenly over the processes (tokens round-robin) and subscribes each
   * to `tenant`; returns how many were refused.
   */
  connect(url: string, tokens: string[], count: number, tenant: string): Promise<number>;
  /** `count` HTTP pollers of the run list, spread over the processes. */
  poll(url: string, tokens: string[], tenant: string, intervalMs: number, count: number): Promise<void>;
  stopPolling(): Promise<void>;
  reset(): Promise<void>;
  counts(): Promise<{ completed: number; deliveries: number }>;
  /** Every receipt since the last reset: `runId:version` → receipt wall-clock times. */
  collect(): Promise<Map<string, number[]>>;
  close(): Promise<void>;
};

/** Starts `processes` swarm processes (socket.io-client in each), ready for commands. */
export async function startSwarm(processes: number): Promise<Swarm> {
  const members = Array.from(
    { length: processes },
    () =>
      new SwarmProcess(
        fork(CHILD, [], {
          execArgv: ['--import', 'tsx', '--max-old-space-size=4096'],
          serialization: 'advanced',
          stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
        }),
      ),
  );
  const all = <T>(fn: (member: SwarmProcess, index: number) => Promise<T>) => Promise.all(members.map(fn));
  const share = (count: number, index: number) => Math.floor(count / processes) + (index < count % processes ? 1 : 0);
  let size = 0;
  try {
    await Promise.all(members.map((m) => m.ready));
  } catch (error) {
    for (const m of members) m.child.kill('SIGKILL');
    throw error;
  }
  return {
    pids: members.map((m) => m.child.pid!),
    get size() {
      return size;
    },
    async connect(url, tokens, count, tenant) {
      // One token per socket, round-robin over every socket this swarm has, so no token exceeds its share.
      let assigned = size;
      const replies = await all((m, i) => {
        const mine = Array.from({ length: share(count, i) }, () => tokens[assigned++ % Math.max(1, tokens.length)]!).filter(Boolean);
        return m.ask({ type: 'connect', url, tokens: mine, count: share(count, i), tenant });
      });
      const failed = replies.reduce((sum, r) => sum + (r.type === 'connected' ? r.failed : 0), 0);
      size += count - failed;
      return failed;
    },
    async poll(url, tokens, tenant, intervalMs, count) {
      await all((m, i) => m.ask({ type: 'poll', url, tokens, tenant, intervalMs, count: share(count, i) }));
    },
    async stopPolling() {
      await all((m) => m.ask({ type: 'stop-polling' }));
    },
    async reset() {
      await all((m) => m.ask({ type: 'reset' }));
    },
    async counts() {
      const replies = await all((m) => m.ask({ type: 'counts' }));
      return replies.reduce(
        (sum, r) => (r.type === 'counts' ? { completed: sum.completed + r.completed, deliveries: sum.deliveries + r.deliveries } : sum),
        { completed: 0, deliveries: 0 },
      );
    },
    async collect() {
      const merged = new Map<string, number[]>();
      for (const reply of await all((m) => m.ask({ type: 'collect' }))) {
        if (reply.type !== 'receipts') continue;
        for (const [key, times] of reply.receipts) {
          const into = merged.get(key);
          if (into) into.push(...times);
          else merged.set(key, times);
        }
      }
      return merged;
    },
    async close() {
      await Promise.all(
        members.map(async (m) => {
          if (m.child.exitCode !== null || m.child.signalCode !== null) return;
          const exited = new Promise((resolve) => m.child.once('exit', resolve));
          await m.ask({ type: 'close' }).catch(() => undefined);
          m.child.disconnect();
          const timer = setTimeout(() => m.child.kill('SIGKILL'), 5_000);
          await exited;
          clearTimeout(timer);
        }),
      );
    },
  };
}

/**
 * Session tokens for the swarm, as `POST /api/auth/login` issues them but without the deliberately slow
 * password hash per session (a gateway admits at most 50 sockets per token, so 10k sockets need 200).
 */
export async function mintSessions(services: Services, userIds: string[], count: number): Promise<string[]> {
  const tokens: string[] = [];
  const em = services.orm.em.fork();
  for (let i = 0; i < count; i++) {
    const { token, hash } = newToken('user');
    await em.execute(`insert into auth_tokens (token_hash, kind, user_id, expires_at) values (?, 'user', ?, now() + interval '1 day')`, [
      hash,
      userIds[i % userIds.length],
    ]);
    tokens.push(token);
  }
  return tokens;
}
