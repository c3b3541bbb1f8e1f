export class TimeoutError extends Error {
  override name = 'TimeoutError';
}

/**
 * Settles like `promise`, or rejects with a TimeoutError after `ms`; the timer never outlives the race.
 * When the timer fires, the I/O already waiting is read first (one poll phase, via setImmediate): a process
 * whose event loop was late (CPU-starved under load) must not count an answer that had arrived as missing.
 */
export function withTimeout<T>(promise: Promise<T>, ms: number, what = 'the operation'): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  let pollFirst: NodeJS.Immediate | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        pollFirst = setImmediate(() => reject(new TimeoutError(`${what} timed out`)));
      }, ms);
    }),
  ]).finally(() => {
    clearTimeout(timer);
    clearImmediate(pollFirst);
  });
}
