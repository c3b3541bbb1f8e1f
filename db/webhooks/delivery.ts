// One delivery attempt (docs/api.md §13): build the body from the delivery's snapshot, sign it, POST it under the
// address rule (checked again at connection time, no redirects followed, a time limit), and record the result:
// delivered on a 2xx, otherwise retried with back-off until the retry window closes, then failed.
import type { Catalog } from '../catalog/catalog.ts';
import type { Config } from '../config.ts';
import { OutboundClient, OutboundError } from '../outbound/http.ts';
import { DELIVERY_RETENTION_DAYS, mayRetry, retryDelayMs, type WebhookFormat } from './model.ts';
import { bodyOf, encodedBody } from './payload.ts';
import type { WebhookService } from './service.ts';
import { SIGNATURE_HEADER, signatureHeader } from './signing.ts';
import type { AttemptRecord, ClaimedDelivery, WebhookStore } from './store.ts';

/** What an attempt came to, for metrics: `refused` is the address rule's (never retried). */
export type AttemptResult = 'succeeded' | 'retried' | 'failed' | 'refused';

export type AttemptObserver = (result: AttemptResult, format: WebhookFormat, seconds: number) => void;

/** An answer's body is not used; it is read (to keep the connection reusable) up to this size. */
const MAX_ANSWER_BYTES = 256 * 1024;

type Sent = { status: number | null; error: string | null; refused: boolean };

/** Why an exchange failed, in our words: never the receiver's text, an address, or anything from the URL's path. */
function describe(error: unknown, timeoutMs: number): Sent {
  if (!(error instanceof OutboundError)) return { status: null, error: 'the request could not be made', refused: false };
  switch (error.kind) {
    case 'refused':
      return { status: null, error: 'refused: the URL resolves to a loopback, link-local or private address', refused: true };
    case 'timeout':
      return { status: null, error: `no answer within ${timeoutMs / 1000} s`, refused: false };
    case 'too_large':
      return { status: null, error: 'the answer was too large', refused: false };
    default: {
      const text = error.message;
      const cause = /ECONNREFUSED/.test(text)
        ? 'connection refused'
        : /ENOTFOUND|EAI_AGAIN/.test(text)
          ? 'the host does not resolve'
          : /ECONNRESET|socket hang up|closed before/.test(text)
            ? 'the connection was closed before an answer'
            : /certificate|CERT|SSL|TLS/i.test(text)
              ? 'the TLS handshake failed (certificate not valid for this host?)'
              : 'network error';
      return { status: null, error: cause, refused: false };
    }
  }
}

export class WebhookDeliverer {
  private readonly client: OutboundClient;

  constructor(
    private readonly store: WebhookStore,
    private readonly webhooks: WebhookService,
    private readonly catalog: Catalog,
    private readonly config: Pick<Config, 'allowPrivateTargets' | 'publicUrl' | 'webhooks'>,
    private readonly observe: AttemptObserver = () => undefined,
  ) {
    // Several webhooks may share a host (one Slack, one receiver): as many connections as attempts at once.
    this.client = new OutboundClient({ allowPrivate: config.allowPrivateTargets, maxSockets: config.webhooks.concurrency });
  }

  /** How long a claim holds a delivery: the attempt's time limit and a margin for recording its result. */
  get leaseMs(): number {
    return this.config.webhooks.timeoutMs * 2 + 1_000;
  }

  /** Claims up to `limit` due deliveries for this worker (see WebhookStore.claim). */
  claim(limit: number): Promise<ClaimedDelivery[]> {
    return this.store.claim(limit, this.leaseMs);
  }

  /** Deliveries waiting to be sent, across all workers. */
  backlog(): Promise<number> {
    return this.store.backlog();
  }

  /** Deletes finished deliveries past their retention; returns how many. */
  purge(): Promise<number> {
    return this.store.purgeFinished(DELIVERY_RETENTION_DAYS);
  }

  async attempt(delivery: ClaimedDelivery): Promise<AttemptResult> {
    const started = performance.now();
    const format = delivery.format as WebhookFormat;
    const sent = await this.send(delivery, format);
    const durationMs = performance.now() - started;
    const record = this.outcome(delivery, sent, durationMs);
    await this.store.record(record, this.config.webhooks.retryBaseMs);
    const result: AttemptResult = record.result === 'retry' ? 'retried' : record.result === 'failed' && sent.refused ? 'refused' : record.result;
    this.observe(result, format, durationMs / 1000);
    return result;
  }

  private async send(delivery: ClaimedDelivery, format: WebhookFormat): Promise<Sent> {
    const secret = this.webhooks.secretOf(delivery.tenant_id, delivery.webhook_id, delivery.secret_ciphertext);
    if (secret === null) return { status: null, error: "the signing secret does not open with this server's SOURCE_CREDENTIALS_KEY", refused: false };
    const { body, firstFailure } = bodyOf(delivery, this.catalog, this.config.publicUrl);
    const text = encodedBody(format, body, firstFailure);
    try {
      const answer = await this.client.request(new URL(delivery.url), {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'user-agent': 'Runboard-Webhooks/1',
          'runboard-event': delivery.event,
          'runboard-delivery': delivery.id,
          [SIGNATURE_HEADER.toLowerCase()]: signatureHeader(secret, text),
        },
        body: text,
        timeoutMs: this.config.webhooks.timeoutMs,
        maxBytes: MAX_ANSWER_BYTES,
      });
      if (answer.status >= 200 && answer.status < 300) return { status: answer.status, error: null, refused: false };
      const redirect = answer.status >= 300 && answer.status < 400;
      return { status: answer.status, error: redirect ? `redirect not followed (HTTP ${answer.status})` : `HTTP ${answer.status}`, refused: false };
    } catch (error) {
      return describe(error, this.config.webhooks.timeoutMs);
    }
  }

  private outcome(delivery: ClaimedDelivery, sent: Sent, durationMs: number): AttemptRecord {
    const base = { id: delivery.id, attempts: delivery.attempts, status: sent.status, error: sent.error, durationMs };
    if (sent.error === null) return { ...base, result: 'succeeded' };
    if (sent.refused) return { ...base, result: 'failed' };
    const { retryBaseMs, retryForMs } = this.config.webhooks;
    const retryInMs = retryDelayMs(delivery.attempts, retryBaseMs);
    const firstAttempt = delivery.first_attempt_at ?? new Date();
    if (!mayRetry(firstAttempt, new Date(Date.now() + retryInMs), retryForMs)) {
      return { ...base, result: 'failed', error: `gave up after ${delivery.attempts} attempts: ${sent.error}` };
    }
    return { ...base, result: 'retry', retryInMs };
  }
}
