// `npm start` / `npm run demo` (docs/api.md §8): the whole product on one machine. PostgreSQL (DATABASE_URL or
// the embedded one), Redis (REDIS_URL, or a redis-server we start), then the server and, once it is ready,
// a worker — the same two entry points that scale out. `--demo` adds demo tenants and a stream of demo runs.
// The embedded PostgreSQL and a private Redis are defaults only for an UNSET variable: a store the operator
// named must answer, since a node running on private stores would be cut off from the rest of its installation.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, readdir, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { createClient, ErrorReply } from 'redis';
import { redactUrl } from '../db/bootstrap.ts';
import { childEnvironment, ConfigError, loadConfig, type Config } from '../db/config.ts';
import { startEmbeddedPostgres, type EmbeddedPostgres } from '../db/embedded.ts';
import { localCredentialsKey } from '../db/sources/local-key.ts';
import { TimeoutError, withTimeout } from '../db/timeout.ts';
import { DEMO_PASSWORD, DEMO_RUNNER, DEMO_USERS, demoPolicyWork, demoStream, seedDemo } from './demo.ts';
import { startDemoReceiver } from './demo-receiver.ts';

const ROOT = path.resolve(import.meta.dirname, '..');
const DEMO = process.argv.includes('--demo');
/** How long server and worker get to shut down after the signal before they are killed. */
const CHILD_STOP_MS = 15_000;
const READY_TIMEOUT_MS = 120_000;
/** How long a store named in DATABASE_URL / REDIS_URL may take to answer (it may be starting with us). */
const STORE_WAIT_MS = 30_000;
/** Bound of one connection attempt, DNS included. */
const PROBE_TIMEOUT_MS = 3_000;

const say = (line: string) => process.stdout.write(`[runboard] ${line}\n`);
const complain = (line: string) => process.stderr.write(`[runboard] ${line}\n`);

class StartError extends Error {}

// ── what this process started, so that it can stop it ──────────────────────────────────────────────────
const children = new Map<string, ChildProcess>();
let redisServer: ChildProcess | undefined;
let embedded: EmbeddedPostgres | undefined;
let embeddedStarting: Promise<EmbeddedPostgres> | undefined;
let stopping = false;
const demoStop = new AbortController();

