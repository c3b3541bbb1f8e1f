// The only place that reads process.env: parsed once with zod into a typed config.
import { z } from 'zod';

const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

const positiveInt = (fallback: number) => z.coerce.number().int().positive().default(fallback);

const urlWithProtocol = (protocols: string[]) =>
  z.string().refine(
    (value) => {
      try {
        return protocols.includes(new URL(value).protocol);
      } catch {
        return false;
      }
    },
    { message: `must be a ${protocols.map((p) => `${p}//`).join(' or ')} URL` },
  );

const envSchema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  HOST: z.string().min(1).default('0.0.0.0'),
  DATABASE_URL: urlWithProtocol(['postgres:', 'postgresql:']).optional(),
  REDIS_URL: urlWithProtocol(['redis:', 'rediss:']).default('redis://127.0.0.1:6379'),
  REDIS_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9_.-]{1,64}$/, 'must be 1-64 characters of letters, digits, _ . -')
    .default('runboard'),
  RUNBOARD_DEMO_OPERATIONS: bool.default(false),
  RUN_RETENTION_DAYS: positiveInt(90),
  RUN_STALL_TIMEOUT_MS: z.coerce.number().int().min(1000).default(60_000),
  ALLOWED_ORIGINS: z
    .string()
    .optional()
    .transform((v) => (v ? v.split(',').map((s) => s.trim()).filter(Boolean) : [])),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  METRICS_TOKEN: z.string().min(16).optional(),
  SESSION_TTL_HOURS: positiveInt(24 * 7),
  KIOSK_TTL_DAYS: positiveInt(365),
  LOGIN_MAX_FAILURES: positiveInt(10),
  LOGIN_WINDOW_SECONDS: positiveInt(900),
  WORKER_CONCURRENCY: positiveInt(4),
  DATA_DIR: z.string().min(1).default('.data'),
  EMBEDDED_PG_PORT: z.coerce.number().int().min(1).max(65535).default(54329),
  COOKIE_SECURE: bool.optional(),
  LIVE_POLLING: bool.default(false),
  // Policy sources: the key that encrypts their credentials at rest (32 bytes, base64), and whether a `graph`
  // source may point at loopback, link-local or private addresses (tests and on-premises APIs).
  SOURCE_CREDENTIALS_KEY: z
    .string()
    .refine((v) => Buffer.from(v, 'base64').length === 32, 'must be 32 bytes, base64-encoded (e.g. openssl rand -base64 32)')
    .optional(),
  ALLOW_PRIVATE_TARGETS: bool.default(false),
  SOURCE_TIMEOUT_MS: z.coerce.number().int().min(100).max(120_000).default(10_000),
  // Integrations (docs/api.md §13).
  PUBLIC_URL: urlWithProtocol(['http:', 'https:']).optional(),
  WEBHOOK_TIMEOUT_MS: z.coerce.number().int().min(100).max(60_000).default(10_000),
  WEBHOOK_RETRY_BASE_MS: z.coerce.number().int().min(10).max(600_000).default(10_000),
  WEBHOOK_RETRY_FOR_MS: z.coerce.number().int().min(100).max(7 * 86_400_000).default(3_600_000),
  WEBHOOK_CONCURRENCY: positiveInt(16),
  WORKER_METRICS_PORT: z.coerce.number().int().min(0).max(65535).optional(),
  DATABASE_POOL_MAX: z.coerce.number().int().min(1).max(1_000).optional(),
  FRAME_ANCESTORS: z
    .string()
    .optional()
    .transform((v) => (v ? v.split(/[\s,]+/).map((s) => s.trim()).filter(Boolean) : []))
    .refine((list) => list.every(isFrameAncestor), "must be origins such as https://grafana.example.com (or 'self'), separated by commas"),
});

/** A CSP frame-ancestors source we accept from configuration: 'self' or an http(s) origin (a host may start with *.). */
function isFrameAncestor(source: string): boolean {
  return source === "'self'" || /^https?:\/\/(\*\.)?[A-Za-z0-9.-]+(:\d{1,5})?$/.test(source);
}

