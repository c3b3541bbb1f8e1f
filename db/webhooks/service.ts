import { randomUUID } from 'node:crypto';
import type { Catalog } from '../catalog/catalog.ts';
import type { Config } from '../config.ts';
import { AppError, notFound, validationFailed } from '../errors.ts';
import { checkTarget, resolvedHostRefusal } from '../outbound/targets.ts';
import { seal, SEALED_VERSION, unseal } from '../secrets/sealed.ts';
import { MAX_WEBHOOKS_PER_TENANT, type WebhookEvent, type WebhookFormat, type WebhookOutcome } from './model.ts';
import { newWebhookSecret } from './signing.ts';
import type { WebhookStore } from './store.ts';
import { toDeliveryView, toWebhookView, type DeliveryView, type WebhookView } from './view.ts';

export type NewWebhook = { url: string; events: WebhookEvent[]; types?: string[]; outcomes?: WebhookOutcome[]; format?: WebhookFormat };

/** A webhook's secret is sealed with its tenant and id as associated data: copied to another row, it does not open. */
const associatedData = (tenantId: string, webhookId: string) => `runboard:webhook:${SEALED_VERSION}:${tenantId}:${webhookId}`;

/** The key that seals webhook secrets: the one that seals policy-source credentials (one key to keep per install). */
type KeyConfig = Pick<Config, 'sourceCredentialsKey' | 'allowPrivateTargets'>;

/** Outgoing webhooks (docs/api.md §13): owners create, list and delete them and read their delivery logs. */
export class WebhookService {
  constructor(
    private readonly store: WebhookStore,
    private readonly catalog: Catalog,
    private readonly config: KeyConfig,
  ) {}

  async create(tenantId: string, createdBy: string | null, input: NewWebhook): Promise<{ id: string; secret: string; webhook: WebhookView }> {
    const key = this.config.sourceCredentialsKey;
    if (!key) {
      throw new AppError(409, 'not_configured', 'Webhooks need SOURCE_CREDENTIALS_KEY (32 bytes, base64) on the server to keep their signing secrets; none is set.');
    }
    const types = input.types ?? [];
    const unknown = types.flatMap((type, i) => (this.catalog.get(type) ? [] : [{ path: `types.${i}`, message: `${type} is not an operation type of this install` }]));
    if (unknown.length > 0) throw validationFailed(unknown);
    await this.checkUrl(input.url);
    if ((await this.store.count(tenantId)) >= MAX_WEBHOOKS_PER_TENANT) {
      throw new AppError(409, 'limit_reached', `A tenant has at most ${MAX_WEBHOOKS_PER_TENANT} webhooks; delete one first.`);
    }
    const id = randomUUID();
    const secret = newWebhookSecret();
    await this.store.insert({
      id,
      tenant_id: tenantId,
      url: input.url,
      events: input.events,
      types,
      outcomes: input.outcomes ?? [],
      format: input.format ?? 'json',
      secret_ciphertext: seal(key, associatedData(tenantId, id), secret),
      created_by_id: createdBy,
    });
    return { id, secret, webhook: await this.get(tenantId, id) };
  }

  async list(tenantId: string): Promise<WebhookView[]> {
    return (await this.store.list(tenantId)).map(toWebhookView);
  }

  async get(tenantId: string, id: string): Promise<WebhookView> {
    const row = await this.store.get(tenantId, id);
    if (!row) throw notFound('The webhook');
    return toWebhookView(row);
  }

  async delete(tenantId: string, id: string): Promise<void> {
    if (!(await this.store.delete(tenantId, id))) throw notFound('The webhook');
  }

  async deliveries(tenantId: string, id: string): Promise<DeliveryView[]> {
    await this.get(tenantId, id);
    return (await this.store.deliveries(id)).map(toDeliveryView);
  }

  /** A webhook's signing secret, for the worker that signs its deliveries; null when it cannot be opened. */
  secretOf(tenantId: string, webhookId: string, ciphertext: string): string | null {
    const key = this.config.sourceCredentialsKey;
    if (!key) return null;
    const opened = unseal(key, associatedData(tenantId, webhookId), ciphertext);
    return opened.ok ? opened.plaintext : null;
  }

  /** The address rule at creation: the URL's form, and what its host resolves to now (again at every connection). */
  private async checkUrl(url: string): Promise<void> {
    const allowPrivate = this.config.allowPrivateTargets;
    const check = checkTarget(url, { allowPrivate });
    const refusal = check.ok ? await resolvedHostRefusal(check.url.hostname, { allowPrivate }) : check.message;
    if (refusal) throw validationFailed([{ path: 'url', message: refusal }], `The webhook URL is not allowed: ${refusal}.`);
  }
}
