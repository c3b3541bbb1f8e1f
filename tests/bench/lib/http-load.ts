import { Agent, request } from 'node:http';
import { now } from './stats.ts';

export type LoadRequest = { method: 'GET' | 'POST'; path: string; token?: string; body?: unknown };
export type LoadAnswer = { status: number; body: string };

/**
 * A small keep-alive HTTP client for load: plain `node:http` with a bounded agent, so the driver itself
 * stays cheap (fetch costs several times more CPU per request, and this machine shares its two cores with
 * the server under test).
 */
export class HttpLoad {
  private readonly agent: Agent;
  private readonly url: URL;

  constructor(baseUrl: string, connections: number) {
    this.url = new URL(baseUrl);
    this.agent = new Agent({ keepAlive: true, maxSockets: connections, maxFreeSockets: connections });
  }

  send(req: LoadRequest): Promise<LoadAnswer> {
    const payload = req.body === undefined ? undefined : JSON.stringify(req.body);
    const headers: Record<string, string | number> = {};
    if (req.token) headers.authorization = `Bearer ${req.token}`;
    if (payload !== undefined) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = Buffer.byteLength(payload);
    }
    return new Promise((resolve, reject) => {
      const outgoing = request(
        { agent: this.agent, host: this.url.hostname, port: this.url.port, method: req.method, path: req.path, headers, timeout: 30_000 },
        (incoming) => {
          const chunks: Buffer[] = [];
          incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
          incoming.on('end', () => resolve({ status: incoming.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
          incoming.on('error', reject);
        },
      );
      outgoing.on('timeout', () => outgoing.destroy(new Error(`${req.method} ${req.path}: no answer within 30 s`)));
      outgoing.on('error', reject);
      outgoing.end(payload);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

export type LoadResult = { samples: number[]; wallMs: number };

/**
 * Closed-loop load: `concurrency` callers each send their next request as soon as the previous answered,
 * until `total` requests were sent. Returns every request's latency (ms). An answer other than
 * `expectStatus` fails the measurement: a fast error must never pass for a fast success.
 */
export function closedLoop(
  load: HttpLoad,
  options: { total: number; concurrency: number; next: (i: number) => LoadRequest; expectStatus: (status: number) => boolean },
): Promise<LoadResult> {
  return closedLoopOf({
    total: options.total,
    concurrency: options.concurrency,
    run: async (i) => {
      const req = options.next(i);
      const answer = await load.send(req);
      if (!options.expectStatus(answer.status)) throw new Error(`${req.method} ${req.path} → ${answer.status} ${answer.body.slice(0, 300)}`);
    },
  });
}

/** The closed loop for any async work (HTTP above, or the floor measured without the server). */
export async function closedLoopOf(options: { total: number; concurrency: number; run: (i: number) => Promise<unknown> }): Promise<LoadResult> {
  const samples: number[] = [];
  let issued = 0;
  const started = now();
  const caller = async () => {
    while (issued < options.total) {
      const i = issued++;
      const t0 = now();
      await options.run(i);
      samples.push(now() - t0);
    }
  };
  await Promise.all(Array.from({ length: Math.min(options.concurrency, options.total) }, caller));
  return { samples, wallMs: now() - started };
}
