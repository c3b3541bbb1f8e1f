import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { freePort } from './processes.ts';

export type OwnRedis = {
  port: number;
  url: string;
  /** True while a redis-server child is running. */
  running: () => boolean;
  /** Starts redis-server on the same port (after `kill`); resolves once it accepts connections. */
  start: () => Promise<void>;
  /** SIGKILL: an abrupt loss, nothing saved (there is no persistence anyway). */
  kill: () => Promise<void>;
};

/**
 * A private, throw-away `redis-server` (no persistence) on a free loopback port, for scenarios that must
 * kill Redis under a running system without touching the machine's shared Redis.
 */
export async function startOwnRedis(): Promise<OwnRedis> {
  const port = await freePort();
  let child: ChildProcess | null = null;
  let exited: Promise<void> = Promise.resolve();

  const start = async () => {
    if (child) throw new Error('redis-server is already running');
    const proc = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'no'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child = proc;
    exited = new Promise<void>((resolve) =>
      proc.once('exit', () => {
        if (child === proc) child = null;
        resolve();
      }),
    );
    const lines: string[] = [];
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`redis-server did not start on ${port}:\n${lines.join('\n')}`)), 10_000);
      createInterface({ input: proc.stdout! }).on('line', (line) => {
        lines.push(line);
        if (/Ready to accept connections/.test(line)) {
          clearTimeout(timer);
          resolve();
        }
      });
      proc.stderr!.resume();
      void exited.then(() => {
        clearTimeout(timer);
        reject(new Error(`redis-server exited at start (port ${port}):\n${lines.join('\n')}`));
      });
    });
  };

  const kill = async () => {
    const proc = child;
    if (!proc) return;
    proc.kill('SIGKILL');
    await exited;
  };

  await start();
  return { port, url: `redis://127.0.0.1:${port}`, running: () => child !== null, start, kill };
}
