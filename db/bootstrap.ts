import { loadConfigOrExit, type Config } from './config.ts';
import { createLogger, type Logger } from './logger.ts';
import { createOrm, migrate, poolSize, type Orm } from './orm.ts';
import { createServices, type Services } from './services.ts';
import { withTimeout } from './timeout.ts';
import { ping } from './database.ts';

export type Process = { config: Config; logger: Logger; services: Services; orm: Orm };

/** Prints one clear line and exits non-zero: for start-up failures a person has to act on. */
export function fatal(message: string): never {
  process.stderr.write(`${message}\n`);
  process.exit(1);
}

/**
 * Shared start-up of the server and worker entry points: config, PostgreSQL (optionally migrating), Redis.
 * Unreachable services end the process with a message that says what to do, never a stack trace.
 */
export async function bootstrap(role: 'server' | 'worker', options: { migrate: boolean }): Promise<Process> {
  const config = loadConfigOrExit();
  const logger = createLogger(config.logLevel, { role });
  if (!config.databaseUrl) {
    fatal(`DATABASE_URL is not set. Use "npm start" (it starts an embedded PostgreSQL) or set DATABASE_URL=postgres://…`);
  }
  let orm: Orm;
  try {
    orm = await createOrm({ databaseUrl: config.databaseUrl, poolMax: poolSize(config, role), applicationName: `runboard-${role}` });
    await ping(orm);
  } catch (error) {
    fatal(`Cannot connect to PostgreSQL at ${redactUrl(config.databaseUrl)} (${reason(error)}). Is it running and reachable?`);
  }
  if (options.migrate) {
    const applied = await migrate(orm);
    if (applied.length > 0) logger.info({ applied }, 'migrations applied');
  }
  let services: Services;
  try {
    services = await withTimeout(createServices(config, orm, logger, { isWorker: role === 'worker' }), 10_000);
  } catch (error) {
    fatal(`Cannot connect to Redis (${reason(error)}) at ${redactUrl(config.redisUrl)}. Start one (e.g. "redis-server") or set REDIS_URL.`);
  }
  return { config, logger, services, orm };
}

/** Runs `close` once on SIGINT/SIGTERM, then exits; a second signal exits at once. */
export function onShutdown(logger: Logger, close: () => Promise<void>): void {
  let closing = false;
  const handler = (signal: string) => {
    if (closing) process.exit(1);
    closing = true;
    logger.info({ signal }, 'shutting down');
    close()
      .then(() => process.exit(0))
      .catch((error: Error) => {
        logger.error({ err: error.message }, 'shutdown failed');
        process.exit(1);
      });
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
}

/** A short, secret-free reason: the error's code (ECONNREFUSED, 3D000…) rather than its text. */
function reason(error: unknown): string {
  const code = (error as { code?: unknown })?.code;
  return typeof code === 'string' && /^[A-Z0-9_]{2,40}$/.test(code) ? code : 'connection failed';
}

export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(invalid URL)';
  }
}
