import { describe, it, expect } from 'vitest';
import {
  MAX_MESSAGE_LENGTH,
  sanitizeCode,
  sanitizeError,
  sanitizeFailure,
  sanitizeItem,
  sanitizeMessage,
} from '../../db/sanitize/sanitizer.ts';
import { BARE_AUTH_RULES, GENERIC_RULES, PATH_RULES, SECRET_RULES } from '../../db/sanitize/rules.ts';
import { JWT, leakWindows, SECRET_CORPUS as CORPUS, type SecretCase } from '../helpers/secret-corpus.ts';

function expectNoLeak(output: string, c: SecretCase): void {
  for (const secret of c.secrets) {
    expect(output, `${c.name}: secret value leaked`).not.toContain(secret);
    for (const window of leakWindows(secret, c.message, c.secrets)) {
      expect(output, `${c.name}: 8-char fragment "${window}" leaked`).not.toContain(window);
    }
  }
}

describe('sanitizeMessage: secret corpus', () => {
  it('has at least 40 distinct cases', () => {
    expect(CORPUS.length).toBeGreaterThanOrEqual(40);
    expect(new Set(CORPUS.map((c) => c.name)).size).toBe(CORPUS.length);
    expect(new Set(CORPUS.map((c) => c.message)).size).toBe(CORPUS.length);
    for (const c of CORPUS) for (const secret of c.secrets) expect(c.message, c.name).toContain(secret);
  });

  describe.each(CORPUS)('$name', (c) => {
    it('redacts the secret from a string message', () => {
      const output = sanitizeMessage(c.message);
      expect(output.length).toBeLessThanOrEqual(MAX_MESSAGE_LENGTH);
      expect(output).toContain('[redacted');
      expectNoLeak(output, c);
      for (const kept of c.keep ?? []) expect(output, `${c.name}: context lost`).toContain(kept);
    });

    it('redacts the secret from an Error, an object and a failure', () => {
      expectNoLeak(sanitizeMessage(new Error(c.message)), c);
      expectNoLeak(sanitizeMessage({ message: c.message }), c);
      expectNoLeak(sanitizeMessage({ detail: c.message, status: 500 }), c);
      const failure = sanitizeFailure({ code: 'dispatch_failed', message: c.message, item: c.message });
      expectNoLeak(failure.message, c);
      expectNoLeak(failure.item ?? '', c);
      expectNoLeak(sanitizeError(Object.assign(new Error(c.message), { code: 'EAUTH' })).message, c);
    });

    it('does not leak when the secret is pushed past the truncation boundary', () => {
      for (const pad of [150, 200, 225, 235]) {
        const output = sanitizeMessage(`${'run step failed '.repeat(40).slice(0, pad)} ${c.message}`);
        expect(output.length).toBeLessThanOrEqual(MAX_MESSAGE_LENGTH);
        expectNoLeak(output, c);
      }
    });
  });
});

describe('sanitizeMessage: policy settings named like secrets', () => {
  // Intune Wi-Fi profiles carry their key as `preSharedKey`; drift findings and failures must never show it.
  it.each(['preSharedKey=Kitchen-Sink-42!', 'pre_shared_key: Kitchen-Sink-42!', 'wepKey=Kitchen-Sink-42!', 'psk=Kitchen-Sink-42!'])('redacts %s', (text) => {
    const cleaned = sanitizeMessage(text);
    expect(cleaned).not.toContain('Kitchen-Sink-42');
    expect(cleaned).toContain('[redacted]');
  });
});