async function main(): Promise<void> {
  let config: Config;
  try {
    config = loadConfig();
  } catch (error) {
    throw new StartError(error instanceof ConfigError ? error.message : String(error));
  }

  // Before the dashboard build: a named store that is down is reported without spending time first.
  await awaitNamedStores(config);
  if (stopping) return;

  await ensureDashboardBuilt();
  if (stopping) return;

  let databaseUrl = config.databaseUrl;
  if (databaseUrl) {
    say(`PostgreSQL: ${redactUrl(databaseUrl)}`);
  } else {
    embeddedStarting = startEmbeddedPostgres(config, say);
    embedded = await embeddedStarting.catch((error: Error) => {
      throw new StartError(error.message);
    });
    databaseUrl = embedded.url;
    say(`PostgreSQL: embedded, ${embedded.dataDir} on port ${embedded.port}`);
  }
  if (stopping) return;

  let redisUrl = config.redisUrl;
  if (config.redisUrlSet) {
    say(`Redis: ${redactUrl(redisUrl)} (prefix "${config.redisPrefix}")`);
  } else {
    redisUrl = await defaultRedis(config);
  }
  if (stopping) return;

  const port = config.port === 0 ? await freePort() : config.port;
  if (!(await portIsFree(port, config.host))) {
    throw new StartError(`Port ${port} is already in use. Set PORT to a free port.`);
  }
  // Policy-source credentials are encrypted with a key from configuration; a one-machine install keeps its own.
  const credentialsKey = !config.sourceCredentialsKey && embedded ? await localCredentialsKey(config.dataDir) : undefined;
  if (!config.sourceCredentialsKey && !embedded) {
    say('SOURCE_CREDENTIALS_KEY is not set: graph policy sources cannot store credentials until it is (the same on every node).');
  }
  const env: NodeJS.ProcessEnv = {
    ...childEnvironment(() => false),
    DATABASE_URL: databaseUrl,
    REDIS_URL: redisUrl,
    PORT: String(port),
    ...(credentialsKey ? { SOURCE_CREDENTIALS_KEY: credentialsKey } : {}),
    // The demo's webhook receiver listens on loopback, which the address rule refuses unless allowed.
    ...(DEMO ? { RUNBOARD_DEMO_OPERATIONS: 'true', ALLOW_PRIVATE_TARGETS: 'true' } : {}),
  };

  startChild('server', 'server/main.ts', env);
  const baseUrl = `http://${loopback(config.host)}:${port}`;
  await waitUntilReady(baseUrl);
  if (stopping) return;
  startChild('worker', 'worker/main.ts', env);

  const url = `http://localhost:${port}`;
  if (!DEMO) {
    box([
      `Runboard is running: ${url}`,
      '',
      'Create a tenant and users with the admin CLI, e.g.:',
      '  npm run admin -- tenant:create acme "Acme Corp"',
      '  npm run admin -- help',
      '',
      'Stop: Ctrl-C',
    ]);
    return;
  }
  const key = config.sourceCredentialsKey ?? (credentialsKey ? Buffer.from(credentialsKey, 'base64') : undefined);
  const receiver = key && env.ALLOW_PRIVATE_TARGETS === 'true' ? await startDemoReceiver(say) : null;
  const seeded = await seedDemo(
    { ...config, databaseUrl, redisUrl, sourceCredentialsKey: key, allowPrivateTargets: env.ALLOW_PRIVATE_TARGETS === 'true' },
    receiver ? { webhookUrl: receiver.url } : {},
  );
  if (seeded.webhookSecret) receiver?.useSecret(seeded.webhookSecret);
  if (stopping) return;
  const width = Math.max(...DEMO_USERS.map((u) => u.email.length));
  box([
    `Runboard demo is running: ${url}`,
    '',
    `Sign in with any of these users, password "${DEMO_PASSWORD}":`,
    ...DEMO_USERS.map((u) => `  ${u.email.padEnd(width)}  ${u.name.padEnd(15)} ${u.role} of ${u.tenant}`),
    '',
    `A demo run starts every few seconds as ${DEMO_RUNNER}; acme and globex have simulated policy`,
    'sources, synced at once (Inventory, Drift, Backups pages), that move on now and then.',
    ...(receiver
      ? [`acme's failed runs are sent to a local webhook receiver, ${receiver.url},`, 'which prints each delivery here ("webhook run.completed: …").']
      : []),
    `Both tenants on one screen: ${url}/overview (as noc@example.test), and a NOC wall of both`,
    `for a big screen, no login: ${url}/wall?kiosk=${seeded.wallToken}`,
    'Admin CLI: npm run admin -- help      Stop: Ctrl-C',
  ]);
  void demoStream(baseUrl, demoStop.signal, { say, complain });
  void demoPolicyWork(baseUrl, demoStop.signal, { say, complain });
}

// ── PostgreSQL and Redis ────────────────────────────────────────────────────────────────────────────────

/** One connection attempt. `answered`: the store is there and refused (a wrong password), so waiting is futile. */
type Probe = { ok: true } | { ok: false; answered: boolean; reason: string };

/** PostgreSQL's answers (SQLSTATE) an operator most often meets, in words. */
const SQLSTATE_WORDS: Record<string, string> = {
  '28P01': 'wrong password',
  '28000': 'not allowed to connect',
  '3D000': 'database does not exist',
};

/** A short, secret-free reason: an error code (ECONNREFUSED, WRONGPASS, 28P01…) rather than the error's text. */
function reasonOf(error: unknown): string {
  const code = (error as { code?: unknown })?.code;
  if (typeof code === 'string' && /^[A-Z0-9_]{2,40}$/.test(code)) return SQLSTATE_WORDS[code] ? `${code}: ${SQLSTATE_WORDS[code]}` : code;
  if (error instanceof ErrorReply) return /^[A-Z]{2,40}\b/.exec(error.message)?.[0] ?? 'error reply';
  if (error instanceof TimeoutError || /timeout/i.test((error as Error)?.message ?? '')) return 'timeout';
  return 'connection failed';
}

