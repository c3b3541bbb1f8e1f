import BeeQueue from 'bee-queue';
import { queuePrefix } from './changefeed/channels.ts';

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
  return new BeeQueue<RunJob>(RUNS_QUEUE, {
    prefix: queuePrefix(prefix),
    redis: { url: redisUrl, enable_offline_queue: false, retry_strategy: ({ attempt }: { attempt: number }) => Math.min(100 * 2 ** attempt, 2_000) },
    isWorker: options.isWorker,
    getEvents: false,
    sendEvents: false,
    storeJobs: false,
    removeOnSuccess: true,
    removeOnFailure: true,
    activateDelayedJobs: false,
    stallInterval: STALL_INTERVAL_MS,
  });
}

/** Enqueues one run's job; rejects (never hangs) when Redis is unreachable. */
export async function enqueueRun(queue: BeeQueue<RunJob>, job: RunJob): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('enqueue timed out')), ENQUEUE_TIMEOUT_MS);
  });
  try {
    // Retries cover a worker that cannot reach PostgreSQL when it picks the job up (≈ 17 min in all);
    // a retried job of a run that already started is a no-op in the runner.
    const created = queue.createJob(job).setId(job.runId).retries(10).backoff('exponential', 1_000);
    await Promise.race([created.save(), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