describe('sanitizeMessage: benign text', () => {
  const BENIGN = [
    'Item 42 failed: quota exceeded (limit 100)',
    'Dispatch to tenant acme timed out after 30000 ms',
    'Run 550e8400-e29b-41d4-a716-446655440000 failed: upstream returned 503',
    'Invalid token: jwt expired',
    "Unexpected token '}' in JSON at position 3",
    'HTTP 500 from https://api.example.com/v1/items?page=2&limit=50',
    'Expected status 200 but got 404 for /api/runs/17',
    'duplicate key value violates unique constraint "items_pkey"',
    'pass=3 fail=1 token_count=1500 max_tokens=1024',
    'password must be at least 12 characters',
    'auth: failed for user bob@example.com',
    'Session expired, please sign in again',
    'at least one item is required',
    'token_type=bearer expires_in=3600',
    'missing bearer token',
    'Basic authentication is disabled for this tenant',
    'commit 3f78685 deployed to eu-west-1',
    'ValidationError: items[3].quantity must be a positive integer',
    'RunTableRowComponentRendererFactoryProvider threw during render',
    'Rate limited: retry after 2025-01-01T00:00:00Z',
    'ECONNRESET while reading from 10.0.3.17:6379',
    'Notification for run 17 queued (retry 2/5)',
  ];

  it.each(BENIGN)('passes %j unchanged', (message) => {
    expect(sanitizeMessage(message)).toBe(message);
  });

  it('keeps UUIDs in messages and items', () => {
    const uuid = '3fa85f64-5717-4562-b3fc-2c963f66afa6';
    expect(sanitizeMessage(`item ${uuid} failed`)).toBe(`item ${uuid} failed`);
    expect(sanitizeMessage(`items ${uuid},${uuid.toUpperCase()} failed`)).toBe(`items ${uuid},${uuid.toUpperCase()} failed`);
    expect(sanitizeItem(uuid)).toBe(uuid);
    expect(sanitizeItem(`tenant-42/run-7/item-${uuid}`)).toBe(`tenant-42/run-7/item-${uuid}`);
  });

  it('returns an empty string for nothing', () => {
    expect(sanitizeMessage(undefined)).toBe('');
    expect(sanitizeMessage(null)).toBe('');
    expect(sanitizeMessage('')).toBe('');
    expect(sanitizeMessage('   \n\t ')).toBe('');
  });

  it('renders non-string values', () => {
    expect(sanitizeMessage(42)).toBe('42');
    expect(sanitizeMessage({ message: 'boom' })).toBe('boom');
    expect(sanitizeMessage(new TypeError(''))).toBe('TypeError');
    expect(sanitizeMessage({ status: 503, reason: 'unavailable' })).toBe('{"status":503,"reason":"unavailable"}');
    expect(sanitizeMessage(() => 'source code')).toBe('[function]');
    const circular: Record<string, unknown> = { name: 'loop' };
    circular.self = circular;
    expect(() => sanitizeMessage(circular)).not.toThrow();
    const hostile = {
      get message(): string {
        throw new Error('getter exploded');
      },
    };
    expect(sanitizeMessage(hostile)).toBe('[unprintable value]');
  });
});

describe('sanitizeMessage: stack traces and paths', () => {
  it('uses only the message of an Error, never its stack', () => {
    const error = new Error('dispatch failed: quota exceeded');
    expect(error.stack).toContain('    at ');
    expect(sanitizeMessage(error)).toBe('dispatch failed: quota exceeded');
  });

  it('drops stack lines from a string and keeps the first remaining line', () => {
    const stack = [
      'TypeError: Cannot read properties of undefined (reading "id")',
      '    at dispatchItem (/home/ci/runboard/worker/dispatch.ts:88:17)',
      '    at async Promise.all (index 0)',
      '    at async processBatch (file:///app/worker/batch.mjs:12:5)',
      '    at process.processTicksAndRejections (node:internal/process/task_queues:95:5)',
    ].join('\n');
    expect(sanitizeMessage(stack)).toBe('TypeError: Cannot read properties of undefined (reading "id")');
    expect(sanitizeMessage(`    at handler (/app/x.js:1:2)\n    at /app/y.js:3:4\nRangeError: too deep\nmore detail`)).toBe(
      'RangeError: too deep',
    );
    expect(sanitizeMessage('fetchItems@https://cdn.example.com/app.js:10:20\nTypeError: Load failed')).toBe(
      'TypeError: Load failed',
    );
    expect(sanitizeMessage('first line\nsecond line')).toBe('first line');
  });

  it('replaces absolute file paths with [path]', () => {
    expect(sanitizeMessage('failed at /home/x/app/src/file.ts:12:3')).toBe('failed at [path]');
    expect(sanitizeMessage("ENOENT: no such file or directory, open '/var/lib/runboard/input.csv'")).toBe(
      "ENOENT: no such file or directory, open '[path]'",
    );
    expect(sanitizeMessage('Cannot find module C:\\Users\\alice\\runboard\\worker.js:10:5')).toBe('Cannot find module [path]');
    expect(sanitizeMessage('import failed: file:///home/x/app/main.mjs')).toBe('import failed: [path]');
    expect(sanitizeMessage('config error in ~/.runboard/config.yml.')).toBe('config error in [path].');
    expect(sanitizeMessage('share \\\\fileserver\\exports\\run.csv missing')).toBe('share [path] missing');
    // URL routes are not file paths
    expect(sanitizeMessage('GET /api/runs/17 returned 404')).toBe('GET /api/runs/17 returned 404');
  });
});

