import BeeQueue from 'bee-queue';
import lua from 'bee-queue/lib/lua/index.js';
import { queuePrefix } from './changefeed/channels.ts';
import { withTimeout } from './timeout.ts';

export type RunJob = { runId: string; type: string };

export const RUNS_QUEUE = 'runs';
/** bee-queue renews a worker's job lock every stallInterval/2; a job whose lock lapses is re-queued. */
export const STALL_INTERVAL_MS = 5_000;
const ENQUEUE_TIMEOUT_MS = 2_000;

/**
 * The runs queue. bee-queue brings its own redis@3 client, so it takes connection options, not a client;
 * the offline queue is off so that an enqueue while Redis is down fails at once (→ dispatch_failed).
 */
export function createRunsQueue(redisUrl: string, prefix: string, options: { isWorker: boolean }): BeeQueue<RunJob> {
  const queue = new BeeQueue<RunJob>(RUNS_QUEUE, {
    prefix: queuePrefix(prefix),
    redis: { url: redisUrl, enable_offline_queue: false, retry_strategy: ({ attempt }: { attempt: number }) => Math.min(100 * 2 ** attempt, 2_000) },
    isWorker: options.isWorker,
    getEvents: false,
    sendEvents: false,
    storeJobs: false,
    removeOnSuccess: true,
    removeOnFailure: true,
    // A job that failed (say, PostgreSQL dropped the worker's connection as it marked the run started) is
    // retried after a backoff, as a delayed job: without a worker raising delayed jobs it would never run again
    // and its run would stay queued (re-dispatch cannot help: the job still exists).
    activateDelayedJobs: options.isWorker,
    stallInterval: STALL_INTERVAL_MS,
  });
  // bee-queue loads its Lua scripts once, at connect; a restarted Redis has none, and every EVALSHA then
  // fails with NOSCRIPT. Reload them whenever the queue's client (re)connects.
  void queue.ready().then(
    () => {
      scripted.set(queue, true);
      clientOf(queue)?.on('ready', () => void reloadScripts(queue));
      clientOf(queue)?.on('end', () => scripted.set(queue, false));
    },
    () => undefined,
  );
  return queue;
}

type RedisV3Client = { connected: boolean; on(event: string, listener: () => void): void };
const scripted = new WeakMap<BeeQueue<RunJob>, boolean>();

/** bee-queue's own command client (public as `queue.client`, untyped). */
function clientOf(queue: BeeQueue<RunJob>): RedisV3Client | undefined {
  return (queue as unknown as { client?: RedisV3Client }).client;
}

async function reloadScripts(queue: BeeQueue<RunJob>): Promise<void> {
  try {
    await lua.buildCache(clientOf(queue));
    scripted.set(queue, true);
  } catch {
    scripted.set(queue, false);
  }
}

/** Readiness of the queue: connected, with its scripts loaded (so enqueues can succeed). */
export function queueHealthy(queue: BeeQueue<RunJob>): boolean {
  return clientOf(queue)?.connected === true && scripted.get(queue) === true;
}

/** Enqueues one run's job; rejects (never hangs) when Redis is unreachable. */
export async function enqueueRun(queue: BeeQueue<RunJob>, job: RunJob): Promise<void> {
  // Retries cover a worker that cannot reach PostgreSQL when it picks the job up (≈ 17 min in all);
  // a retried job of a run that already started is a no-op in the runner.
  const save = () => queue.createJob(job).setId(job.runId).retries(10).backoff('exponential', 1_000).save();
  const saved = save().catch(async (error: Error) => {
    // Redis came back without our scripts and the reload has not happened yet: load them, try once more.
    if (!/NOSCRIPT/.test(error.message)) throw error;
    await reloadScripts(queue);
    return save();
  });
  await withTimeout(saved, ENQUEUE_TIMEOUT_MS, 'enqueue');
}
