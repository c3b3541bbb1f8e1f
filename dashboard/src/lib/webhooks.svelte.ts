// The Webhooks page's state (docs/api.md §13): the tenant's webhooks (owners only), "New webhook" with the signing
// secret of the one just created, "Delete…", and each open delivery log, re-read every 5 s while it is open and the
// tab is visible (deliveries have no live push). The secret lives in this object only — never in the URL, storage
// or a log — and goes when it is dismissed or the page is left. Every (re)connect and `resync` re-reads the list.
import { SvelteMap } from 'svelte/reactivity';
import {
  api,
  ApiError,
  endpoints,
  type DeliveriesAnswer,
  type DeliveryView,
  type WebhookAnswer,
  type WebhookBody,
  type WebhookCreated,
  type WebhooksAnswer,
  type WebhookView,
} from './api.ts';
import { message } from './board.svelte.ts';
import type { LiveChannel } from './live.svelte.ts';
import { OperationTypes } from './operation-types.svelte.ts';
import { refused, type Saved } from './server-form.ts';
import { placeWebhookErrors, type WebhookField } from './webhooks.ts';

/** How often an open delivery log is read again. */
export const LOG_REFRESH_MS = 5_000;

export type CreateResult = Saved<WebhookField>;
/** The signing secret of the webhook just created: shown once, until its owner says it is stored. */
export type NewSecret = { webhookId: string; url: string; secret: string };

const FORBIDDEN = 'Only owners manage webhooks. Your role may have changed: reload the page.';

function problemOf(error: unknown): string {
  return error instanceof ApiError && error.status === 403 ? FORBIDDEN : message(error);
}

export class Webhooks {
  webhooks = $state.raw<WebhookView[]>([]);
  loading = $state(true);
  error = $state<string | null>(null);
  /** The server refused the list: not (any more) an owner of this tenant. */
  forbidden = $state(false);
  created = $state.raw<NewSecret | null>(null);
  /** The open delivery logs, by webhook id. */
  readonly logs = new SvelteMap<string, DeliveryLog>();

  readonly tenant: string;
  readonly catalog: OperationTypes;
  readonly #live: LiveChannel;
  #release: (() => void)[] = [];
  #seq = 0;

  constructor(tenant: string, live: LiveChannel) {
    this.tenant = tenant;
    this.#live = live;
    this.catalog = new OperationTypes(tenant);
  }