describe('sanitizeMessage: shape', () => {
  it('truncates to 240 characters with an ellipsis', () => {
    const output = sanitizeMessage('operation step failed '.repeat(30));
    expect(output.length).toBeLessThanOrEqual(MAX_MESSAGE_LENGTH);
    expect(output.endsWith('…')).toBe(true);
    expect(sanitizeMessage('x'.repeat(1000))).toBe(`${'x'.repeat(239)}…`);
    expect(sanitizeMessage('y'.repeat(240))).toBe('y'.repeat(240));
    expect(sanitizeMessage('z'.repeat(241))).toHaveLength(240);
  });

  it('never cuts a redaction marker in half', () => {
    for (let pad = 215; pad <= 240; pad++) {
      const output = sanitizeMessage(`${'a'.repeat(pad)} ghp_16C7e42F292c6912E7710c838347Ae178B4a`);
      expect(output.length).toBeLessThanOrEqual(MAX_MESSAGE_LENGTH);
      expect(output).not.toMatch(/\[[a-z:_]*…$/);
      expect(output).not.toContain('ghp_16C7');
    }
  });

  it('does not leak a secret straddling the 240 boundary', () => {
    const secret = 'SuperSecretValue123456';
    for (let pad = 200; pad <= 240; pad += 3) {
      const output = sanitizeMessage(`${'w'.repeat(pad)} password=${secret} tail`);
      expect(output.length).toBeLessThanOrEqual(MAX_MESSAGE_LENGTH);
      expect(output).not.toContain('SuperSec');
      const jwtOutput = sanitizeMessage(`${'w'.repeat(pad)} ${JWT}`);
      expect(jwtOutput).not.toContain(JWT.slice(0, 12));
    }
  });

  it('removes NUL bytes, control characters, ANSI escapes and invisible characters', () => {
    expect(sanitizeMessage('Item\u0000 42\u0007 failed\u001b[31m red\u001b[0m')).toBe('Item 42 failed red');
    expect(sanitizeMessage('quota\u200b exceeded\u202e\ufeff\u0085')).toBe('quota exceeded');
    expect(sanitizeMessage('tab\tand   spaces\r\n')).toBe('tab and spaces');
    expect(sanitizeMessage('\u0000\u0001\u0002')).toBe('');
  });

  it('is single-line', () => {
    expect(sanitizeMessage({ message: 'a\u2028b' })).toBe('a');
    expect(sanitizeMessage('line one\r\nline two')).toBe('line one');
  });

  it('handles 200 KB inputs, including pathological ones, without hanging', () => {
    const big = 200 * 1024;
    const inputs = [
      'a'.repeat(big),
      'x '.repeat(big / 2),
      `"password":"${'\\'.repeat(big)}`,
      'a='.repeat(big / 2),
      'eyJ'.repeat(big / 3),
      '-----BEGIN PRIVATE KEY-----'.repeat(big / 27),
      `at x (${'('.repeat(big)}`,
      `postgres://${'a:'.repeat(big / 2)}`,
      `${' '.repeat(big)}password=hunter2x`,
      '/a'.repeat(big / 2),
      'Aa0'.repeat(big / 3),
      `${'\n    at f (/a.js:1:1)'.repeat(big / 20)}`,
      'password= '.repeat(big / 10),
      `${'&'.repeat(big)}token=`,
      'bearer '.repeat(big / 7),
    ];
    for (const input of inputs) {
      const output = sanitizeMessage(input);
      expect(output.length).toBeLessThanOrEqual(MAX_MESSAGE_LENGTH);
    }
    expect(sanitizeItem('Aa0'.repeat(big / 3))?.length).toBeLessThanOrEqual(200);
  });

  it('drops a token cut by the 8 KB input cap', () => {
    const output = sanitizeMessage(`${' '.repeat(8180)}ghp_16C7e42F292c6912E7710c838347Ae178B4a`);
    expect(output).not.toContain('ghp_16C7');
  });
});

describe('sanitizeCode', () => {
  it.each([
    ['ItemFailed', 'item_failed'],
    ['dispatch-failed', 'dispatch_failed'],
    ['quota.exceeded', 'quota_exceeded'],
    ['Rate Limited', 'rate_limited'],
    ['HTTPError', 'http_error'],
    ['ECONNREFUSED', 'econnrefused'],
    ['ERR_HTTP_HEADERS_SENT', 'err_http_headers_sent'],
    ['item2Failed', 'item2_failed'],
    ['  --Weird__Code!!  ', 'weird_code'],
    ['café-closed', 'cafe_closed'],
    ['123abc', 'abc'],
    ['_private', 'private'],
    [`x`.repeat(100), 'x'.repeat(64)],
  ])('%j → %j', (input, expected) => {
    expect(sanitizeCode(input)).toBe(expected);
  });

  it('falls back when nothing valid remains', () => {
    expect(sanitizeCode('')).toBe('unknown_error');
    expect(sanitizeCode('404')).toBe('unknown_error');
    expect(sanitizeCode('!!!')).toBe('unknown_error');
    expect(sanitizeCode(undefined)).toBe('unknown_error');
    expect(sanitizeCode(null)).toBe('unknown_error');
    expect(sanitizeCode({ code: 'x' })).toBe('unknown_error');
    expect(sanitizeCode('', 'dispatch_failed')).toBe('dispatch_failed');
    expect(sanitizeCode('', 'Not A Valid Fallback')).toBe('not_a_valid_fallback');
    expect(sanitizeCode('', '%%%')).toBe('unknown_error');
  });

  it('never ends with an underscore after truncation and matches the code grammar', () => {
    const code = sanitizeCode(`${'a'.repeat(63)}_b`);
    expect(code).toBe('a'.repeat(63));
    for (const input of ['ItemFailed', 'a-b-c', `${'word_'.repeat(30)}`, 'ÄÖÜ error']) {
      expect(sanitizeCode(input)).toMatch(/^[a-z][a-z0-9_]{0,63}$/);
      expect(sanitizeCode(input)).not.toMatch(/__|_$/);
    }
  });

  it('refuses a secret as a code', () => {
    expect(sanitizeCode('ghp_16C7e42F292c6912E7710c838347Ae178B4a')).toBe('unknown_error');
    expect(sanitizeCode('AKIAIOSFODNN7EXAMPLE', 'auth_failed')).toBe('auth_failed');
  });
});

describe('sanitizeItem', () => {
  it('maps undefined/null to undefined and stringifies the rest', () => {
    expect(sanitizeItem(undefined)).toBeUndefined();
    expect(sanitizeItem(null)).toBeUndefined();
    expect(sanitizeItem('')).toBeUndefined();
    expect(sanitizeItem(42)).toBe('42');
    expect(sanitizeItem('order-17')).toBe('order-17');
  });

  it('removes control characters, redacts secrets and caps at 200 chars', () => {
    expect(sanitizeItem('item\u0000-7\n')).toBe('item-7');
    expect(sanitizeItem('user:AKIAIOSFODNN7EXAMPLE')).toBe('user:[redacted:aws_key]');
    const long = sanitizeItem('i'.repeat(500));
    expect(long).toHaveLength(200);
    expect(long?.endsWith('…')).toBe(true);
  });
});

describe('sanitizeFailure', () => {
  it('omits item when absent', () => {
    const failure = sanitizeFailure({ code: 'ItemFailed', message: 'quota exceeded' });
    expect(failure).toEqual({ code: 'item_failed', message: 'quota exceeded' });
    expect(Object.keys(failure)).not.toContain('item');
    expect('item' in sanitizeFailure({ code: 'x', message: 'y', item: null })).toBe(false);
  });

  it('includes a sanitized item when present', () => {
    expect(sanitizeFailure({ code: 'x', message: 'y', item: 'row\u00007' })).toEqual({ code: 'x', message: 'y', item: 'row7' });
  });

  it('defaults code and message', () => {
    expect(sanitizeFailure({})).toEqual({ code: 'unknown_error', message: 'Unknown error' });
  });
});

describe('sanitizeError', () => {
  it('uses error.code when it is a string', () => {
    const error = Object.assign(new Error('connect ECONNREFUSED 10.0.0.5:5432'), { code: 'ECONNREFUSED' });
    expect(sanitizeError(error)).toEqual({ code: 'econnrefused', message: 'connect ECONNREFUSED 10.0.0.5:5432' });
  });

  it('falls back when error.code is missing, not a string, or empty after sanitizing', () => {
    expect(sanitizeError(new Error('boom'))).toEqual({ code: 'handler_error', message: 'boom' });
    expect(sanitizeError(Object.assign(new Error('boom'), { code: 42 }))).toEqual({ code: 'handler_error', message: 'boom' });
    expect(sanitizeError(Object.assign(new Error('boom'), { code: '23505' }), 'db_error').code).toBe('db_error');
    expect(sanitizeError(new Error('boom'), 'dispatchFailed').code).toBe('dispatch_failed');
  });

  it('handles thrown non-errors', () => {
    expect(sanitizeError('plain string')).toEqual({ code: 'handler_error', message: 'plain string' });
    expect(sanitizeError(undefined)).toEqual({ code: 'handler_error', message: 'Unknown error' });
    expect(sanitizeError({ code: 'QuotaExceeded', message: 'limit 100' })).toEqual({ code: 'quota_exceeded', message: 'limit 100' });
  });

  it('redacts secrets and drops the stack', () => {
    const error = new Error(`login to postgres://app:Pg!Secret99@db:5432/runboard failed`);
    const failure = sanitizeError(error);
    expect(failure.message).toBe('login to postgres://[redacted]@db:5432/runboard failed');
    expect(failure.message).not.toContain('at ');
  });
});

describe('rule table', () => {
  const all = [...SECRET_RULES, ...BARE_AUTH_RULES, ...GENERIC_RULES, ...PATH_RULES];

  it('names each rule once, and every pattern is global (the engine replaces with String.prototype.replace)', () => {
    expect(new Set(all.map((rule) => rule.name)).size).toBe(all.length);
    for (const rule of all) expect(rule.pattern.flags, rule.name).toContain('g');
  });

  it('is what the engine applies: a value of each shape comes out redacted', () => {
    expect(sanitizeMessage('key AKIAIOSFODNN7EXAMPLE used')).toBe('key [redacted:aws_key] used');
    expect(sanitizeMessage('auth with bearer abcDEF123456ghiJKL done')).toBe('auth with bearer [redacted] done');
    expect(sanitizeMessage('digest 0123456789abcdef0123456789abcdef0 mismatch')).toBe('digest [redacted:hex] mismatch');
    expect(sanitizeMessage('cannot open /home/alice/app/config.yml')).toBe('cannot open [path]');
  });
});