async function probeRedis(url: string): Promise<Probe> {
  const client = createClient({ url, socket: { connectTimeout: 2_000, reconnectStrategy: false } });
  client.on('error', () => undefined);
  try {
    await withTimeout(client.connect(), PROBE_TIMEOUT_MS, 'connecting to Redis');
    const pong = await withTimeout(client.ping(), PROBE_TIMEOUT_MS, 'PING');
    return pong === 'PONG' ? { ok: true } : { ok: false, answered: true, reason: 'no PONG' };
  } catch (error) {
    // An error reply (WRONGPASS, NOAUTH…) will not change by waiting; LOADING (reading its dump) will.
    const reason = reasonOf(error);
    return { ok: false, answered: error instanceof ErrorReply && reason !== 'LOADING', reason };
  } finally {
    try {
      client.destroy();
    } catch {
      // already closed
    }
  }
}

async function probePostgres(url: string): Promise<Probe> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2_000, query_timeout: 2_000 });
  client.on('error', () => undefined);
  try {
    await withTimeout(client.connect(), PROBE_TIMEOUT_MS, 'connecting to PostgreSQL');
    await withTimeout(client.query('select 1'), PROBE_TIMEOUT_MS, 'select 1');
    return { ok: true };
  } catch (error) {
    // A DatabaseError is PostgreSQL's own answer; 57P03 ("starting up") is the one worth waiting for.
    return { ok: false, answered: error instanceof pg.DatabaseError && error.code !== '57P03', reason: reasonOf(error) };
  } finally {
    await withTimeout(client.end(), 1_000).catch(() => undefined);
  }
}

/**
 * Waits (both at once, STORE_WAIT_MS at most) for the stores named in DATABASE_URL and REDIS_URL; an unset
 * variable is skipped (its default comes later). Each one that never answers gets its own line, then we stop.
 */
async function awaitNamedStores(config: Config): Promise<void> {
  const waits = [
    config.databaseUrl &&
      awaitStore('DATABASE_URL', config.databaseUrl, probePostgres, 'the embedded PostgreSQL runs only when DATABASE_URL is unset'),
    config.redisUrlSet && awaitStore('REDIS_URL', config.redisUrl, probeRedis, 'a private redis-server runs only when REDIS_URL is unset'),
  ];
  const failures = (await Promise.allSettled(waits)).flatMap((r) => (r.status === 'rejected' ? [r.reason as Error] : []));
  for (const failure of failures.slice(0, -1)) complain(failure.message);
  if (failures.length > 0) throw failures.at(-1);
}

async function awaitStore(
  variable: 'DATABASE_URL' | 'REDIS_URL',
  url: string,
  probe: (url: string) => Promise<Probe>,
  defaultNote: string,
): Promise<void> {
  const named = `${variable}=${redactUrl(url)}`;
  const deadline = Date.now() + STORE_WAIT_MS;
  let waiting = false;
  for (;;) {
    const result = await probe(url);
    if (result.ok || stopping) return;
    if (result.answered) throw new StartError(`${named} answers but refuses the connection (${result.reason}). Fix ${variable}.`);
    if (Date.now() >= deadline) {
      throw new StartError(`${named} does not answer (${result.reason}) within ${STORE_WAIT_MS / 1000} s. Start it or fix ${variable}; ${defaultNote}.`);
    }
    if (!waiting) say(`${named} does not answer (${result.reason}); waiting up to ${STORE_WAIT_MS / 1000} s for it…`);
    waiting = true;
    await sleep(1_000);
  }
}

