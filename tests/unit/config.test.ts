import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../db/config.ts';

describe('configuration', () => {
  it('has the contract defaults', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      port: 3000,
      databaseUrl: undefined,
      redisUrl: 'redis://127.0.0.1:6379',
      redisPrefix: 'runboard',
      demoOperations: false,
      retentionDays: 90,
      stallTimeoutMs: 60_000,
      allowedOrigins: [],
    });
  });

  it('parses values', () => {
    const config = loadConfig({
      PORT: '8080',
      DATABASE_URL: 'postgres://u@db:5432/rb',
      RUNBOARD_DEMO_OPERATIONS: 'true',
      ALLOWED_ORIGINS: 'https://a.example, https://b.example',
      RUN_STALL_TIMEOUT_MS: '5000',
    });
    expect(config).toMatchObject({ port: 8080, demoOperations: true, stallTimeoutMs: 5000, allowedOrigins: ['https://a.example', 'https://b.example'] });
  });

  it.each([
    ['PORT', 'eighty'],
    ['PORT', '70000'],
    ['DATABASE_URL', 'mysql://x@y/z'],
    ['REDIS_URL', 'not a url'],
    ['REDIS_PREFIX', 'has space'],
    ['RUNBOARD_DEMO_OPERATIONS', 'maybe'],
    ['RUN_RETENTION_DAYS', '0'],
    ['RUN_STALL_TIMEOUT_MS', '-5'],
    ['LOG_LEVEL', 'loud'],
  ])('a bad %s stops with one line naming it', (variable, value) => {
    let error: unknown;
    try {
      loadConfig({ [variable]: value });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as Error).message;
    expect(message).toContain(variable);
    expect(message.split('\n')).toHaveLength(1);
    // never echoes the value back (it might be a secret); short values like "0" may appear in the rule itself
    if (value.length > 2) expect(message).not.toContain(value);
  });
});
