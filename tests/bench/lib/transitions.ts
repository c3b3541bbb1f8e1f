// Drives run transitions from the bench process through the real lifecycle, as a worker does (start →
// started → progress… → completed, each one committed transaction), and stamps each change with the wall
// clock right after its commit — without touching the product's payload.
import { author } from '../../../db/runs/model.ts';
import { setTimeout as sleep } from 'node:timers/promises';
import type { RunUpdateKind } from '../../../db/changefeed/messages.ts';
import { summaryOf, type RunView } from '../../../db/runs/view.ts';
import type { Services } from '../../../db/services.ts';
import { wallClock } from './client-swarm.ts';
import { summarize, type Summary } from './stats.ts';

/** Who makes the changes these tests apply directly (their history's `by`). */
const TEST_AUTHOR = author('system', 'test');

/** A worker persists progress at most every ~250 ms per run (docs/api.md §4): that is one lane's pace. */
const LANE_HZ = 4;
/** Transactions in flight at once: enough for two cores, and few connections of the shared PostgreSQL. */
const CONCURRENCY = 8;
export const PROGRESS_PER_RUN = 8;

export type Stamp = { at: number; kind: RunUpdateKind };
export type DriveResult = { transitions: number; completed: number; seconds: number };

/**
 * Where committed changes go: `product` publishes through the real changefeed (the gateway relays it);
 * `floor` publishes the very same message to the floor's own channel instead.
 */
export type Target = 'product' | { floorChannel: string };

export class TransitionDriver {
  /** `runId:version` → when it was committed. */
  readonly stamps = new Map<string, Stamp>();
  private target: Target = 'product';
  private readonly restore: () => void;
  private sequence = 0;

  constructor(
    private readonly services: Services,
    private readonly tenant: { id: string; slug: string },
  ) {
    const changefeed = services.changefeed;
    const original = changefeed.runChanged;
    // Called by the lifecycle right after each commit: the stamp is taken before anything is published.
    changefeed.runChanged = async (kind: RunUpdateKind, run: RunView) => {
      this.stamps.set(`${run.id}:${run.version}`, { at: wallClock(), kind });
      const target = this.target;
      if (target === 'product') return original.call(changefeed, kind, run);
      await services.redis.publish(target.floorChannel, JSON.stringify({ tenant: run.tenant, kind, run: summaryOf(run), committedAt: Date.now() }));
    };
    this.restore = () => {
      changefeed.runChanged = original;
    };
  }

  /**
   * Commits about `perSecond` transitions a second for `seconds`, over ⌈perSecond / 4⌉ concurrent runs each
   * paced at 4 changes a second; a run that is mid-way when time is up is completed at once (nothing is left
   * running). Falls behind (and says so in the result) when the machine cannot keep up.
   */
  async drive(target: Target, perSecond: number, seconds: number): Promise<DriveResult> {
    this.target = target;
    this.stamps.clear();
    const lanes = Math.max(1, Math.ceil(perSecond / LANE_HZ));
    const intervalMs = (lanes / perSecond) * 1000;
    const started = performance.now();
    const end = started + seconds * 1000;
    let transitions = 0;
    let completed = 0;
    const declaration = this.services.catalog.get('demo.batch');
    if (!declaration) throw new Error('demo.batch is not registered (RUNBOARD_DEMO_OPERATIONS)');
    const { lifecycle } = this.services;
    let inflight = 0;
    const queue: (() => void)[] = [];
    const limited = async <T>(transition: () => Promise<T>): Promise<T> => {
      if (inflight >= CONCURRENCY) await new Promise<void>((resolve) => queue.push(resolve));
      inflight += 1;
      try {
        return await transition();
      } finally {
        inflight -= 1;
        queue.shift()?.();
      }
    };

    const lane = async (index: number) => {
      let next = started + (index / lanes) * intervalMs;
      const pace = async () => {
        next += intervalMs;
        const wait = next - performance.now();
        if (wait > 0) await sleep(wait);
      };
      await pace();
      while (performance.now() < end) {
        const { run } = await limited(() =>
          lifecycle.start({
            tenant: this.tenant,
            declaration,
            scope: { key: `bench-${this.sequence++}`, items: PROGRESS_PER_RUN },
            initiatorId: null,
            by: TEST_AUTHOR,
          }),
        );
        transitions += 1;
        await pace();
        await limited(() => lifecycle.markStarted(run.id, TEST_AUTHOR));
        transitions += 1;
        for (let item = 0; item < PROGRESS_PER_RUN && performance.now() < end; item++) {
          await pace();
          await limited(() => lifecycle.progress(run.id, { ...(item === 0 ? { total: PROGRESS_PER_RUN } : {}), succeeded: 1 }, TEST_AUTHOR));
          transitions += 1;
        }
        if (performance.now() < end) await pace();
        await limited(() => lifecycle.complete(run.id, {}, TEST_AUTHOR));
        transitions += 1;
        completed += 1;
      }
    };
    await Promise.all(Array.from({ length: lanes }, (_, i) => lane(i)));
    return { transitions, completed, seconds: (performance.now() - started) / 1000 };
  }

  close(): void {
    this.restore();
  }
}

export type Latencies = {
  /** commit → receipt, per kind of change, in milliseconds */
  progress: Summary;
  terminal: Summary;
  all: Summary;
  deliveries: number;
  /** completed changes some subscribed client never received */
  lostTerminal: number;
  /** other changes some client never received */
  lostOther: number;
};

/** Joins commit stamps with receipts: every change should have reached each of `clients` once. */
export function latencies(stamps: Map<string, Stamp>, receipts: Map<string, number[]>, clients: number): Latencies {
  const progress: number[] = [];
  const terminal: number[] = [];
  const all: number[] = [];
  let lostTerminal = 0;
  let lostOther = 0;
  for (const [key, stamp] of stamps) {
    const times = receipts.get(key) ?? [];
    const into = stamp.kind === 'completed' ? terminal : stamp.kind === 'progress' ? progress : null;
    for (const at of times) {
      const ms = at - stamp.at;
      into?.push(ms);
      all.push(ms);
    }
    const missing = Math.max(0, clients - times.length);
    if (stamp.kind === 'completed') lostTerminal += missing;
    else lostOther += missing;
  }
  return { progress: summarize(progress), terminal: summarize(terminal), all: summarize(all), deliveries: all.length, lostTerminal, lostOther };
}
