import { EventEmitter } from 'node:events';
import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request a receiver got, with its raw body (what a signature is computed over). */
export type Received = { path: string; headers: IncomingHttpHeaders; raw: string; body: any; at: number };

/** How the receiver answers a request: a status, after a delay, or never (the connection hangs). */
export type Answer = { status: number; delayMs?: number; headers?: Record<string, string> } | 'hang';

/**
 * A webhook receiver on a free loopback port, as a user would run one: it records every request and answers as
 * `answer` says (200 by default). `next(n)` resolves when n requests in all have arrived — no polling, no sleeps.
 */
export class WebhookReceiver {
  readonly received: Received[] = [];
  answer: (request: Received, index: number) => Answer = () => ({ status: 200 });
  private readonly events = new EventEmitter();
  private readonly hanging = new Set<ServerResponse>();

  private constructor(
    private readonly server: Server,
    readonly url: string,
  ) {}

  static async start(): Promise<WebhookReceiver> {
    const handlers: { handle?: WebhookReceiver['handle'] } = {};
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => handlers.handle?.(req.url ?? '/', req.headers, Buffer.concat(chunks).toString('utf8'), res));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const receiver = new WebhookReceiver(server, `http://127.0.0.1:${port}`);
    handlers.handle = (...args) => receiver.handle(...args);
    return receiver;
  }

  private handle(path: string, headers: IncomingHttpHeaders, raw: string, res: ServerResponse): void {
    let body: unknown;
    try {
      body = JSON.parse(raw);
    } catch {
      body = raw;
    }
    const request: Received = { path, headers, raw, body, at: Date.now() };
    const index = this.received.push(request) - 1;
    const answer = this.answer(request, index);
    this.events.emit('request');
    if (answer === 'hang') {
      this.hanging.add(res);
      res.on('close', () => this.hanging.delete(res));
      return;
    }
    setTimeout(() => res.writeHead(answer.status, { 'content-type': 'text/plain', ...answer.headers }).end('ok'), answer.delayMs ?? 0);
  }

  /** Resolves with the requests once `count` have arrived in all (or rejects after `timeoutMs`). */
  async next(count: number, timeoutMs = 15_000): Promise<Received[]> {
    if (this.received.length >= count) return this.received;
    return new Promise<Received[]>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.events.off('request', check);
        reject(new Error(`the receiver got ${this.received.length} of ${count} requests within ${timeoutMs} ms`));
      }, timeoutMs);
      const check = () => {
        if (this.received.length < count) return;
        clearTimeout(timer);
        this.events.off('request', check);
        resolve(this.received);
      };
      this.events.on('request', check);
    });
  }

  /** Requests whose JSON body is a delivery of this run. */
  ofRun(runId: string): Received[] {
    return this.received.filter((r) => (r.body as { run?: { id?: string } } | null)?.run?.id === runId);
  }

  async close(): Promise<void> {
    for (const res of this.hanging) res.destroy();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
