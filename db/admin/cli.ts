// The admin CLI (docs/api.md §2, §8): tenants, users, memberships and tenant tokens without a UI.
// `npm run admin -- <command>`. Every failure is one line on stderr and a non-zero exit, never a stack trace.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { isRole, ROLES } from '../access/roles.ts';
import { redactUrl } from '../bootstrap.ts';
import { ConfigError, loadConfig, type Config } from '../config.ts';
import { EmbeddedPostgresError, startEmbeddedPostgres, type EmbeddedPostgres } from '../embedded.ts';
import { AppError } from '../errors.ts';
import { ping } from '../database.ts';
import { localCredentialsKey } from '../sources/local-key.ts';
import { createLogger } from '../logger.ts';
import { createOrm, migrate, type Orm } from '../orm.ts';
import { createServices, type Services } from '../services.ts';
import { withTimeout } from '../timeout.ts';

const USAGE = `Usage: npm run admin -- <command> [arguments]

Commands:
  tenant:create <slug> "<name>"                         create a tenant
  user:create <email> --password <pw> --name "<name>"   create a user
  member:add <tenant> <email> <role>                    add a member, or change its role (${[...ROLES].reverse().join(', ')})
  member:remove <tenant> <email>                        remove a member
  kiosk:create <tenant>[,<tenant>…] "<label>"           create a kiosk token for NOC wall displays, reading one
                                                        tenant or several (shown once)
  integration:create <tenant> "<label>"                 create an integration token for mirrored runs (shown once)
  source:set <tenant> simulated [--policies N] [--revision N]
                                                        give a tenant the built-in simulated policy source
  source:set <tenant> graph --url <baseUrl> --collections <a,b> [--credential-file <path>]
                                                        read a tenant's policies from a Graph-format API; the
                                                        file holds a bearer token, or JSON client credentials
                                                        { "tokenUrl", "clientId", "clientSecret", "scope"? }
  db:migrate                                            apply pending database migrations
  help                                                  show this help

Examples:
  npm run admin -- tenant:create acme "Acme Corp"
  npm run admin -- user:create alice@acme.test --password 'a long secret' --name "Alice Example"
  npm run admin -- member:add acme alice@acme.test operator
  npm run admin -- kiosk:create acme "NOC wall 1"
  npm run admin -- kiosk:create acme,globex "NOC wall"
  npm run admin -- source:set acme simulated --policies 200
  npm run admin -- source:set acme graph --url https://graph.microsoft.com/beta \\
      --collections deviceManagement/deviceConfigurations,deviceManagement/deviceCompliancePolicies --credential-file ./graph.token

Uses DATABASE_URL, or the embedded PostgreSQL under DATA_DIR (default .data) when it is unset.`;

const HINT = 'Run "npm run admin -- help" for usage.';

/** Wrong command line: the message, the usage hint, exit 2. */
class UsageError extends Error {}
/** A failure the user acts on (nothing reachable, schema behind): the message, exit 1. */
class Failure extends Error {}

const OPTION_NAMES = ['password', 'name', 'policies', 'revision', 'url', 'collections', 'credential-file'] as const;
type Options = Partial<Record<(typeof OPTION_NAMES)[number], string>>;
type Command = {
  args: string[];
  /** Options the command needs. */
  options?: (keyof Options)[];
  /** Options the command may take (which ones apply may depend on the arguments: see check). */
  optional?: (keyof Options)[];
  /** Needs the shared services (and so Redis); db:migrate needs PostgreSQL only. */
  services: boolean;
  /** Argument checks that need no database, run before connecting. */
  check?(args: string[], options: Options): void;
  run(ctx: { services: Services; orm: Orm }, args: string[], options: Options): Promise<void>;
};

/** Which options of source:set go with which kind. */
const SOURCE_OPTIONS = { simulated: ['policies', 'revision'], graph: ['url', 'collections', 'credential-file'] } as const;