export type Config = {
  port: number;
  host: string;
  databaseUrl: string | undefined;
  redisUrl: string;
  /** REDIS_URL was given; when false, redisUrl is the default and `npm start` may run a private redis-server. */
  redisUrlSet: boolean;
  redisPrefix: string;
  demoOperations: boolean;
  retentionDays: number;
  stallTimeoutMs: number;
  allowedOrigins: string[];
  logLevel: z.infer<typeof envSchema>['LOG_LEVEL'];
  metricsToken: string | undefined;
  sessionTtlHours: number;
  kioskTtlDays: number;
  loginMaxFailures: number;
  loginWindowSeconds: number;
  workerConcurrency: number;
  dataDir: string;
  /** Port of the embedded PostgreSQL that `npm start` runs when DATABASE_URL is unset. */
  embeddedPgPort: number;
  cookieSecure: boolean | undefined;
  /** Allow HTTP long-polling for the live channel (needs sticky sessions behind a load balancer). */
  livePolling: boolean;
  /** Encrypts policy-source credentials at rest; without it no credential can be stored. */
  sourceCredentialsKey: Buffer | undefined;
  allowPrivateTargets: boolean;
  /** Time limit of one call to a policy source. */
  sourceTimeoutMs: number;
  /** The dashboard's address as users reach it (links in webhooks and Slack messages); default http://localhost:PORT. */
  publicUrl: string;
  webhooks: {
    /** Time limit of one delivery attempt. */
    timeoutMs: number;
    /** The first retry's delay; each further one doubles, up to an hour apart. */
    retryBaseMs: number;
    /** How long after its first attempt a delivery is still retried before it is marked failed. */
    retryForMs: number;
    /** Deliveries one worker makes at once (each webhook has at most a few of them). */
    concurrency: number;
  };
  /** Where a worker serves its Prometheus metrics; unset: not served (0: any free port). */
  workerMetricsPort: number | undefined;
  /** The database pool size of this process; unset: sized to its concurrency. */
  databasePoolMax: number | undefined;
  /** Origins allowed to frame the dashboard (walls embedded elsewhere); empty: framing refused. */
  frameAncestors: string[];
};

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Parses an environment (process.env by default). Throws ConfigError with one line naming the variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = envSchema.safeParse(cleaned);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const variable = issue?.path.join('.') ?? 'environment';
    throw new ConfigError(`Invalid configuration: ${variable} ${issue?.message ?? 'is invalid'}`);
  }
  const e = parsed.data;
  return {
    port: e.PORT,
    host: e.HOST,
    databaseUrl: e.DATABASE_URL,
    redisUrl: e.REDIS_URL,
    redisUrlSet: cleaned.REDIS_URL !== undefined,
    redisPrefix: e.REDIS_PREFIX,
    demoOperations: e.RUNBOARD_DEMO_OPERATIONS,
    retentionDays: e.RUN_RETENTION_DAYS,
    stallTimeoutMs: e.RUN_STALL_TIMEOUT_MS,
    allowedOrigins: e.ALLOWED_ORIGINS,
    logLevel: e.LOG_LEVEL,
    metricsToken: e.METRICS_TOKEN,
    sessionTtlHours: e.SESSION_TTL_HOURS,
    kioskTtlDays: e.KIOSK_TTL_DAYS,
    loginMaxFailures: e.LOGIN_MAX_FAILURES,
    loginWindowSeconds: e.LOGIN_WINDOW_SECONDS,
    workerConcurrency: e.WORKER_CONCURRENCY,
    dataDir: e.DATA_DIR,
    embeddedPgPort: e.EMBEDDED_PG_PORT,
    cookieSecure: e.COOKIE_SECURE,
    livePolling: e.LIVE_POLLING,
    sourceCredentialsKey: e.SOURCE_CREDENTIALS_KEY ? Buffer.from(e.SOURCE_CREDENTIALS_KEY, 'base64') : undefined,
    allowPrivateTargets: e.ALLOW_PRIVATE_TARGETS,
    sourceTimeoutMs: e.SOURCE_TIMEOUT_MS,
    publicUrl: (e.PUBLIC_URL ?? `http://localhost:${e.PORT}`).replace(/\/+$/, ''),
    webhooks: {
      timeoutMs: e.WEBHOOK_TIMEOUT_MS,
      retryBaseMs: e.WEBHOOK_RETRY_BASE_MS,
      retryForMs: e.WEBHOOK_RETRY_FOR_MS,
      concurrency: e.WEBHOOK_CONCURRENCY,
    },
    workerMetricsPort: e.WORKER_METRICS_PORT,
    databasePoolMax: e.DATABASE_POOL_MAX,
    frameAncestors: e.FRAME_ANCESTORS,
  };
}

/**
 * The environment for child processes we start ourselves (pg_ctl, redis-server), minus the variables that
 * would steer them elsewhere. Derived here so that this file stays the only reader of process.env.
 */
export function childEnvironment(exclude: (name: string) => boolean, env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(env).filter(([name]) => !exclude(name)));
}

/** For entry points: load the config or print one clear line and exit non-zero. */
export function loadConfigOrExit(env: NodeJS.ProcessEnv = process.env): Config {
  try {
    return loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }
}
