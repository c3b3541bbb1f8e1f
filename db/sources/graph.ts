// The `graph` source (docs/api.md §10): an HTTP API in the Microsoft Graph list format.
//   list   GET {baseUrl}/{collection} → { value: [ { id, displayName, '@odata.type', lastModifiedDateTime, …settings } ],
//          '@odata.nextLink'? }, for each configured collection; next links are followed on baseUrl's origin only.
//   get    GET {baseUrl}/{collection}/{id}, collection by collection (404 in every one → policy_not_found).
//   apply  PATCH {baseUrl}/{collection}/{id} with { '@odata.type', …settings }: the collection is the one the
//          policy type was last seen in by this client, else found with get() first (so a PATCH never lands
//          in a collection the policy is not in).
// Every exchange is bounded: a time limit (SOURCE_TIMEOUT_MS), at most 8 MB read per answer, no redirects,
// 429/503 retried as Retry-After says within a small budget, and the address rule at connection time.
// Messages of SourceErrors are sanitized and never contain the credential (it is also redacted by value).
import type { Logger } from '../logger.ts';
import { sanitizeMessage } from '../sanitize/sanitizer.ts';
import { inspectInput } from '../validation.ts';
import { OutboundClient, OutboundError, type OutboundResponse } from '../outbound/http.ts';
import type { SourceCredential } from './schema.ts';
import { SourceError, checked, type ListedItem, type PolicySourceClient, type SourceErrorCode, type SourcePolicy } from './source.ts';

export const MAX_PAGE_BYTES = 8 * 1024 * 1024;
const MAX_TOKEN_BYTES = 64 * 1024;
/** Pages per collection: a next link that never ends is a broken source, not a big tenant. */
const MAX_PAGES = 10_000;
const MAX_NAME_LENGTH = 400;
const MAX_TYPE_LENGTH = 200;
const MAX_ID_LENGTH = 200;

export type RetryPolicy = {
  /** Retries of one request after 429/503. */
  maxRetries: number;
  /** Total time one request may spend waiting between attempts. */
  budgetMs: number;
  /** The longest single wait; a Retry-After asking for more gives up at once. */
  maxWaitMs: number;
  /** The wait when a 429/503 gives no Retry-After (doubled per retry). */
  defaultWaitMs: number;
};

export const DEFAULT_RETRY: RetryPolicy = { maxRetries: 3, budgetMs: 30_000, maxWaitMs: 10_000, defaultWaitMs: 1_000 };

export type GraphSourceOptions = {
  baseUrl: string;
  collections: string[];
  credential: SourceCredential | null;
  allowPrivateTargets: boolean;
  timeoutMs: number;
  retry?: Partial<RetryPolicy>;
  logger?: Logger;
};

type Exchange = { method: string; url: URL; what: string; body?: string; signal?: AbortSignal; auth?: boolean; form?: boolean; maxBytes?: number };

const isObject = (value: unknown): value is Record<string, unknown> => value !== null && typeof value === 'object' && !Array.isArray(value);

const safeText = (value: unknown, max: number): value is string =>
  typeof value === 'string' && value.length > 0 && value.length <= max && !value.includes('\0') && value.isWellFormed();

