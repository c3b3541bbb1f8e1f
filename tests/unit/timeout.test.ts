import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { TimeoutError, withTimeout } from '../../db/timeout.ts';

/** Keeps the event loop busy, like a process that got no CPU for a while on a loaded machine. */
function busyFor(ms: number): void {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    // spinning on purpose
  }
}

describe('withTimeout', () => {
  it('settles like the promise when it is in time', async () => {
    await expect(withTimeout(Promise.resolve('done'), 1_000)).resolves.toBe('done');
    await expect(withTimeout(Promise.reject(new Error('no')), 1_000)).rejects.toThrow('no');
  });

  it('rejects with a TimeoutError naming the operation when the promise never settles', async () => {
    await expect(withTimeout(new Promise(() => undefined), 20, 'enqueue')).rejects.toThrow(new TimeoutError('enqueue timed out'));
  });

  it('an answer that arrived while the event loop was busy wins over the timer that expired meanwhile', async () => {
    // The I/O completes at once, but the process cannot look before its timer is due (a starved gateway whose
    // Redis reply sits unread): a late loop is not a slow dependency, so the answer must count.
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const accepted = new Promise<Socket>((resolve) => server.once('connection', resolve));
    const client = connect((server.address() as AddressInfo).port, '127.0.0.1');
    const peer = await accepted;
    try {
      // Run from a setImmediate callback: the loop's next phase is then the timers, before the I/O poll.
      const { race } = await new Promise<{ race: Promise<string> }>((hand) =>
        setImmediate(() => {
          const answered = new Promise<string>((resolve) => client.once('data', (data) => resolve(data.toString())));
          const race = withTimeout(answered, 20, 'enqueue');
          peer.write('answered');
          busyFor(100);
          hand({ race });
        }),
      );
      await expect(race).resolves.toBe('answered');
    } finally {
      client.destroy();
      peer.destroy();
      server.close();
    }
  });
});
