// The dashboard's batching of live pushes (dashboard/src/lib/frame-batch.ts): one apply per animation frame, in
// arrival order; with `everyMs`, at most one per interval; a read flushes first; a disposed view drops the rest.
// Animation frames are stood in for by a queue the test runs, timers by vitest's fake clock.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { FLUSH_LATEST_MS, FrameBatch } from '../../dashboard/src/lib/frame-batch.ts';

let frames: Map<number, (time: number) => void>;
let nextFrame = 0;
const runFrame = () => {
  const due = [...frames.values()];
  frames.clear();
  for (const callback of due) callback(performance.now());
};

beforeEach(() => {
  vi.useFakeTimers({ now: 1_000_000 });
  frames = new Map();
  vi.stubGlobal('requestAnimationFrame', (callback: (time: number) => void) => {
    frames.set(++nextFrame, callback);
    return nextFrame;
  });
  vi.stubGlobal('cancelAnimationFrame', (id: number) => frames.delete(id));
});

afterEach(() => {
  vi.unstubAllGlobals();
  vi.useRealTimers();
});

describe('FrameBatch', () => {
  it('applies everything pushed before a frame in one batch, in arrival order', () => {
    const batches: number[][] = [];
    const batch = new FrameBatch<number>((items) => batches.push(items));
    for (const n of [1, 2, 3]) batch.push(n);
    expect(batches).toEqual([]);
    expect(frames.size).toBe(1);
    runFrame();
    batch.push(4);
    runFrame();
    expect(batches).toEqual([[1, 2, 3], [4]]);
    expect(batch.size).toBe(0);
  });

  it('applies within FLUSH_LATEST_MS when no frame comes (a hidden page), once', () => {
    const batches: number[][] = [];
    const batch = new FrameBatch<number>((items) => batches.push(items));
    batch.push(1);
    vi.advanceTimersByTime(FLUSH_LATEST_MS - 1);
    expect(batches).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(batches).toEqual([[1]]);
    runFrame();
    expect(batches).toEqual([[1]]);
  });

  it('with everyMs, waits out the interval after a batch, then takes the next frame', () => {
    const batches: number[][] = [];
    const batch = new FrameBatch<number>((items) => batches.push(items), { everyMs: 250 });
    batch.push(1);
    runFrame();
    expect(batches).toEqual([[1]]);
    batch.push(2);
    batch.push(3);
    expect(frames.size).toBe(0);
    vi.advanceTimersByTime(249);
    runFrame();
    expect(batches).toEqual([[1]]);
    vi.advanceTimersByTime(1);
    expect(frames.size).toBe(1);
    runFrame();
    expect(batches).toEqual([[1], [2, 3]]);
  });

  it('flush() applies what is pending at once and cancels the wait; an empty flush applies nothing', () => {
    const batches: number[][] = [];
    const batch = new FrameBatch<number>((items) => batches.push(items), { everyMs: 250 });
    batch.flush();
    expect(batches).toEqual([]);
    batch.push(1);
    batch.flush();
    expect(batches).toEqual([[1]]);
    runFrame();
    vi.advanceTimersByTime(1_000);
    expect(batches).toEqual([[1]]);
  });

  it('clear() drops what is pending and stops waiting', () => {
    const batches: number[][] = [];
    const batch = new FrameBatch<number>((items) => batches.push(items));
    batch.push(1);
    batch.clear();
    runFrame();
    vi.advanceTimersByTime(1_000);
    expect(batches).toEqual([]);
    batch.push(2);
    runFrame();
    expect(batches).toEqual([[2]]);
  });
});
