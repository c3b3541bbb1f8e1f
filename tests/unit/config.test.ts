import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
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
    ['DATABASE_POOL_MAX', '0'],
    ['DATABASE_POOL_MAX', '-3'],
    ['DATABASE_POOL_MAX', '1001'],
    ['DATABASE_POOL_MAX', '2.5'],
    ['DATABASE_POOL_MAX', 'many'],
    ['FRAME_ANCESTORS', 'noc.example.org'],
    ['FRAME_ANCESTORS', 'https://noc.example.org/d/wall'],
    ['FRAME_ANCESTORS', "https://noc.example.org 'unsafe-inline'"],
    ['FRAME_ANCESTORS', "'none'"],
    ['FRAME_ANCESTORS', 'javascript:alert(1)'],
    ['FRAME_ANCESTORS', 'https://noc.example.org;script-src *'],
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

  it('DATABASE_POOL_MAX: unset leaves the pool to each role, 1 to 1000 sets it', () => {
    expect(loadConfig({}).databasePoolMax).toBeUndefined();
    expect(loadConfig({ DATABASE_POOL_MAX: '1' }).databasePoolMax).toBe(1);
    expect(loadConfig({ DATABASE_POOL_MAX: '1000' }).databasePoolMax).toBe(1000);
  });

  it("FRAME_ANCESTORS: origins (a host may start with *.) and 'self', split on commas or spaces; unset refuses framing", () => {
    expect(loadConfig({}).frameAncestors).toEqual([]);
    expect(loadConfig({ FRAME_ANCESTORS: "https://grafana.example.com, 'self'  http://127.0.0.1:3000,https://*.example.net" }).frameAncestors).toEqual([
      'https://grafana.example.com',
      "'self'",
      'http://127.0.0.1:3000',
      'https://*.example.net',
    ]);
  });

  it('an entry point started with a bad DATABASE_POOL_MAX prints one line naming it and exits 1', () => {
    const root = fileURLToPath(new URL('../..', import.meta.url));
    const result = spawnSync(process.execPath, ['--import', 'tsx', 'worker/main.ts'], {
      cwd: root,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', DATABASE_POOL_MAX: '0' },
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/^Invalid configuration: DATABASE_POOL_MAX [^\n]+\n$/);
    expect(result.stdout).toBe('');
  });
});
