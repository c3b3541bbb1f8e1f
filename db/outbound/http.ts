// One outbound HTTP exchange under the address rule (targets.ts), with a time limit and a cap on the bytes
// read. Built on node:http/https rather than the global fetch: their `lookup` option lets every address a
// name resolves to be checked when the socket connects (fetch would need undici's Agent, which Node bundles
// but does not expose without adding the npm package), they never follow redirects, and the body arrives as
// a stream we can stop reading at the cap.
import http from 'node:http';
import https from 'node:https';
import { checkTarget, guardedLookup, TargetRefusedError } from './targets.ts';

export type OutboundResponse = { status: number; headers: http.IncomingHttpHeaders; body: Buffer };

export type OutboundFailure = 'refused' | 'timeout' | 'too_large' | 'network';

/** Why an exchange produced no answer; `message` may carry addresses and must be sanitized before it is shown. */
export class OutboundError extends Error {
  override name = 'OutboundError';
  constructor(
    readonly kind: OutboundFailure,
    message: string,
  ) {
    super(message);
  }
}

export type OutboundRequest = {
  method: string;
  headers: Record<string, string>;
  body?: string;
  /** The caller's cancellation: its reason is rethrown as is (the run was stopped, not the source). */
  signal?: AbortSignal;
  timeoutMs: number;
  maxBytes: number;
};

function refusal(error: unknown): TargetRefusedError | null {
  for (let e = error, depth = 0; e && typeof e === 'object' && depth < 4; e = (e as { cause?: unknown }).cause, depth++) {
    if (e instanceof TargetRefusedError) return e;
    // Several addresses tried in turn (autoSelectFamily) fail together as an AggregateError.
    if (e instanceof AggregateError) return e.errors.map(refusal).find(Boolean) ?? null;
  }
  return null;
}

/** Keeps connections of one client (a source opened for one run) alive across its pages. */
export class OutboundClient {
  private readonly agents: { http: http.Agent; https: https.Agent };
  private readonly lookup;

  /** `maxSockets`: connections per host at once (default 4: one source's pages for one run). */
  constructor(private readonly options: { allowPrivate: boolean; maxSockets?: number }) {
    this.lookup = guardedLookup(options);
    // Idle sockets close after 5 s (the agent's timeout ends free sockets only), so a finished run leaves none behind.
    const agent = { keepAlive: true, maxSockets: options.maxSockets ?? 4, timeout: 5_000 };
    this.agents = { http: new http.Agent(agent), https: new https.Agent(agent) };
  }

  request(url: URL, init: OutboundRequest): Promise<OutboundResponse> {
    const target = checkTarget(url.href, this.options);
    if (!target.ok) return Promise.reject(new OutboundError('refused', target.message));
    init.signal?.throwIfAborted();
    return new Promise<OutboundResponse>((resolve, reject) => {
      let settled = false;
      let request: http.ClientRequest | undefined;
      const finish = (settle: () => void) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        init.signal?.removeEventListener('abort', onAbort);
        settle();
      };
      const fail = (error: unknown) => {
        request?.destroy();
        finish(() => reject(error));
      };
      const onAbort = () => fail(init.signal!.reason);
      const timer = setTimeout(() => fail(new OutboundError('timeout', `no answer within ${init.timeoutMs} ms`)), init.timeoutMs);
      init.signal?.addEventListener('abort', onAbort, { once: true });

      const tooLarge = () => new OutboundError('too_large', `the answer is larger than ${Math.round(init.maxBytes / 1024)} KB`);
      try {
        const secure = url.protocol === 'https:';
        request = (secure ? https : http).request(url, {
          method: init.method,
          headers: init.headers,
          agent: secure ? this.agents.https : this.agents.http,
          lookup: this.lookup,
        });
      } catch (error) {
        fail(new OutboundError('network', (error as Error).message));
        return;
      }
      request.on('response', (response) => {
        if (Number(response.headers['content-length']) > init.maxBytes) return fail(tooLarge());
        const chunks: Buffer[] = [];
        let size = 0;
        response.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > init.maxBytes) fail(tooLarge());
          else chunks.push(chunk);
        });
        response.on('end', () => finish(() => resolve({ status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks) })));
        response.on('error', (error) => fail(new OutboundError('network', error.message)));
        response.on('close', () => {
          if (!response.complete) fail(new OutboundError('network', 'the connection closed before the answer was complete'));
        });
      });
      request.on('error', (error) => {
        const refused = refusal(error);
        fail(refused ? new OutboundError('refused', refused.message) : new OutboundError('network', error.message || String((error as { code?: unknown }).code ?? 'connection failed')));
      });
      request.end(init.body);
    });
  }
}
