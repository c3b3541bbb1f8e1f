import { spawn, type ChildProcess } from 'node:child_process';
import type { AddressInfo } from 'node:net';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { createClient } from 'redis';
import { channels } from '../../db/changefeed/channels.ts';
import type { RunChange, UserEvent } from '../../db/changefeed/messages.ts';
import { createApp, type App } from '../../server/app.ts';
import { checkResponse } from './openapi.ts';
import { createTestEnv, seedTenant, TEST_PASSWORD, type Seeded, type TestEnv } from './stack.ts';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export type RunningApp = App & { baseUrl: string };

/** The real HTTP server on a free loopback port. */
export async function startApp(env: TestEnv): Promise<RunningApp> {
  const app = createApp(env.services);
  await app.ready;
  await new Promise<void>((resolve) => app.httpServer.listen(0, '127.0.0.1', resolve));
  const { port } = app.httpServer.address() as AddressInfo;
  return { ...app, baseUrl: `http://127.0.0.1:${port}` };
}

export type ApiResponse<T = any> = { status: number; body: T; headers: Headers };

/**
 * A small JSON client: `token` as bearer, `body` as JSON (or `raw` as a literal string body). Every answer is
 * checked against the API description (tests/helpers/openapi.ts): one it does not promise throws.
 */
export async function call<T = any>(
  baseUrl: string,
  method: string,
  path: string,
  options: { token?: string; body?: unknown; raw?: string; headers?: Record<string, string> } = {},
): Promise<ApiResponse<T>> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  let body: string | undefined;
  if (options.raw !== undefined) {
    body = options.raw;
    headers['content-type'] ??= 'application/json';
  } else if (options.body !== undefined) {
    body = JSON.stringify(options.body);
    headers['content-type'] = 'application/json';
  }
  const response = await fetch(`${baseUrl}${path}`, { method, headers, body, signal: AbortSignal.timeout(15_000) });
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    // not JSON (e.g. /metrics): keep the text
  }
  checkResponse(method, `${baseUrl}${path}`, response.status, parsed, response.headers);
  return { status: response.status, body: parsed as T, headers: response.headers };
}

export async function login(baseUrl: string, email: string, password = TEST_PASSWORD): Promise<string> {
  const response = await call<{ token: string }>(baseUrl, 'POST', '/api/auth/login', { body: { email, password } });
  if (response.status !== 200) throw new Error(`login ${email} failed: ${response.status} ${JSON.stringify(response.body)}`);
  return response.body.token;
}

export type WorkerProcess = { child: ChildProcess; stop: () => Promise<number | null>; kill: () => Promise<void> };

/** A real worker process (`worker/main.ts`) against the test's database and Redis prefix. */
export async function spawnWorker(env: TestEnv, extraEnv: Record<string, string> = {}): Promise<WorkerProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'worker/main.ts'], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env.env, LOG_LEVEL: 'info', ...extraEnv },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const stderr: string[] = [];
  child.stderr!.on('data', (chunk: Buffer) => stderr.push(chunk.toString()));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`worker did not start in time: ${stderr.join('')}`)), 30_000);
    const lines = createInterface({ input: child.stdout! });
    lines.on('line', (line) => {
      if (line.includes('worker started')) {
        clearTimeout(timer);
        resolve();
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`worker exited early (${code}): ${stderr.join('')}`));
    });
  });
  return {
    child,
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      return exited;
    },
    kill: async () => {
      if (child.exitCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}

/**
 * Listens to the changefeed like a gateway would, so tests await committed transitions instead of
 * sleeping or polling.
 */
export class ChangefeedRecorder {
  readonly runs: RunChange[] = [];
  readonly users: UserEvent[] = [];
  #waiters: { check: () => boolean; resolve: () => void }[] = [];

  private constructor(private readonly client: ReturnType<typeof createClient>) {}

  static async start(env: TestEnv): Promise<ChangefeedRecorder> {
    const client = createClient({ url: env.config.redisUrl });
    await client.connect();
    const recorder = new ChangefeedRecorder(client);
    const names = channels(env.config.redisPrefix);
    await client.subscribe(names.runs, (message) => recorder.push(recorder.runs, JSON.parse(message) as RunChange));
    await client.subscribe(names.users, (message) => recorder.push(recorder.users, JSON.parse(message) as UserEvent));
    return recorder;
  }

  private push<T>(list: T[], item: T): void {
    list.push(item);
    this.#waiters = this.#waiters.filter((w) => {
      if (!w.check()) return true;
      w.resolve();
      return false;
    });
  }

  forRun(runId: string): RunChange[] {
    return this.runs.filter((m) => m.run.id === runId);
  }

  /** Resolves once `predicate` holds for the recorded messages; rejects after `timeoutMs`. */
  until(predicate: () => boolean, timeoutMs = 20_000, what = 'changefeed condition'): Promise<void> {
    if (predicate()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), timeoutMs);
      this.#waiters.push({
        check: predicate,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      });
    });
  }

  completed(runId: string, timeoutMs = 20_000): Promise<RunChange> {
    return this.until(() => this.forRun(runId).some((m) => m.kind === 'completed'), timeoutMs, `run ${runId} to complete`).then(
      () => this.forRun(runId).find((m) => m.kind === 'completed')!,
    );
  }

  async close(): Promise<void> {
    await this.client.close();
  }
}

export type System = {
  env: TestEnv;
  app: RunningApp;
  feed: ChangefeedRecorder;
  worker: WorkerProcess | null;
  tenants: Record<string, Seeded>;
  stop: () => Promise<void>;
};

/**
 * The usual test system: private database and Redis prefix, seeded tenants (one user per role), the real
 * HTTP + live server, a changefeed recorder and, unless `worker: false`, one real worker process.
 */
export async function startSystem(
  options: { tenants?: string[]; worker?: boolean; env?: Record<string, string> } = {},
): Promise<System> {
  const env = await createTestEnv(options.env);
  const tenants: Record<string, Seeded> = {};
  for (const slug of options.tenants ?? ['acme']) tenants[slug] = await seedTenant(env.services, slug);
  const app = await startApp(env);
  const feed = await ChangefeedRecorder.start(env);
  const worker = options.worker === false ? null : await spawnWorker(env);
  return {
    env,
    app,
    feed,
    worker,
    tenants,
    async stop() {
      await worker?.stop();
      await feed.close();
      await app.close();
      await env.cleanup();
    },
  };
}