const COMMANDS: Record<string, Command> = {
  'tenant:create': {
    args: ['slug', '"name"'],
    services: true,
    async run({ services }, [slug, name]) {
      const tenant = await services.tenants.createTenant(slug!, name!);
      console.log(`Created tenant ${tenant.slug} (${tenant.name}).`);
    },
  },
  'user:create': {
    args: ['email'],
    options: ['password', 'name'],
    services: true,
    async run({ services }, [email], { password, name }) {
      const user = await services.tenants.createUser({ email: email!, password: password!, name: name! });
      console.log(`Created user ${user.email} (${user.name}).`);
    },
  },
  'member:add': {
    args: ['tenant', 'email', 'role'],
    services: true,
    check([, , role]) {
      if (!isRole(role)) throw new UsageError(`Unknown role "${role}": use one of ${[...ROLES].reverse().join(', ')}.`);
    },
    async run({ services }, [tenant, email, role]) {
      if (!isRole(role)) return;
      await services.tenants.addMember(tenant!, email!, role);
      console.log(`${email} is now ${role} of ${tenant}.`);
    },
  },
  'member:remove': {
    args: ['tenant', 'email'],
    services: true,
    async run({ services }, [tenant, email]) {
      await services.tenants.removeMember(tenant!, email!);
      console.log(`Removed ${email} from ${tenant}.`);
    },
  },
  'kiosk:create': kioskCommand(),
  'source:set': sourceCommand(),
  'integration:create': tokenCommand('integration'),
  'db:migrate': {
    args: [],
    services: false,
    async run({ orm }) {
      const applied = await migrate(orm);
      console.log(applied.length > 0 ? `Applied ${applied.length} migration(s): ${applied.join(', ')}.` : 'The database is up to date.');
    },
  },
};

/** A token's label: 1-200 characters once trimmed. */
function checkLabel(label: string | undefined): void {
  const length = label!.trim().length;
  if (length < 1 || length > 200) throw new UsageError('A label is 1-200 characters.');
}

function tokenCommand(kind: 'integration'): Command {
  return {
    args: ['tenant', '"label"'],
    services: true,
    check([, label]) {
      checkLabel(label);
    },
    async run({ services }, [slug, rawLabel]) {
      const label = rawLabel!.trim();
      const tenant = await services.tenants.findTenant(slug!);
      if (!tenant) throw new AppError(404, 'not_found', `Tenant "${slug}" was not found.`);
      const { id, token } = await services.auth.createTenantToken(kind, tenant.id, label, null);
      console.log(`Created ${kind} token "${label}" for ${tenant.slug} (id ${id}). It is shown only this once:`);
      console.log(token);
    },
  };
}

/** The most tenants one kiosk token reads (as `POST /api/kiosk-tokens` allows). */
const MAX_KIOSK_TENANTS = 50;

/** `acme,globex` → the slugs, each once, in order. */
const tenantList = (list: string): string[] => [...new Set(list.split(',').map((s) => s.trim()).filter(Boolean))];

/** A kiosk token for one tenant or several (docs/api.md §12): `kiosk:create acme,globex "NOC wall"`. */
function kioskCommand(): Command {
  return {
    args: ['tenant[,tenant…]', '"label"'],
    services: true,
    check([list, label]) {
      const slugs = tenantList(list!);
      if (slugs.length === 0) throw new UsageError('Name the tenants the wall shows, e.g. kiosk:create acme,globex "NOC wall".');
      if (slugs.length > MAX_KIOSK_TENANTS) throw new UsageError(`A kiosk token reads at most ${MAX_KIOSK_TENANTS} tenants.`);
      checkLabel(label);
    },
    async run({ services }, [list, rawLabel]) {
      const label = rawLabel!.trim();
      const tenants = [];
      for (const slug of tenantList(list!)) {
        const tenant = await services.tenants.findTenant(slug);
        if (!tenant) throw new AppError(404, 'not_found', `Tenant "${slug}" was not found.`);
        tenants.push(tenant);
      }
      const { id, token } = await services.auth.createKioskToken(tenants.map((t) => t.id), label, null);
      console.log(`Created kiosk token "${label}" for ${tenants.map((t) => t.slug).join(', ')} (id ${id}). It is shown only this once:`);
      console.log(token);
      if (tenants.length === 1) console.log(`Wall display: /t/${tenants[0]!.slug}/wall?kiosk=<token>`);
      else console.log(`Wall display: /wall?kiosk=<token> (every tenant of the token), or /t/<tenant>/wall?kiosk=<token> (one of them)`);
    },
  };
}

/** A count given on the command line: digits only (the service checks the bounds). */
function countOption(options: Options, key: 'policies' | 'revision'): number | undefined {
  const value = options[key];
  if (value === undefined) return undefined;
  if (!/^\d{1,9}$/.test(value)) throw new UsageError(`--${key} must be a whole number.`);
  return Number(value);
}