  start(): void {
    this.#release.push(
      this.#live.onResync(() => {
        void this.reload();
        for (const log of this.logs.values()) void log.refresh();
      }),
    );
    void this.catalog.load();
    void this.reload();
  }

  dispose(): void {
    for (const release of this.#release) release();
    this.#release = [];
    for (const log of this.logs.values()) log.dispose();
    this.logs.clear();
    this.catalog.dispose();
    this.created = null;
    this.#seq++;
  }

  /** A type's label from the catalog (undefined until it is read, or for a type it does not know). */
  labelOf = (type: string): string | undefined => this.catalog.types.find((t) => t.type === type)?.label;

  async reload(): Promise<void> {
    const seq = ++this.#seq;
    try {
      const answer = await api<WebhooksAnswer>(endpoints.webhooks(this.tenant));
      if (seq !== this.#seq) return;
      this.webhooks = answer.webhooks;
      this.error = null;
      this.forbidden = false;
      for (const id of this.logs.keys()) if (!answer.webhooks.some((w) => w.id === id)) this.#closeLog(id);
    } catch (error) {
      if (seq !== this.#seq) return;
      this.forbidden = error instanceof ApiError && error.status === 403;
      this.error = message(error);
    } finally {
      if (seq === this.#seq) this.loading = false;
    }
  }

  async create(body: WebhookBody): Promise<CreateResult> {
    try {
      const answer = await api<WebhookCreated>(endpoints.webhooks(this.tenant), { method: 'POST', body });
      this.#seq++; // a read under way predates this webhook
      this.webhooks = [...this.webhooks.filter((w) => w.id !== answer.id), answer.webhook];
      this.created = { webhookId: answer.id, url: answer.webhook.url, secret: answer.secret };
      this.loading = false;
      return { ok: true };
    } catch (error) {
      // 400 at the fields; 409 (limit_reached, not_configured) in the server's words, which say what to do.
      return refused(error, placeWebhookErrors, problemOf);
    }
  }

  dismissSecret(): void {
    this.created = null;
  }

  /** Deletes a webhook (its pending deliveries go with it); an error to show, or null when it is gone. */
  async remove(id: string): Promise<string | null> {
    try {
      await api<void>(endpoints.webhook(this.tenant, id), { method: 'DELETE' });
    } catch (error) {
      // Already gone (another tab, another owner): what was asked for is true.
      if (!(error instanceof ApiError && error.status === 404)) return problemOf(error);
    }
    this.#gone(id);
    return null;
  }

  isOpen(id: string): boolean {
    return this.logs.has(id);
  }

  toggleLog(id: string): void {
    if (this.logs.has(id)) {
      this.#closeLog(id);
      return;
    }
    const log = new DeliveryLog(this.tenant, id, {
      onwebhook: (webhook) => (this.webhooks = this.webhooks.map((w) => (w.id === webhook.id ? webhook : w))),
      ongone: () => this.#gone(id),
    });
    this.logs.set(id, log);
    log.start();
  }

  #closeLog(id: string): void {
    this.logs.get(id)?.dispose();
    this.logs.delete(id);
  }

  #gone(id: string): void {
    this.#closeLog(id);
    this.webhooks = this.webhooks.filter((w) => w.id !== id);
    if (this.created?.webhookId === id) this.created = null;
  }
}

/**
 * One webhook's delivery log, newest first, with the webhook itself read beside it (its health moves with the
 * deliveries). Read at once, then again `LOG_REFRESH_MS` after each read ends while the tab is visible; hidden, it
 * waits, and it reads as soon as the tab is shown again.
 */
export class DeliveryLog {
  deliveries = $state.raw<DeliveryView[]>([]);
  loading = $state(true);
  refreshing = $state(false);
  error = $state<string | null>(null);
  readAt = $state<number | null>(null);

  readonly tenant: string;
  readonly webhookId: string;
  readonly #on: { onwebhook: (webhook: WebhookView) => void; ongone: () => void };
  #timer: ReturnType<typeof setTimeout> | undefined;
  #seq = 0;
  #disposed = false;

  constructor(tenant: string, webhookId: string, on: { onwebhook: (webhook: WebhookView) => void; ongone: () => void }) {
    this.tenant = tenant;
    this.webhookId = webhookId;
    this.#on = on;
  }

  start(): void {
    document.addEventListener('visibilitychange', this.#onVisibility);
    void this.refresh();
  }

  dispose(): void {
    this.#disposed = true;
    clearTimeout(this.#timer);
    document.removeEventListener('visibilitychange', this.#onVisibility);
    this.#seq++;
  }

  async refresh(): Promise<void> {
    if (this.#disposed) return;
    clearTimeout(this.#timer);
    const seq = ++this.#seq;
    this.refreshing = true;
    try {
      const [log, one] = await Promise.all([
        api<DeliveriesAnswer>(endpoints.webhookDeliveries(this.tenant, this.webhookId)),
        api<WebhookAnswer>(endpoints.webhook(this.tenant, this.webhookId)),
      ]);
      if (seq !== this.#seq) return;
      this.deliveries = log.deliveries;
      this.readAt = Date.now();
      this.error = null;
      this.#on.onwebhook(one.webhook);
    } catch (error) {
      if (seq !== this.#seq) return;
      if (error instanceof ApiError && error.status === 404) {
        this.#on.ongone();
        return;
      }
      this.error = problemOf(error);
    } finally {
      if (seq === this.#seq) {
        this.loading = false;
        this.refreshing = false;
        this.#schedule();
      }
    }
  }

  #schedule(): void {
    clearTimeout(this.#timer);
    if (this.#disposed || document.visibilityState !== 'visible') return;
    this.#timer = setTimeout(() => void this.refresh(), LOG_REFRESH_MS);
  }

  #onVisibility = (): void => {
    if (document.visibilityState === 'visible') void this.refresh();
    else clearTimeout(this.#timer);
  };
}
