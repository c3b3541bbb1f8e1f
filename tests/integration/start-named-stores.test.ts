// `npm start` with a DATABASE_URL or REDIS_URL that does not answer (docs/api.md §8): a store the operator
// named is never swapped for a private one — that node's runs would reach no other gateway or worker. Start
// must exit non-zero within 60 s with one line naming the store (password redacted), having started nothing.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, randomName, TEST_REDIS_URL } from '../helpers/database.ts';
import { freePort } from '../helpers/processes.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** The bound the rule sets for giving up on a named store. */
const EXIT_WITHIN_MS = 60_000;

type StartResult = { code: number | null; ms: number; stdout: string[]; stderr: string[] };

/**
 * Runs scripts/start.ts as `npm start` does (tsx), in its own process group so that a start which hangs can
 * be killed with everything it spawned; resolves on its exit, or after EXIT_WITHIN_MS with code null.
 */
async function runStart(env: Record<string, string>): Promise<StartResult> {
  const started = Date.now();
  const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/start.ts'], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? os.tmpdir(), LOG_LEVEL: 'silent', PORT: '0', HOST: '127.0.0.1', ...env },
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const stdout: string[] = [];
  const stderr: string[] = [];
  createInterface({ input: child.stdout! }).on('line', (line) => stdout.push(line));
  createInterface({ input: child.stderr! }).on('line', (line) => stderr.push(line));
  let timer: NodeJS.Timeout | undefined;
  const code = await new Promise<number | null>((resolve) => {
    child.once('exit', (exitCode, signal) => resolve(exitCode ?? (signal ? -1 : null)));
    timer = setTimeout(() => {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // the group is already gone
      }
      resolve(null);
    }, EXIT_WITHIN_MS);
  }).finally(() => clearTimeout(timer));
  // The pipes may still hold the last lines when 'exit' fires; they close right after.
  await Promise.all([child.stdout!, child.stderr!].map((s) => (s.closed ? null : new Promise((r) => s.once('close', r)))));
  return { code, ms: Date.now() - started, stdout, stderr };
}

/** Live processes whose command line mentions `text` (a redis-server or postgres under the test's DATA_DIR). */
async function processesMentioning(text: string): Promise<string[]> {
  if (!existsSync('/proc')) return [];
  const found: string[] = [];
  for (const pid of (await readdir('/proc')).filter((name) => /^\d+$/.test(name))) {
    const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
    if (cmdline.includes(text)) found.push(`${pid}: ${cmdline.replaceAll('\0', ' ')}`);
  }
  return found;
}

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

describe.concurrent('npm start with a named store that does not answer', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  const dataDirs: string[] = [];

  beforeAll(async () => {
    database = await createTestDatabase();
  });

  afterAll(async () => {
    await database?.drop();
    await Promise.all(dataDirs.map((dir) => rm(dir, { recursive: true, force: true })));
  });

  /** Environment common to both cases: a fresh DATA_DIR, a random prefix, an embedded-PostgreSQL port nobody uses. */
  async function baseEnv(): Promise<{ env: Record<string, string>; dataDir: string }> {
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'runboard-start-'));
    dataDirs.push(dataDir);
    return {
      dataDir,
      env: { DATA_DIR: dataDir, REDIS_PREFIX: randomName('rbstart'), EMBEDDED_PG_PORT: String(await freePort()) },
    };
  }

  it('REDIS_URL: exits non-zero naming it, and starts no redis-server', { timeout: EXIT_WITHIN_MS + 30_000 }, async () => {
    const { env, dataDir } = await baseEnv();
    const password = `redis-pw-${randomName('x')}`;
    const port = await freePort();
    const result = await runStart({ ...env, DATABASE_URL: database.url, REDIS_URL: `redis://runboard:${password}@127.0.0.1:${port}` });
    const all = [...result.stdout, ...result.stderr];
    const context = all.join('\n');

    expect(result.code, context).not.toBeNull();
    expect(result.code, context).not.toBe(0);
    expect(result.ms).toBeLessThan(EXIT_WITHIN_MS);
    const named = new RegExp(`REDIS_URL=redis://runboard:\\*\\*\\*@127\\.0\\.0\\.1:${port}\\b.*does not answer`);
    expect(result.stderr.filter((line) => named.test(line)), context).toHaveLength(1);
    expect(context).not.toContain(password);
    expect(all.filter((line) => /^\s+at /.test(line)), 'no stack trace').toEqual([]);

    expect(all.filter((line) => /redis-server/.test(line) && !named.test(line)), context).toEqual([]);
    expect(existsSync(path.join(dataDir, 'redis')), 'the private Redis folder was created').toBe(false);
    expect(await processesMentioning(dataDir)).toEqual([]);
  });

  it('DATABASE_URL: exits non-zero naming it, and starts no embedded PostgreSQL', { timeout: EXIT_WITHIN_MS + 30_000 }, async () => {
    const { env, dataDir } = await baseEnv();
    const password = `pg-pw-${randomName('x')}`;
    const port = await freePort();
    const url = `postgres://postgres:${password}@127.0.0.1:${port}/${database.name}`;
    const result = await runStart({ ...env, DATABASE_URL: url, REDIS_URL: TEST_REDIS_URL });
    const all = [...result.stdout, ...result.stderr];
    const context = all.join('\n');

    expect(result.code, context).not.toBeNull();
    expect(result.code, context).not.toBe(0);
    expect(result.ms).toBeLessThan(EXIT_WITHIN_MS);
    const named = new RegExp(`DATABASE_URL=postgres://postgres:\\*\\*\\*@127\\.0\\.0\\.1:${port}/${escape(database.name)}\\b.*does not answer`);
    expect(result.stderr.filter((line) => named.test(line)), context).toHaveLength(1);
    expect(context).not.toContain(password);
    expect(all.filter((line) => /^\s+at /.test(line)), 'no stack trace').toEqual([]);

    expect(all.filter((line) => /embedded/i.test(line) && !named.test(line)), context).toEqual([]);
    expect(existsSync(path.join(dataDir, 'postgres')), 'the embedded PostgreSQL folder was created').toBe(false);
    expect(await processesMentioning(dataDir)).toEqual([]);
  });
});