/** Retry-After as milliseconds (delay-seconds or an HTTP date); null when absent or unreadable. */
export function retryAfterMs(header: string | string[] | undefined, now = Date.now()): number | null {
  const value = Array.isArray(header) ? header[0] : header;
  if (!value) return null;
  if (/^\s*\d+\s*$/.test(value)) return Number(value) * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? null : Math.max(0, date - now);
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** A Graph error body's `error.code` (e.g. Authorization_RequestDenied), when it is a plain identifier. */
function graphErrorCode(body: Buffer): string | null {
  try {
    const parsed: unknown = JSON.parse(body.subarray(0, 16_384).toString('utf8'));
    const code = isObject(parsed) ? (isObject(parsed.error) ? parsed.error.code : parsed.error) : undefined;
    return typeof code === 'string' && /^[A-Za-z0-9_.-]{1,64}$/.test(code) ? code : null;
  } catch {
    return null;
  }
}

/** A Graph source of one tenant; one instance per run (it caches a client-credentials token and keeps connections). */
export class GraphSource implements PolicySourceClient {
  private readonly base: URL;
  private readonly http: OutboundClient;
  private readonly retry: RetryPolicy;
  /** Where each policy type was seen, so apply() writes to the right collection. */
  private readonly typeCollections = new Map<string, string>();
  private token: { value: string; expiresAt: number } | null = null;
  private tokenRequest: Promise<string> | null = null;
  /** Values that must never appear in a message: the credential's secrets and fetched tokens. */
  private readonly secrets = new Set<string>();

  constructor(private readonly options: GraphSourceOptions) {
    this.base = new URL(options.baseUrl.replace(/\/+$/, ''));
    this.http = new OutboundClient({ allowPrivate: options.allowPrivateTargets });
    this.retry = { ...DEFAULT_RETRY, ...options.retry };
    const { credential } = options;
    if (credential?.type === 'bearer') this.secrets.add(credential.token);
    if (credential?.type === 'client_credentials') this.secrets.add(credential.clientSecret);
  }

  async *list(signal?: AbortSignal): AsyncIterable<ListedItem[]> {
    for (const collection of this.options.collections) {
      let url: URL | null = this.collectionUrl(collection);
      let ordinal = 0;
      for (let page = 1; url; page++) {
        if (page > MAX_PAGES) throw this.error('source_unavailable', `GET ${collection}: more than ${MAX_PAGES} pages; the next links do not end.`);
        const response = await this.send({ method: 'GET', url, what: `GET ${collection} (page ${page})`, signal });
        this.expectOk(response, `GET ${collection} (page ${page})`);
        const body = this.json(response, `GET ${collection} (page ${page})`);
        if (!isObject(body) || !Array.isArray(body.value)) {
          throw this.error('source_unavailable', `GET ${collection} (page ${page}): the answer is not a Graph list ({ value: [ … ] }).`);
        }
        const items = body.value.map((raw) => this.item(raw, collection, `${collection}#${++ordinal}`));
        if (items.length > 0) yield items;
        url = this.nextLink(body['@odata.nextLink'], url, collection);
      }
    }
  }

  async get(externalId: string, signal?: AbortSignal): Promise<ListedItem> {
    const found = await this.find(externalId, signal);
    if (!found) return { ok: false, externalId, code: 'policy_not_found', message: 'The policy does not exist at the source (404 in every collection).' };
    return found.item;
  }

  async apply(policy: Pick<SourcePolicy, 'externalId' | 'policyType' | 'name' | 'settings'>, signal?: AbortSignal): Promise<void> {
    const body = JSON.stringify({ ...policy.settings, '@odata.type': policy.policyType });
    const known = this.typeCollections.get(policy.policyType);
    if (known && (await this.patch(known, policy.externalId, body, signal))) return;
    const found = await this.find(policy.externalId, signal);
    if (!found) throw this.error('source_apply_failed', `Policy ${policy.externalId} does not exist at the source any more; it cannot be written back.`);
    if (found.collection !== known && (await this.patch(found.collection, policy.externalId, body, signal))) return;
    throw this.error('source_apply_failed', `PATCH ${found.collection}: policy ${policy.externalId} was not found.`);
  }

  /** False on 404 (not in this collection); throws for every other refusal. */
  private async patch(collection: string, externalId: string, body: string, signal?: AbortSignal): Promise<boolean> {
    const what = `PATCH ${collection}`;
    const response = await this.send({ method: 'PATCH', url: this.itemUrl(collection, externalId), what, body, signal });
    if (response.status === 404) return false;
    if (response.status >= 400 && response.status < 500 && response.status !== 401 && response.status !== 403) {
      const code = graphErrorCode(response.body);
      throw this.error('source_apply_failed', `${what}: the source refused the policy (${response.status}${code ? ` ${code}` : ''}).`);
    }
    this.expectOk(response, what);
    return true;
  }

  private async find(externalId: string, signal?: AbortSignal): Promise<{ collection: string; item: ListedItem } | null> {
    for (const collection of this.options.collections) {
      const what = `GET ${collection}/{id}`;
      const response = await this.send({ method: 'GET', url: this.itemUrl(collection, externalId), what, signal });
      if (response.status === 404) continue;
      this.expectOk(response, what);
      const item = this.item(this.json(response, what), collection, externalId);
      return { collection, item };
    }
    return null;
  }

  /** One listed value as a policy, or the item failure that says why it cannot be one. */
  private item(raw: unknown, collection: string, position: string): ListedItem {
    const unreadable = (externalId: string, why: string): ListedItem => ({ ok: false, externalId, code: 'source_item_unreadable', message: this.clean(why) });
    if (!isObject(raw)) return unreadable(position, 'The source listed an entry that is not an object.');
    const { id, displayName, '@odata.type': policyType, lastModifiedDateTime } = raw;
    if (!safeText(id, MAX_ID_LENGTH)) return unreadable(position, `The source listed a policy without a usable id (a string of 1-${MAX_ID_LENGTH} characters).`);
    if (typeof displayName !== 'string' || !displayName.trim() || displayName.includes('\0') || !displayName.isWellFormed()) {
      return unreadable(id, 'The policy has no displayName.');
    }
    if (!safeText(policyType, MAX_TYPE_LENGTH)) return unreadable(id, "The policy has no '@odata.type'.");
    const settings: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(raw)) {
      if (key === 'id' || key === 'displayName' || key === 'lastModifiedDateTime' || key.startsWith('@odata.')) continue;
      Object.defineProperty(settings, key, { value, enumerable: true, writable: true, configurable: true });
    }
    const { unsafePaths, tooDeep } = inspectInput(settings);
    if (tooDeep) return unreadable(id, 'The policy settings nest too deeply to be stored.');
    if (unsafePaths.length > 0) return unreadable(id, 'The policy settings contain text that cannot be stored (NUL bytes or malformed Unicode).');
    const modified = typeof lastModifiedDateTime === 'string' ? new Date(lastModifiedDateTime) : null;
    this.typeCollections.set(policyType, collection);
    return checked({
      externalId: id,
      name: [...displayName].slice(0, MAX_NAME_LENGTH).join(''),
      policyType,
      lastModified: modified && !Number.isNaN(modified.getTime()) ? modified.toISOString() : null,
      settings,
    });
  }

  private collectionUrl(collection: string): URL {
    return new URL(`${this.base.href.replace(/\/+$/, '')}/${collection}`);
  }

  private itemUrl(collection: string, externalId: string): URL {
    return new URL(`${this.collectionUrl(collection).href}/${encodeURIComponent(externalId)}`);
  }

  /** The next page, when the answer names one on the base URL's origin. */
  private nextLink(link: unknown, current: URL, collection: string): URL | null {
    if (link === undefined || link === null) return null;
    let next: URL | null;
    try {
      next = typeof link === 'string' ? new URL(link, current) : null;
    } catch {
      next = null;
    }
    if (!next) throw this.error('source_unavailable', `GET ${collection}: '@odata.nextLink' is not a URL.`);
    if (next.origin !== this.base.origin) {
      throw this.error('source_unavailable', `GET ${collection}: refused to follow '@odata.nextLink' to another origin (${next.origin}).`);
    }
    if (next.href === current.href) throw this.error('source_unavailable', `GET ${collection}: '@odata.nextLink' points at the same page again.`);
    return next;
  }

  private json(response: OutboundResponse, what: string): unknown {
    try {
      return JSON.parse(response.body.toString('utf8'));
    } catch {
      throw this.error('source_unavailable', `${what}: the answer is not valid JSON.`);
    }
  }

  /** 2xx passes; everything else becomes the SourceError its status means. */
  private expectOk(response: OutboundResponse, what: string): void {
    const { status } = response;
    if (status >= 200 && status < 300) return;
    const code = graphErrorCode(response.body);
    const detail = `${status}${code ? ` ${code}` : ''}`;
    if (status === 401 || status === 403) throw this.error('source_unauthorized', `${what}: the source refused the credential (${detail}).`);
    if (status >= 300 && status < 400) throw this.error('source_unavailable', `${what}: the source answered with a redirect (${status}), which is not followed.`);
    if (status === 404) throw this.error('source_misconfigured', `${what}: not found (404); check the base URL and collections.`);
    if (status >= 400 && status < 500) throw this.error('source_misconfigured', `${what}: the source refused the request (${detail}).`);
    throw this.error('source_unavailable', `${what}: the source answered ${detail}.`);
  }

  /** One request with its retries (429/503), the credential, and a fresh token after a 401 of an expired one. */
  private async send(exchange: Exchange): Promise<OutboundResponse> {
    const started = Date.now();
    let retries = 0;
    let renewedToken = false;
    for (;;) {
      const headers: Record<string, string> = { accept: 'application/json' };
      if (exchange.body !== undefined) headers['content-type'] = exchange.form ? 'application/x-www-form-urlencoded' : 'application/json';
      if (exchange.auth !== false) {
        const token = await this.accessToken(exchange.signal);
        if (token) headers.authorization = `Bearer ${token}`;
      }
      const response = await this.exchange(exchange, headers);
      let busy = '';
      if (response.status === 429 || response.status === 503) {
        const asked = retryAfterMs(response.headers['retry-after']);
        const wait = asked ?? this.retry.defaultWaitMs * 2 ** retries;
        if (retries >= this.retry.maxRetries) busy = `did not recover within ${retries} retries`;
        else if (wait > this.retry.maxWaitMs || Date.now() - started + wait > this.retry.budgetMs) busy = `asked to wait ${Math.ceil(wait / 1000)} s, beyond the retry budget`;
        else {
          retries += 1;
          this.options.logger?.warn({ what: exchange.what, status: response.status, waitMs: wait, retry: retries }, 'policy source throttled; retrying');
          await sleep(wait, exchange.signal);
          continue;
        }
      }
      if (response.status === 401 && exchange.auth !== false && this.options.credential?.type === 'client_credentials' && !renewedToken) {
        renewedToken = true;
        this.token = null;
        continue;
      }
      if (busy) throw this.error('source_unavailable', `${exchange.what}: the source is busy (${response.status}) and ${busy}.`);
      return response;
    }
  }

  private async exchange(exchange: Exchange, headers: Record<string, string>): Promise<OutboundResponse> {
    try {
      return await this.http.request(exchange.url, {
        method: exchange.method,
        headers,
        ...(exchange.body !== undefined ? { body: exchange.body } : {}),
        ...(exchange.signal ? { signal: exchange.signal } : {}),
        timeoutMs: this.options.timeoutMs,
        maxBytes: exchange.maxBytes ?? MAX_PAGE_BYTES,
      });
    } catch (error) {
      if (!(error instanceof OutboundError)) throw error; // the caller's own abort reason
      const why = error.kind === 'refused' ? error.message : `${error.message} (${exchange.url.host})`;
      throw this.error('source_unavailable', `${exchange.what}: ${why}`);
    }
  }

  /** The bearer token to send: the configured one, or a client-credentials token (cached until shortly before it expires). */
  private async accessToken(signal?: AbortSignal): Promise<string | null> {
    const { credential } = this.options;
    if (!credential) return null;
    if (credential.type === 'bearer') return credential.token;
    if (this.token && Date.now() < this.token.expiresAt) return this.token.value;
    // Concurrent calls share one token request.
    this.tokenRequest ??= this.fetchToken(credential, signal).finally(() => {
      this.tokenRequest = null;
    });
    return this.tokenRequest;
  }

  private async fetchToken(credential: Extract<SourceCredential, { type: 'client_credentials' }>, signal?: AbortSignal): Promise<string> {
    const what = 'POST token endpoint';
    const form = new URLSearchParams({ grant_type: 'client_credentials', client_id: credential.clientId, client_secret: credential.clientSecret });
    if (credential.scope) form.set('scope', credential.scope);
    const response = await this.send({ method: 'POST', url: new URL(credential.tokenUrl), what, body: form.toString(), form: true, auth: false, signal, maxBytes: MAX_TOKEN_BYTES });
    if (response.status === 400 || response.status === 401 || response.status === 403) {
      const code = graphErrorCode(response.body);
      throw this.error('source_unauthorized', `${what}: the client credentials were refused (${response.status}${code ? ` ${code}` : ''}).`);
    }
    this.expectOk(response, what);
    const body = this.json(response, what);
    const token = isObject(body) ? body.access_token : undefined;
    if (typeof token !== 'string' || !/^[\x21-\x7e]{1,16384}$/.test(token)) throw this.error('source_unavailable', `${what}: the answer has no usable access_token.`);
    this.secrets.add(token);
    const expiresIn = isObject(body) ? Number(body.expires_in) : Number.NaN;
    // Renewed a minute early (or at half-life for short tokens); 5 minutes when the endpoint does not say.
    const lifetimeMs = Number.isFinite(expiresIn) && expiresIn > 0 ? (expiresIn > 120 ? expiresIn - 60 : expiresIn / 2) * 1000 : 300_000;
    this.token = { value: token, expiresAt: Date.now() + lifetimeMs };
    return token;
  }

  /** A message safe to store and show: known secrets removed by value, then the sanitizer's rules. */
  private clean(message: string): string {
    let text = message;
    for (const secret of this.secrets) if (secret.length >= 4) text = text.split(secret).join('[redacted]');
    return sanitizeMessage(text);
  }

  private error(code: SourceErrorCode, message: string): SourceError {
    return new SourceError(code, this.clean(message));
  }
}