/** REDIS_URL unset: a Redis answering at the default address, else a private redis-server (no persistence). */
async function defaultRedis(config: Config): Promise<string> {
  if ((await probeRedis(config.redisUrl)).ok) {
    say(`Redis: ${redactUrl(config.redisUrl)} (prefix "${config.redisPrefix}")`);
    return config.redisUrl;
  }
  const port = await freePort();
  const dir = path.resolve(config.dataDir, 'redis');
  await mkdir(dir, { recursive: true });
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir],
    // Its own process group: a terminal Ctrl-C reaches only us, and we stop Redis after server and worker.
    { detached: true, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const output: string[] = [];
  const keep = (chunk: Buffer) => output.push(...chunk.toString('utf8').split('\n').filter(Boolean).slice(-5));
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const failed = new Promise<string>((resolve) => {
    child.once('error', (error: NodeJS.ErrnoException) =>
      resolve(error.code === 'ENOENT' ? 'no redis-server' : `redis-server could not start: ${error.message}`),
    );
    child.once('exit', (code) => resolve(`redis-server exited (${code ?? 'signal'}): ${output.at(-1) ?? 'no output'}`));
  });
  let failure: string | undefined;
  void failed.then((reason) => (failure = reason));
  redisServer = child;
  const url = `redis://127.0.0.1:${port}`;
  const deadline = Date.now() + 10_000;
  while (!failure && Date.now() < deadline) {
    if ((await probeRedis(url)).ok) break;
    await sleep(100);
  }
  if (failure === 'no redis-server' || (!failure && Date.now() >= deadline)) {
    redisServer = undefined;
    child.kill('SIGKILL');
    throw new StartError(
      failure === 'no redis-server'
        ? `REDIS_URL is unset, no Redis answers at ${redactUrl(config.redisUrl)} and no redis-server is installed. Install Redis (e.g. "apt install redis-server" or "brew install redis"), or set REDIS_URL.`
        : `redis-server did not answer on port ${port} within 10 s.`,
    );
  }
  if (failure) {
    redisServer = undefined;
    throw new StartError(failure);
  }
  // Output is no longer interesting once it runs; an exit from now on stops everything.
  child.stdout?.removeListener('data', keep).resume();
  child.stderr?.removeListener('data', keep).resume();
  child.once('exit', (code, signal) => unexpectedExit('redis-server', code, signal));
  say(`Redis: REDIS_URL is unset and none answers at ${redactUrl(config.redisUrl)}; started redis-server on port ${port} (data in ${dir})`);
  return url;
}

// ── dashboard ───────────────────────────────────────────────────────────────────────────────────────────

const DASHBOARD = path.join(ROOT, 'dashboard');
const DASHBOARD_HANDLER = path.join(DASHBOARD, 'build', 'handler.js');

async function mtimeOf(file: string): Promise<number | null> {
  try {
    return (await stat(file)).mtimeMs;
  } catch {
    return null;
  }
}

/** The newest change among the dashboard's sources and what its build depends on. */
async function newestDashboardSource(): Promise<number> {
  const files = [path.join(DASHBOARD, 'vite.config.ts'), path.join(ROOT, 'package.json'), path.join(ROOT, 'package-lock.json')];
  for (const dir of ['src', 'static']) {
    const entries = await readdir(path.join(DASHBOARD, dir), { recursive: true, withFileTypes: true }).catch(() => []);
    for (const entry of entries) if (entry.isFile()) files.push(path.join(entry.parentPath, entry.name));
  }
  const times = await Promise.all(files.map(mtimeOf));
  return Math.max(0, ...times.map((t) => t ?? 0));
}

