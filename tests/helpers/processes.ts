import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { createInterface } from 'node:readline';
import { ROOT } from './app.ts';
import type { TestEnv } from './stack.ts';

/** A port that was free a moment ago: listen on port 0, note the port, close. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (!address || typeof address === 'string') throw new Error('no port');
  return address.port;
}

export type ServiceProcess = {
  child: ChildProcess;
  /** Every stdout/stderr line so far (pino JSON for our entry points), for failure messages and log checks. */
  lines: string[];
  /** True while the process runs. */
  alive: () => boolean;
  /** SIGTERM, then SIGKILL if it has not exited after `graceMs`; resolves with the exit code. */
  stop: (graceMs?: number) => Promise<number | null>;
  kill: () => Promise<void>;
  /** Resolves once a line matching `pattern` was printed (also if it already was). */
  waitForLine: (pattern: RegExp, timeoutMs?: number) => Promise<string>;
};

/**
 * Spawns one of our entry points (`server/main.ts`, `worker/main.ts`) as a real process, like `npm run …`,
 * against the test's database and Redis prefix, and resolves once it printed `readyLine`.
 */
export async function spawnService(
  script: string,
  readyLine: RegExp,
  env: TestEnv,
  extraEnv: Record<string, string> = {},
  timeoutMs = 45_000,
): Promise<ServiceProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', script], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env.env, LOG_LEVEL: 'info', ...extraEnv },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  let waiters: { pattern: RegExp; resolve: (line: string) => void }[] = [];
  const onLine = (line: string) => {
    lines.push(line);
    waiters = waiters.filter((w) => (w.pattern.test(line) ? (w.resolve(line), false) : true));
  };
  // Both pipes are always drained, so a chatty child never blocks on a full pipe.
  createInterface({ input: child.stdout! }).on('line', onLine);
  createInterface({ input: child.stderr! }).on('line', onLine);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code, signal) => resolve(code ?? (signal ? -1 : null))));

  const waitForLine = (pattern: RegExp, ms = 15_000) => {
    const seen = lines.find((l) => pattern.test(l));
    if (seen) return Promise.resolve(seen);
    return new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${script}: no line ${pattern} within ${ms} ms:\n${lines.slice(-20).join('\n')}`)), ms);
      waiters.push({ pattern, resolve: (line) => (clearTimeout(timer), resolve(line)) });
      void exited.then((code) => {
        clearTimeout(timer);
        reject(new Error(`${script} exited (${code}) before printing ${pattern}:\n${lines.slice(-20).join('\n')}`));
      });
    });
  };

  const alive = () => child.exitCode === null && child.signalCode === null;
  const kill = async () => {
    if (alive()) child.kill('SIGKILL');
    await exited;
  };
  const stop = async (graceMs = 10_000) => {
    if (!alive()) return exited;
    child.kill('SIGTERM');
    const timer = setTimeout(() => alive() && child.kill('SIGKILL'), graceMs);
    try {
      return await exited;
    } finally {
      clearTimeout(timer);
    }
  };

  try {
    await waitForLine(readyLine, timeoutMs);
  } catch (error) {
    await kill();
    throw error;
  }
  return { child, lines, alive, stop, kill, waitForLine };
}

export type GatewayProcess = ServiceProcess & { port: number; baseUrl: string };

/** A real `server/main.ts` process (API + live gateway) on a free loopback port, once it says it is listening. */
export async function spawnGateway(env: TestEnv, extraEnv: Record<string, string> = {}): Promise<GatewayProcess> {
  const port = await freePort();
  const service = await spawnService('server/main.ts', /server listening/, env, { PORT: String(port), HOST: '127.0.0.1', ...extraEnv });
  return { ...service, port, baseUrl: `http://127.0.0.1:${port}` };
}

/** A real `worker/main.ts` process, once it says it started. */
export function spawnWorkerProcess(env: TestEnv, extraEnv: Record<string, string> = {}): Promise<ServiceProcess> {
  return spawnService('worker/main.ts', /worker started/, env, extraEnv);
}

/** Stops every process given (SIGTERM, then SIGKILL), whatever state each is in; never throws. */
export async function stopAll(processes: (ServiceProcess | undefined | null)[], graceMs = 10_000): Promise<void> {
  await Promise.all(processes.map((p) => p?.stop(graceMs).catch(() => p.kill().catch(() => undefined))));
}

/** One sample of a Prometheus text exposition (`name{labels} value`); 0 when the series is absent. */
export function metricValue(text: string, name: string, labels = ''): number {
  const escaped = name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const labelPart = labels ? `\\{${labels.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\}` : '(\\{[^}]*\\})?';
  const match = new RegExp(`^${escaped}${labelPart} ([0-9.eE+-]+)$`, 'm').exec(text);
  return match ? Number(match[match.length - 1]) : 0;
}