/** A credential file: one bearer token, or JSON client credentials (with or without "type"). Never printed. */
function readCredentialFile(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8').trim();
  } catch (error) {
    throw new Failure(`Cannot read the credential file ${path}: ${(error as NodeJS.ErrnoException).code ?? 'unreadable'}.`);
  }
  if (!text.startsWith('{')) return { type: 'bearer', token: text };
  try {
    const parsed = JSON.parse(text) as Record<string, unknown>;
    return { type: 'client_credentials', ...parsed };
  } catch {
    throw new Failure(`The credential file ${path} starts with "{" but is not valid JSON client credentials.`);
  }
}

function sourceCommand(): Command {
  return {
    args: ['tenant', 'kind'],
    optional: [...SOURCE_OPTIONS.simulated, ...SOURCE_OPTIONS.graph],
    services: true,
    check([, kind], options) {
      if (kind !== 'simulated' && kind !== 'graph') throw new UsageError(`Unknown source kind "${kind}": use simulated or graph.`);
      const other = kind === 'simulated' ? SOURCE_OPTIONS.graph : SOURCE_OPTIONS.simulated;
      const stray = other.find((o) => options[o] !== undefined);
      if (stray) throw new UsageError(`A ${kind} source does not take --${stray}.`);
      if (kind === 'graph' && (options.url === undefined || options.collections === undefined)) {
        throw new UsageError('A graph source needs --url <baseUrl> and --collections <a,b>.');
      }
      countOption(options, 'policies');
      countOption(options, 'revision');
    },
    async run({ services }, [slug, kind], options) {
      const tenant = await services.tenants.findTenant(slug!);
      if (!tenant) throw new AppError(404, 'not_found', `Tenant "${slug}" was not found.`);
      const policies = countOption(options, 'policies');
      const revision = countOption(options, 'revision');
      const input =
        kind === 'simulated'
          ? { kind, simulated: { ...(policies !== undefined ? { policies } : {}), ...(revision !== undefined ? { revision } : {}) } }
          : {
              kind,
              baseUrl: options.url,
              collections: options.collections!.split(',').map((c) => c.trim()).filter(Boolean),
              ...(options['credential-file'] !== undefined ? { credential: readCredentialFile(options['credential-file']) } : {}),
            };
      let view;
      try {
        view = await services.sources.set(tenant.id, null, input);
      } catch (error) {
        // One line with what is wrong, field by field (never the values: a credential may be among them).
        if (error instanceof AppError && error.details?.length) {
          throw new Failure(`${error.message} ${error.details.map((d) => `${d.path || 'input'}: ${d.message}`).join('; ')}`);
        }
        throw error;
      }
      if (view.kind === 'simulated') {
        console.log(`Policy source of ${tenant.slug}: simulated, ${view.simulated!.policies} policies, revision ${view.simulated!.revision}.`);
      } else {
        console.log(`Policy source of ${tenant.slug}: graph at ${view.baseUrl} (collections ${view.collections.join(', ')}), ${view.hasCredential ? 'with a stored credential' : 'without a credential'}.`);
      }
    },
  };
}

/** Parses argv into a command and its arguments, or throws UsageError. */
function parse(argv: string[]): { name: string; command: Command; args: string[]; options: Options } | 'help' {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: { ...Object.fromEntries(OPTION_NAMES.map((o) => [o, { type: 'string' as const }])), help: { type: 'boolean', short: 'h' } },
    });
  } catch (error) {
    // node:util explains in several sentences; the first says what is wrong.
    throw new UsageError((error as Error).message.split(/\.\s/)[0]!.replace(/\.$/, '') + '.');
  }
  const [name, ...args] = parsed.positionals;
  if (parsed.values.help || name === undefined || name === 'help') {
    if (name === undefined && !parsed.values.help) throw new UsageError('No command given.');
    return 'help';
  }
  const command = COMMANDS[name];
  if (!command) throw new UsageError(`Unknown command "${name}".`);
  const synopsis = `${name} ${[
    ...command.args.map((a) => `<${a.replaceAll('"', '')}>`),
    ...(command.options ?? []).map((o) => `--${o} <${o}>`),
    ...(command.optional ?? []).map((o) => `[--${o} <${o}>]`),
  ].join(' ')}`;
  if (args.length !== command.args.length) {
    throw new UsageError(`${args.length < command.args.length ? 'Missing arguments' : 'Too many arguments'}: ${synopsis}`);
  }
  const values = parsed.values as Record<string, string | boolean | undefined>;
  const options: Options = Object.fromEntries(OPTION_NAMES.map((o) => [o, values[o] as string | undefined]).filter(([, v]) => v !== undefined));
  for (const key of OPTION_NAMES) {
    const required = command.options?.includes(key) ?? false;
    const allowed = required || (command.optional?.includes(key) ?? false);
    if (options[key] !== undefined && !allowed) throw new UsageError(`${name} does not take --${key}.`);
    if (options[key] === undefined && required) throw new UsageError(`Missing --${key}: ${synopsis}`);
  }
  command.check?.(args, options);
  return { name, command, args, options };
}