/** Builds the dashboard (npm run build) when it was never built or its sources changed since. */
async function ensureDashboardBuilt(): Promise<void> {
  const built = await mtimeOf(DASHBOARD_HANDLER);
  if (built !== null && built >= (await newestDashboardSource())) return;
  let vite: string;
  try {
    vite = path.join(path.dirname(createRequire(import.meta.url).resolve('vite/package.json')), 'bin', 'vite.js');
  } catch {
    complain(
      built !== null
        ? 'The dashboard sources changed but vite is not installed: serving the existing build.'
        : 'The dashboard is not built and vite is not installed (npm install): serving the API only.',
    );
    return;
  }
  say(built === null ? 'Building the dashboard (first start, takes a few seconds)…' : 'Dashboard sources changed: rebuilding it…');
  const child = spawn(process.execPath, [vite, 'build', '--config', 'dashboard/vite.config.ts', '--logLevel', 'warn'], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  for (const stream of [child.stdout, child.stderr]) {
    if (stream) createInterface({ input: stream, crlfDelay: Infinity }).on('line', (line) => process.stdout.write(`[build] ${line}\n`));
  }
  const code = await new Promise<number | null>((resolve) => {
    child.once('error', () => resolve(-1));
    child.once('exit', (exitCode) => resolve(exitCode));
  });
  if (stopping) return;
  if (code !== 0) throw new StartError('The dashboard build failed (see the [build] lines above); `npm run build` shows the same.');
  say('Dashboard built.');
}

// ── server and worker ───────────────────────────────────────────────────────────────────────────────────

function startChild(name: string, entry: string, env: NodeJS.ProcessEnv): void {
  // The same Node binary and loader as ours; a separate process group, so a terminal Ctrl-C reaches only us
  // and each child gets exactly one signal (a second one makes it exit at once, see db/bootstrap.ts).
  const child = spawn(process.execPath, ['--import', 'tsx', entry], {
    cwd: ROOT,
    env,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  for (const [stream, out] of [
    [child.stdout, process.stdout],
    [child.stderr, process.stderr],
  ] as const) {
    if (!stream) continue;
    createInterface({ input: stream, crlfDelay: Infinity }).on('line', (line) => out.write(`[${name}] ${line}\n`));
  }
  child.once('error', (error) => {
    complain(`${name} could not start: ${error.message}`);
    void shutdown(1);
  });
  child.once('exit', (code, signal) => {
    children.delete(name);
    unexpectedExit(name, code, signal);
  });
  children.set(name, child);
}

function unexpectedExit(name: string, code: number | null, signal: NodeJS.Signals | null): void {
  if (stopping) return;
  complain(`${name} exited unexpectedly (${code !== null ? `exit code ${code}` : signal}); stopping everything.`);
  void shutdown(1);
}

async function waitUntilReady(baseUrl: string): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (!stopping) {
    try {
      const response = await fetch(`${baseUrl}/readyz`, { signal: AbortSignal.timeout(2_000) });
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new StartError(`The server was not ready within ${READY_TIMEOUT_MS / 1000} s.`);
    await sleep(300);
  }
}

// ── stopping ────────────────────────────────────────────────────────────────────────────────────────────

function waitForExit(child: ChildProcess, ms: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

async function stopProcess(name: string, child: ChildProcess, signal: NodeJS.Signals, ms: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill(signal);
  if (await waitForExit(child, ms)) return;
  complain(`${name} did not stop within ${ms / 1000} s; killing it.`);
  child.kill('SIGKILL');
  await waitForExit(child, 5_000);
}

/** Server and worker first (they finish their work against PostgreSQL and Redis), then Redis, then PostgreSQL. */
async function shutdown(code: number, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (stopping) return;
  stopping = true;
  demoStop.abort();
  try {
    await Promise.all([...children].map(([name, child]) => stopProcess(name, child, signal, CHILD_STOP_MS)));
    if (redisServer) await stopProcess('redis-server', redisServer, 'SIGTERM', 5_000);
    const database = embedded ?? (await embeddedStarting?.catch(() => undefined));
    if (database && !database.reused) {
      await database.stop();
      say('Embedded PostgreSQL stopped.');
    }
  } catch (error) {
    complain(`Shutdown problem: ${(error as Error).message}`);
    code = code || 1;
  }
  say('Stopped.');
  process.exit(code);
}

// Repeated signals are expected (the terminal, npm and tsx may each deliver one): the first one counts,
// and shutdown is bounded anyway.
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(signal, () => {
    if (stopping) return;
    say(`${signal}: stopping…`);
    void shutdown(0, signal === 'SIGHUP' ? 'SIGTERM' : signal);
  });
}
// Last resort if this process dies without running shutdown(): nothing may outlive it.
process.on('exit', () => {
  for (const child of children.values()) child.kill('SIGTERM');
  redisServer?.kill('SIGTERM');
  if (embedded && !embedded.reused) embedded.stopSync();
});
// A closed terminal (SIGHUP) makes writes fail; that must not crash the shutdown.
process.stdout.on('error', () => undefined);
process.stderr.on('error', () => undefined);
process.on('unhandledRejection', (error) => {
  complain(`Unexpected error: ${(error as Error)?.message ?? String(error)}`);
  void shutdown(1);
});

// ── small helpers ───────────────────────────────────────────────────────────────────────────────────────

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

function portIsFree(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, host, () => server.close(() => resolve(true)));
  });
}

/** An address of this machine where the server answers, for the readiness check and the demo stream. */
function loopback(host: string): string {
  if (host === '0.0.0.0' || host === '::') return '127.0.0.1';
  return host.includes(':') ? `[${host}]` : host;
}

function box(lines: string[]): void {
  const width = Math.max(...lines.map((l) => l.length));
  const out = [
    `┌${'─'.repeat(width + 4)}┐`,
    ...lines.map((l) => `│  ${l.padEnd(width)}  │`),
    `└${'─'.repeat(width + 4)}┘`,
  ];
  process.stdout.write(`\n${out.join('\n')}\n\n`);
}

main().catch((error: unknown) => {
  if (!stopping) complain(error instanceof StartError ? error.message : `Could not start: ${(error as Error)?.message ?? String(error)}`);
  void shutdown(1);
});
