// One request of an operation of the generated table (api-types.ts): its path filled in, its query and body
// encoded, retried while retrying can help. Nothing but the global `fetch` and `AbortSignal.timeout`.
import { OPERATIONS, type OperationId, type Operations } from './api-types.js';
import { refusal, RunboardError } from './errors.js';

export type RetryOptions = {
  /** Attempts per request, the first included (default 5). */
  attempts?: number;
  /** Delay before the first retry, doubled for each next one, with jitter (default 250 ms). */
  baseDelayMs?: number;
  /**
   * Upper bound of one delay (default 5 s). An answer whose `Retry-After` asks for longer is thrown at once,
   * with `retryAfterMs`, for the caller to schedule.
   */
  maxDelayMs?: number;
};

export type ConnectionOptions = {
  /** Where Runboard answers, e.g. `https://runboard.example.com`. */
  baseUrl: string;
  /** A session, kiosk (`rbk_…`) or integration (`rbi_…`) token, sent as `Authorization: Bearer`. */
  token: string;
  /** Defaults to the global `fetch`. */
  fetch?: typeof fetch;
  /** `false`: one attempt per request. */
  retry?: RetryOptions | false;
  /** Time limit of one attempt (default 15 s); a timed-out attempt is retried like a network error. */
  timeoutMs?: number;
};

/** `{ tenant: string; id: string }` for `/api/tenants/{tenant}/runs/{id}`. */
type PathParams<Path extends string> = Path extends `${string}{${infer Name}}${infer Rest}`
  ? Record<Name, string> & PathParams<Rest>
  : Record<never, never>;

type Query<K extends OperationId> = Operations[K] extends { query?: infer Q } ? { query?: Q } : { query?: never };
type Body<K extends OperationId> = Operations[K] extends { body: infer B }
  ? { body: B }
  : Operations[K] extends { body?: infer B }
    ? { body?: B }
    : { body?: never };

/** What one operation needs: its path parameters and, where it takes them, its query and body. */
export type RequestInput<K extends OperationId> = { params: PathParams<(typeof OPERATIONS)[K]['path']> } & Query<K> & Body<K>;

export type Send = <K extends OperationId>(operation: K, input: RequestInput<K>) => Promise<Operations[K]['answer']>;

/**
 * Worth another attempt: no answer at all, `429` (rate limited) and `503` (the database unreachable, or something
 * in between). Every operation the client sends is safe to repeat: reads, a start (the active run of the same
 * identity is reused) and events (each carries its `eventId`). Any other refusal would only be answered again.
 */
const retryable = (status: number) => status === 429 || status === 503;

export function createTransport(options: ConnectionOptions): Send {
  const fetchImpl = options.fetch ?? globalThis.fetch;
  const base = options.baseUrl.replace(/\/+$/, '');
  const retry = options.retry === false ? { attempts: 1 } : (options.retry ?? {});
  const attempts = Math.max(1, retry.attempts ?? 5);
  const baseDelayMs = retry.baseDelayMs ?? 250;
  const maxDelayMs = retry.maxDelayMs ?? 5_000;
  const timeoutMs = options.timeoutMs ?? 15_000;
  const backoff = (attempt: number) => Math.min(maxDelayMs, baseDelayMs * 2 ** (attempt - 1)) * (0.5 + Math.random() / 2);

  return async function send<K extends OperationId>(operation: K, input: RequestInput<K>) {
    const { method, path } = OPERATIONS[operation];
    const url = `${base}${fillPath(path, input.params as Record<string, string>)}${queryString(input.query)}`;
    const headers: Record<string, string> = { authorization: `Bearer ${options.token}`, accept: 'application/json' };
    // Serialized once: every retry sends the very same body (so the same eventId).
    let body: string | undefined;
    if (input.body !== undefined) {
      body = JSON.stringify(input.body);
      headers['content-type'] = 'application/json';
    }

    for (let attempt = 1; ; attempt++) {
      let error: RunboardError;
      let wait: number;
      try {
        const response = await fetchImpl(url, { method, headers, body, signal: AbortSignal.timeout(timeoutMs) });
        const text = await response.text();
        const answer = parseJson(text);
        if (response.ok) {
          if (response.status === 204) return null as Operations[K]['answer'];
          if (answer === undefined) throw refusal(response.status, null, undefined);
          return answer as Operations[K]['answer'];
        }
        const retryAfterMs = retryAfter(response.headers.get('retry-after'));
        error = refusal(response.status, answer ?? null, retryAfterMs);
        if (!retryable(response.status)) throw error;
        wait = retryAfterMs ?? backoff(attempt);
      } catch (cause) {
        if (cause instanceof RunboardError) throw cause;
        const timedOut = (cause as { name?: unknown } | null)?.name === 'TimeoutError';
        error = new RunboardError({
          status: 0,
          code: 'network_error',
          message: timedOut
            ? `Runboard did not answer within ${timeoutMs} ms.`
            : `Runboard could not be reached: ${(cause as Error | null)?.message ?? String(cause)}`,
          cause,
        });
        wait = backoff(attempt);
      }
      if (attempt >= attempts || wait > maxDelayMs) throw error;
      await delay(wait);
    }
  };
}

function fillPath(path: string, params: Record<string, string>): string {
  return path.replace(/\{(\w+)\}/g, (_, name: string) => {
    const value = params[name];
    if (typeof value !== 'string' || value === '') throw new TypeError(`The path parameter "${name}" is missing.`);
    return encodeURIComponent(value);
  });
}

/** `?a=1&b=x&b=y`: a list is the parameter repeated (docs/api.md §3); `undefined` leaves it out. */
function queryString(query: unknown): string {
  if (!query) return '';
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query)) {
    for (const item of Array.isArray(value) ? value : [value]) {
      if (item !== undefined && item !== null) params.append(name, String(item));
    }
  }
  const text = params.toString();
  return text ? `?${text}` : '';
}

function parseJson(text: string): unknown {
  try {
    return text ? (JSON.parse(text) as unknown) : undefined;
  } catch {
    return undefined;
  }
}

/** `Retry-After` in seconds or as an HTTP date, in milliseconds from now. */
function retryAfter(header: string | null): number | undefined {
  if (header === null || header.trim() === '') return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1_000);
  const at = Date.parse(header);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}

const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
