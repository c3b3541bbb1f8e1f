import { describe, expect, it } from 'vitest';
import { bucketOf, canTransition, outcomeOf } from '../../db/runs/model.ts';
import { canonicalJson, identityHash } from '../../db/runs/identity.ts';
import { decodeCursor, encodeCursor, InvalidCursorError } from '../../db/pagination.ts';

describe('outcome rule', () => {
  it.each([
    { succeeded: 0, failed: 0, aborted: false, outcome: 'succeeded' }, // nothing to do is a success
    { succeeded: 10, failed: 0, aborted: false, outcome: 'succeeded' },
    { succeeded: 9, failed: 1, aborted: false, outcome: 'partially_succeeded' },
    { succeeded: 1, failed: 99, aborted: false, outcome: 'partially_succeeded' },
    { succeeded: 0, failed: 1, aborted: false, outcome: 'failed' },
    { succeeded: 0, failed: 5, aborted: false, outcome: 'failed' },
    { succeeded: 10, failed: 0, aborted: true, outcome: 'failed' }, // could not proceed
    { succeeded: 0, failed: 0, aborted: true, outcome: 'failed' },
  ])('$succeeded ok / $failed failed / aborted=$aborted → $outcome', ({ succeeded, failed, aborted, outcome }) => {
    expect(outcomeOf({ succeeded, failed }, aborted)).toBe(outcome);
  });

  it('skipped items alone never fail a run', () => {
    // skipped is not an input of the rule: 0 succeeded, 0 failed (everything skipped) is a success
    expect(outcomeOf({ succeeded: 0, failed: 0 })).toBe('succeeded');
  });
});

describe('buckets and transitions', () => {
  it.each([
    ['queued', 'pending', 'queued'],
    ['running', 'pending', 'running'],
    ['completed', 'succeeded', 'succeeded'],
    ['completed', 'partially_succeeded', 'partially_succeeded'],
    ['completed', 'failed', 'failed'],
  ] as const)('%s/%s → %s', (status, outcome, bucket) => {
    expect(bucketOf(status, outcome)).toBe(bucket);
  });

  it('status only moves forward', () => {
    expect(canTransition('queued', 'running')).toBe(true);
    expect(canTransition('running', 'completed')).toBe(true);
    expect(canTransition('queued', 'completed')).toBe(true);
    expect(canTransition('running', 'queued')).toBe(false);
    expect(canTransition('completed', 'running')).toBe(false);
    expect(canTransition('completed', 'completed')).toBe(false);
  });
});

describe('run identity', () => {
  it('ignores key order at every depth', () => {
    expect(canonicalJson({ b: 1, a: { d: [1, { y: 2, x: 1 }], c: null } })).toBe('{"a":{"c":null,"d":[1,{"x":1,"y":2}]},"b":1}');
    expect(identityHash('t1', 'demo.batch', { a: 1, b: 2 })).toBe(identityHash('t1', 'demo.batch', { b: 2, a: 1 }));
  });

  it('differs by tenant, type and scope', () => {
    const base = identityHash('t1', 'demo.batch', { a: 1 });
    expect(identityHash('t2', 'demo.batch', { a: 1 })).not.toBe(base);
    expect(identityHash('t1', 'demo.other', { a: 1 })).not.toBe(base);
    expect(identityHash('t1', 'demo.batch', { a: 2 })).not.toBe(base);
    expect(identityHash('t1', 'demo.batch', { a: '1' })).not.toBe(base);
    expect(base).toMatch(/^[0-9a-f]{64}$/);
  });

  it('treats undefined keys as absent', () => {
    expect(identityHash('t', 'x.y', { a: 1, b: undefined })).toBe(identityHash('t', 'x.y', { a: 1 }));
  });
});

describe('keyset cursors', () => {
  it('round-trips', () => {
    const id = '3f1c9a52-7d1e-4f5a-9b1e-2a6d8c4e0f11';
    const cursor = encodeCursor('2026-11-23T10:00:00.123456Z', id);
    expect(decodeCursor(cursor)).toEqual({ createdAt: '2026-11-23T10:00:00.123456Z', id });
  });

  it.each(['', 'abc', encodeCursor('2026-02-30T10:00:00.000000Z', '3f1c9a52-7d1e-4f5a-9b1e-2a6d8c4e0f11'),
    encodeCursor('0000-01-01T00:00:00.000000Z', '00000000-0000-1000-8000-000000000000'), // found by fuzzing: PostgreSQL has no year 0
    encodeCursor('2026-11-23T10:00:00.123Z', '3f1c9a52-7d1e-4f5a-9b1e-2a6d8c4e0f11'), Buffer.from('{"a":1}').toString('base64url'), Buffer.from('["2026-01-01","not-a-uuid"]').toString('base64url'),
    Buffer.from('["yesterday","3f1c9a52-7d1e-4f5a-9b1e-2a6d8c4e0f11"]').toString('base64url'), 'x'.repeat(500)])(
    'rejects %j',
    (cursor) => {
      expect(() => decodeCursor(cursor)).toThrow(InvalidCursorError);
    },
  );
});
