import { describe, expect, it } from 'vitest';
import { diffSettings, flatten, MAX_FIELDS, MAX_VALUE_CHARS, presentValue } from '../../db/drift/diff.ts';
import { isSafeText } from '../../db/validation.ts';
import { JWT, leakWindows, SECRET_CORPUS } from '../helpers/secret-corpus.ts';

// The field-level diff of drift findings (docs/api.md §10): paths, values as JSON text, sanitized and cut.

describe('drift diff', () => {
  it('flattens to leaf paths in document order, quoting keys that are not identifiers', () => {
    const leaves = flatten({ a: { b: [1, { c: 'x' }] }, '@odata.type': '#t', empty: {}, none: [], 'with space': null });
    expect([...leaves.entries()].map(([path, leaf]) => [path, leaf.text])).toEqual([
      ['a.b[0]', '1'],
      ['a.b[1].c', '"x"'],
      ['["@odata.type"]', '"#t"'],
      ['empty', '{}'],
      ['none', '[]'],
      ['["with space"]', 'null'],
    ]);
  });

  it('reports changed, removed and added paths with before/after as JSON text', () => {
    const { fields, omitted } = diffSettings(
      { enabled: true, level: 3, list: ['a', 'b'], gone: 'x', same: { k: 1 } },
      { enabled: false, level: 3, list: ['a', 'c', 'd'], same: { k: 1 }, fresh: null },
    );
    expect(omitted).toBe(0);
    expect(fields).toEqual([
      { path: 'enabled', before: 'true', after: 'false' },
      { path: 'list[1]', before: '"b"', after: '"c"' },
      { path: 'gone', before: '"x"', after: null },
      { path: 'list[2]', before: null, after: '"d"' },
      { path: 'fresh', before: null, after: 'null' },
    ]);
  });

  it('equal settings (whatever their key order) have no fields; an added or removed policy lists every setting', () => {
    expect(diffSettings({ a: 1, b: { c: 2, d: 3 } }, { b: { d: 3, c: 2 }, a: 1 }).fields).toEqual([]);
    expect(diffSettings(null, { a: 1, b: 'x' }).fields).toEqual([
      { path: 'a', before: null, after: '1' },
      { path: 'b', before: null, after: '"x"' },
    ]);
    expect(diffSettings({ a: 1 }, null).fields).toEqual([{ path: 'a', before: '1', after: null }]);
  });

  it(`keeps at most ${MAX_FIELDS} fields and says how many more differ`, () => {
    const before = Object.fromEntries(Array.from({ length: 250 }, (_, i) => [`k${i}`, i]));
    const after = Object.fromEntries(Array.from({ length: 250 }, (_, i) => [`k${i}`, i + 1]));
    const { fields, omitted } = diffSettings(before, after);
    expect(fields).toHaveLength(MAX_FIELDS);
    expect(omitted).toBe(50);
  });

  it(`cuts values to ${MAX_VALUE_CHARS} characters, marking the cut`, () => {
    const { fields } = diffSettings({ script: 'a '.repeat(1_000) }, { script: 'b '.repeat(1_000) });
    for (const value of [fields[0]!.before!, fields[0]!.after!]) {
      expect(value.length).toBeLessThanOrEqual(MAX_VALUE_CHARS);
      expect(value).toMatch(/…"?$/);
    }
  });

  it('never shows a secret: by its shape, or because the setting is named like one', () => {
    const secrets = {
      bearer: `Bearer ${JWT}`,
      connection: 'Server=db.internal;User Id=sa;Password=Pa55w0rd-9x;',
      query: 'https://api.example.com/hook?password=hunter2hunter2&x=1',
      password: 'plain-words-not-a-token',
      clientSecret: 'tiny',
      nested: { wifi: { passphrase: 'correct-horse-battery' } },
      list: { apiKeys: ['first-key-value', 'second-key-value'] },
    };
    const { fields } = diffSettings({}, secrets);
    const text = JSON.stringify(fields);
    for (const secret of [JWT, 'Pa55w0rd-9x', 'hunter2hunter2', 'plain-words-not-a-token', 'tiny', 'correct-horse-battery', 'first-key-value', 'second-key-value']) {
      expect(text, secret).not.toContain(secret);
    }
    // What is not secret stays readable.
    expect(text).toContain('db.internal');
    expect(text).toContain('api.example.com/hook');
    expect(fields.map((f) => f.path)).toContain('nested.wifi.passphrase');
  });

  it('leaves settings that merely mention secrets alone', () => {
    expect(presentValue(8, 'passwordMinimumLength')).toBe('8');
    expect(presentValue(true, 'passwordRequired')).toBe('true');
    expect(presentValue('Require a password on wake', 'description')).toBe('"Require a password on wake"');
    expect(presentValue('deviceDefault', 'passwordRequiredType')).toBe('"deviceDefault"');
    // A setting named like a secret hides its value whatever it looks like, but not whether it is on.
    expect(presentValue('tiny', 'password')).toBe('"[redacted]"');
    expect(presentValue(1234, 'pin_pwd')).toBe('"[redacted]"');
    expect(presentValue(false, 'secret')).toBe('false');
  });

  it('survives hostile nesting without recursion', () => {
    let deep: Record<string, unknown> = { leaf: 1 };
    for (let i = 0; i < 10_000; i++) deep = { d: deep };
    const { fields } = diffSettings({}, deep);
    expect(fields).toHaveLength(1);
    expect(fields[0]!.after!.length).toBeLessThanOrEqual(MAX_VALUE_CHARS);
  });
});

describe('drift diff and the secret corpus', () => {
  const cases = SECRET_CORPUS.filter((c) => isSafeText(c.message));

  /** Each secret verbatim or JSON-escaped, and every 8-char piece of it that is not also ordinary text. */
  function leaks(text: string): string[] {
    const found: string[] = [];
    for (const kase of cases) {
      for (const secret of kase.secrets) {
        const escaped = JSON.stringify(secret).slice(1, -1);
        if (text.includes(secret) || text.includes(escaped)) found.push(`"${kase.name}": ${secret.slice(0, 12)}…`);
        else {
          const piece = leakWindows(secret, kase.message, kase.secrets).find((w) => text.includes(w));
          if (piece) found.push(`"${kase.name}": fragment "${piece}"`);
        }
      }
    }
    return found;
  }

  it.each([
    ['a setting of its own', (message: string) => ({ description: message })],
    ['inside a list', (message: string) => ({ notes: ['first', message] })],
    ['nested', (message: string) => ({ profile: { wifi: { comment: message } } })],
  ])('no secret of the corpus shows, as %s, before or after', (_where, shape) => {
    for (const kase of cases) {
      const { fields } = diffSettings(shape(kase.message), shape(`${kase.message} (changed)`));
      expect(leaks(JSON.stringify(fields)), kase.name).toEqual([]);
    }
  });
});