async function main(): Promise<number> {
  let request: ReturnType<typeof parse>;
  try {
    request = parse(process.argv.slice(2));
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`${error.message}\n${HINT}\n`);
    return 2;
  }
  if (request === 'help') {
    console.log(USAGE);
    return 0;
  }

  let config: Config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) throw new Failure(error.message);
    throw error;
  }

  // With the embedded PostgreSQL, credentials use the key `npm start` keeps beside it (docs/api.md §8).
  if (request.name === 'source:set' && !config.databaseUrl && !config.sourceCredentialsKey) {
    config = { ...config, sourceCredentialsKey: Buffer.from(await localCredentialsKey(config.dataDir), 'base64') };
  }

  let embedded: EmbeddedPostgres | undefined;
  let orm: Orm | undefined;
  let services: Services | undefined;
  const cleanup = async () => {
    await services?.close().catch(() => undefined);
    await orm?.close().catch(() => undefined);
    await embedded?.stop({ onlyIfIdle: true }).catch(() => undefined);
  };
  // Ctrl-C while the embedded PostgreSQL was started for this command: stop it before leaving.
  process.once('SIGINT', () => void cleanup().finally(() => process.exit(130)));
  process.once('SIGTERM', () => void cleanup().finally(() => process.exit(143)));

  try {
    let databaseUrl = config.databaseUrl;
    if (!databaseUrl) {
      try {
        embedded = await startEmbeddedPostgres(config);
      } catch (error) {
        throw new Failure(error instanceof EmbeddedPostgresError ? error.message : `The embedded PostgreSQL could not start: ${(error as Error).message}`);
      }
      databaseUrl = embedded.url;
    }
    const where = config.databaseUrl ? redactUrl(databaseUrl) : `the embedded PostgreSQL (${embedded!.dataDir})`;
    try {
      orm = await createOrm({ databaseUrl, poolMax: 4 });
      // MikroORM 7 connects lazily: a first query proves the database answers.
      await ping(orm);
    } catch {
      throw new Failure(`Cannot connect to PostgreSQL at ${where}. Is it running and reachable?`);
    }

    if (request.command.services) {
      const pending = await orm.migrator.getPending();
      if (pending.length > 0) {
        throw new Failure(`The database schema is not up to date (${pending.length} pending migration(s)). Run: npm run admin -- db:migrate`);
      }
      const logger = createLogger(config.logLevel === 'debug' || config.logLevel === 'trace' ? config.logLevel : 'silent');
      try {
        services = await withTimeout(createServices(config, orm, logger, { isWorker: false }), 5_000);
      } catch {
        throw new Failure(`Cannot connect to Redis at ${redactUrl(config.redisUrl)}. Start one (e.g. "redis-server") or set REDIS_URL.`);
      }
    }
    await request.command.run({ services: services!, orm }, request.args, request.options);
    return 0;
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(`${error.message}\n${HINT}\n`);
      return 2;
    }
    if (error instanceof AppError || error instanceof Failure) {
      process.stderr.write(`${error.message}\n`);
      return 1;
    }
    process.stderr.write(`${request.name} failed: ${firstLine((error as Error).message)}\n`);
    return 1;
  } finally {
    await cleanup();
  }
}

function firstLine(text: string | undefined): string {
  return (text ?? 'unknown error').split('\n')[0]!.slice(0, 300);
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`${error instanceof Failure ? error.message : `Unexpected error: ${firstLine((error as Error)?.message)}`}\n`);
    process.exit(1);
  },
);
