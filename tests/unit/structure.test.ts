import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { entities } from '../../db/entities.ts';

// The shape the code keeps (see README "Code map"): each table's SQL in its store, no SQL outside db/, and docs
// that stand alone. These read the source as text, so a new file that breaks the shape fails here.

const ROOT = join(import.meta.dirname, '../..');
const SKIP = new Set(['node_modules', '.git', '.svelte-kit', 'build', '.data', 'docs/screenshots']);

function files(dir: string, pattern: RegExp): string[] {
  const found: string[] = [];
  for (const name of readdirSync(join(ROOT, dir))) {
    const path = join(dir, name);
    if (SKIP.has(name) || SKIP.has(path)) continue;
    if (statSync(join(ROOT, path)).isDirectory()) found.push(...files(path, pattern));
    else if (pattern.test(name)) found.push(path);
  }
  return found;
}

const read = (path: string) => readFileSync(join(ROOT, path), 'utf8');

/** The one module that writes each table (and selects from it first-hand); joins elsewhere may read names. */
const OWNERS: Record<string, string> = {
  operation_runs: 'db/runs/store.ts',
  run_events: 'db/runs/event-store.ts',
  run_history: 'db/runs/history-store.ts',
  run_search: 'db/runs/search-store.ts',
  run_failure_reasons: 'db/runs/reason-store.ts',
  notifications: 'db/notifications/store.ts',
  tenants: 'db/tenants/store.ts',
  users: 'db/tenants/store.ts',
  memberships: 'db/tenants/store.ts',
  auth_tokens: 'db/auth/store.ts',
  kiosk_token_tenants: 'db/auth/store.ts',
  inventory_items: 'db/inventory/store.ts',
  drift_findings: 'db/drift/store.ts',
  backup_sets: 'db/backups/store.ts',
  backup_items: 'db/backups/store.ts',
  restores: 'db/restores/store.ts',
  restore_items: 'db/restores/store.ts',
  policy_sources: 'db/sources/store.ts',
  webhooks: 'db/webhooks/store.ts',
  webhook_deliveries: 'db/webhooks/store.ts',
};

describe('one owner per table', () => {
  const tables = entities.map((entity) => entity.meta.tableName ?? entity.meta.className);

  it('every table has an owner store', () => {
    expect(tables.filter((table) => !OWNERS[table])).toEqual([]);
  });

  it.each(Object.entries(OWNERS))('only %s\'s store writes it or selects from it', (table, owner) => {
    // Kysely: selectFrom/insertInto/updateTable/deleteFrom('<table>' …); raw SQL: from/into/update <table>.
    const touches = new RegExp(
      `(selectFrom|insertInto|updateTable|deleteFrom)\\(\\s*'${table}\\b|\\b(from|into|update)\\s+"?${table}"?\\b(?!\\s*\\()`,
      'i',
    );
    const code = files('db', /\.ts$/).filter((path) => !path.startsWith('db/migrations/'));
    const writers = code.filter((path) => touches.test(read(path).replace(/^\s*(\/\/|\*).*$/gm, '')));
    expect(writers).toEqual([owner]);
  });
});

describe('no SQL outside db/', () => {
  const sqlText = /[`'"]\s*(select|insert\s+into|update\s+\w+\s+set|delete\s+from|with\s+\w+\s+as)\b/i;
  const queryCalls = /\b(getKysely|getConnection|em\.fork|\.execute\s*\(|from 'kysely'|orm\.em)\b/;

  it.each(['server', 'worker'])('%s/ calls services, never SQL or the ORM', (dir) => {
    const offenders = files(dir, /\.ts$/).filter((path) => {
      const code = read(path).replace(/^\s*(\/\/|\*).*$/gm, '');
      return sqlText.test(code) || queryCalls.test(code);
    });
    expect(offenders).toEqual([]);
  });
});

describe('the repository stands alone', () => {
  // Internal planning files live outside the repository; nothing users get may point at them.
  const outside = /CONTRACT(\.md|\s*§)|ARCHITECTURE\.md|STYLE\.md|\.\.\/shared\b/;

  it('README, docs and code cite only files of the repository', () => {
    const texts = [
      'README.md',
      ...files('docs', /\.md$/),
      ...files('dashboard', /\.(ts|svelte|md|css|html)$/),
      ...['db', 'server', 'worker', 'clients', 'scripts', 'tests'].flatMap((dir) => files(dir, /\.(ts|js|mjs|md)$/)),
      'docker-compose.yml',
      'Dockerfile',
    ].filter((path) => path !== relative(ROOT, import.meta.filename));
    expect(texts.filter((path) => outside.test(read(path)))).toEqual([]);
  });
});
