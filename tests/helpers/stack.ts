import { createClient } from 'redis';
import { loadConfig, type Config } from '../../db/config.ts';
import { hashPassword } from '../../db/auth/passwords.ts';
import { createLogger } from '../../db/logger.ts';
import { createOrm, migrate } from '../../db/orm.ts';
import { createServices, type Services } from '../../db/services.ts';
import type { Role } from '../../db/access/roles.ts';
import { createTestDatabase, randomName, TEST_REDIS_URL } from './database.ts';

export const TEST_PASSWORD = 'correct horse battery';
let passwordHash: Promise<string> | undefined;
/** Hashing is deliberately slow; tests hash the shared password once per file. */
export const testPasswordHash = () => (passwordHash ??= hashPassword(TEST_PASSWORD));

export type TestEnv = {
  config: Config;
  env: Record<string, string>;
  services: Services;
  cleanup: () => Promise<void>;
};

/** A private database (migrated) and Redis prefix, with the shared services wired to them. */
export async function createTestEnv(overrides: Record<string, string> = {}): Promise<TestEnv> {
  const database = await createTestDatabase();
  const env: Record<string, string> = {
    DATABASE_URL: database.url,
    REDIS_URL: TEST_REDIS_URL,
    REDIS_PREFIX: randomName('rbtest'),
    RUNBOARD_DEMO_OPERATIONS: 'true',
    LOG_LEVEL: 'silent',
    PORT: '0',
    HOST: '127.0.0.1',
    ...overrides,
  };
  const config = loadConfig(env);
  const orm = await createOrm({ databaseUrl: database.url, poolMax: 20 });
  await migrate(orm);
  const services = await createServices(config, orm, createLogger(config.logLevel), { isWorker: false });
  return {
    config,
    env,
    services,
    async cleanup() {
      await services.close();
      await orm.close();
      await deleteRedisKeys(config.redisUrl, config.redisPrefix);
      await database.drop();
    },
  };
}

/** Removes this run's keys only (never FLUSHALL: the Redis is shared). */
export async function deleteRedisKeys(url: string, prefix: string): Promise<void> {
  const client = createClient({ url });
  await client.connect();
  try {
    for await (const keys of client.scanIterator({ MATCH: `${prefix}:*`, COUNT: 500 })) {
      if (keys.length > 0) await client.del(keys);
    }
  } finally {
    await client.close();
  }
}

export type Seeded = {
  tenant: { id: string; slug: string; name: string };
  users: Record<Role, { id: string; email: string; name: string }>;
};

/** A tenant with one user per role (emails `<role>@<slug>.test`). */
export async function seedTenant(services: Services, slug: string): Promise<Seeded> {
  const tenant = await services.tenants.createTenant(slug, `${slug} Corp`);
  const hash = await testPasswordHash();
  const users = {} as Seeded['users'];
  for (const role of ['owner', 'manager', 'operator', 'readonly'] as const) {
    const email = `${role}@${slug}.test`;
    users[role] = await services.tenants.createUser({ email, name: `${role} of ${slug}`, passwordHash: hash });
    await services.tenants.addMember(slug, email, role);
  }
  return { tenant, users };
}
