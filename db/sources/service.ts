import type { Config } from '../config.ts';
import { AppError, validationFailed } from '../errors.ts';
import type { Logger } from '../logger.ts';
import { issueDetails } from '../validation.ts';
import { encryptCredential, decryptCredential } from './credentials.ts';
import type { SourceKind } from './entity.ts';
import { GraphSource } from './graph.ts';
import {
  normalizeBaseUrl,
  policySourceInput,
  resolveSimulated,
  SIMULATED_LIMITS,
  type ResolvedSimulatedSettings,
  type SourceCredential,
} from './schema.ts';
import { SimulatedSource } from './simulated.ts';
import { SourceError, type PolicySourceClient } from './source.ts';
import type { PolicySourceRow, PolicySourceStore } from './store.ts';
import { checkTarget } from '../outbound/targets.ts';

/** A tenant's policy source as members see it (docs/api.md §10): never the credential, only whether there is one. */
export type PolicySourceView = {
  kind: SourceKind;
  /** `graph` only; null for `simulated`. */
  baseUrl: string | null;
  collections: string[];
  hasCredential: boolean;
  /** `simulated` only: its settings with the defaults filled in. */
  simulated?: ResolvedSimulatedSettings;
  updatedAt: string;
};

const conflict = () => new AppError(409, 'conflict', 'The policy source was changed at the same time; read it again and retry.');

function toView(row: PolicySourceRow): PolicySourceView {
  return {
    kind: row.kind,
    baseUrl: row.kind === 'graph' ? row.base_url : null,
    collections: row.kind === 'graph' ? row.collections : [],
    hasCredential: row.has_credential,
    ...(row.kind === 'simulated' ? { simulated: resolveSimulated(row.simulated) } : {}),
    updatedAt: row.updated_at.toISOString(),
  };
}

/**
 * Where each tenant's policies are read and restores applied: set by an owner (API, CLI), opened by workers.
 * The credential of a `graph` source is encrypted before it is stored and decrypted only in open().
 */
export class PolicySourceService {
  constructor(
    private readonly store: PolicySourceStore,
    private readonly config: Pick<Config, 'sourceCredentialsKey' | 'allowPrivateTargets' | 'sourceTimeoutMs'>,
    private readonly logger?: Logger,
  ) {}

  async view(tenantId: string): Promise<PolicySourceView | null> {
    const row = await this.store.findView(tenantId);
    return row ? toView(row) : null;
  }

  /**
   * Sets the tenant's source. Bad input is a 400 `validation_failed` with details and changes nothing. For
   * `graph`: a private base URL (or token URL) is refused unless ALLOW_PRIVATE_TARGETS; `credential` omitted
   * keeps the stored one while the base URL stays on the same origin (a credential is never sent to a new
   * origin without being given again), `null` removes it. Switching to `simulated` removes the credential.
   */
  async set(tenantId: string, actorUserId: string | null, input: unknown): Promise<PolicySourceView> {
    const parsed = policySourceInput.safeParse(input);
    if (!parsed.success) throw validationFailed(issueDetails(parsed.error));
    const body = parsed.data;
    if (body.kind === 'simulated') {
      return this.write({ tenantId, kind: 'simulated', baseUrl: null, collections: [], simulated: body.simulated ?? {}, updatedById: actorUserId }, { set: null });
    }
    const baseUrl = normalizeBaseUrl(body.baseUrl)!;
    this.checkTarget('baseUrl', baseUrl);
    const source = { tenantId, kind: 'graph' as const, baseUrl, collections: body.collections, simulated: null, updatedById: actorUserId };
    if (body.credential === null) return this.write(source, { set: null });
    if (body.credential) return this.write(source, { set: this.encrypt(tenantId, body.credential) });

    const existing = await this.store.findView(tenantId);
    if (!existing?.has_credential || existing.kind !== 'graph') {
      return this.write(source, { keep: true, expectedUpdatedAt: existing?.updated_at ?? null });
    }
    if (new URL(existing.base_url!).origin !== new URL(baseUrl).origin) {
      throw validationFailed(
        [{ path: 'credential', message: 'must be given again when the base URL moves to another origin (or null for none)' }],
        'The stored credential is only kept for the same origin; give it again for the new base URL.',
      );
    }
    return this.write(source, { keep: true, expectedUpdatedAt: existing.updated_at });
  }

  /** The demo's and tests' shortcut: a simulated source with these settings (validated like the API's). */
  async setSimulated(tenantId: string, settings: unknown = {}, actorUserId: string | null = null): Promise<PolicySourceView> {
    return this.set(tenantId, actorUserId, { kind: 'simulated', simulated: settings });
  }

  /**
   * Moves a simulated source's revision (clamped to its bounds) so the next sync sees +1 / −1 / 2 modified
   * policies per step: the demo's drift. The new revision, or null when the tenant's source is not simulated.
   */
  async moveRevision(tenantId: string, by = 1): Promise<number | null> {
    if (!Number.isSafeInteger(by)) throw validationFailed([{ path: 'by', message: 'must be an integer' }]);
    return this.store.moveRevision(tenantId, by, SIMULATED_LIMITS.revision.max);
  }

  /**
   * The tenant's source, ready to be read — for workers only (pages and GETs render from the database).
   * Throws SourceError: `source_not_configured` without a source, `source_misconfigured` when the stored
   * credential cannot be decrypted.
   */
  async open(tenantId: string): Promise<PolicySourceClient> {
    const row = await this.store.findSecret(tenantId);
    if (!row) throw new SourceError('source_not_configured', 'This tenant has no policy source yet; an owner sets one (docs/api.md §10).');
    if (row.kind === 'simulated') return new SimulatedSource(row.tenant_slug, row.simulated);
    const credential = row.credential_ciphertext ? decryptCredential(this.config.sourceCredentialsKey, tenantId, row.credential_ciphertext) : null;
    return new GraphSource({
      baseUrl: row.base_url!,
      collections: row.collections,
      credential,
      allowPrivateTargets: this.config.allowPrivateTargets,
      timeoutMs: this.config.sourceTimeoutMs,
      ...(this.logger ? { logger: this.logger.child({ tenantId, source: 'graph' }) } : {}),
    });
  }

  private checkTarget(path: string, url: string): void {
    const check = checkTarget(url, { allowPrivate: this.config.allowPrivateTargets });
    if (!check.ok) throw validationFailed([{ path, message: check.message }], `The ${path} is not allowed: ${check.message}.`);
  }

  private encrypt(tenantId: string, credential: SourceCredential): string {
    const key = this.config.sourceCredentialsKey;
    if (!key) {
      throw validationFailed(
        [{ path: 'credential', message: 'cannot be stored: SOURCE_CREDENTIALS_KEY is not set' }],
        'A credential cannot be stored: the server has no SOURCE_CREDENTIALS_KEY (32 bytes, base64) to encrypt it with.',
      );
    }
    if (credential.type === 'client_credentials') this.checkTarget('credential.tokenUrl', normalizeBaseUrl(credential.tokenUrl)!);
    return encryptCredential(key, tenantId, credential);
  }

  private async write(...args: Parameters<PolicySourceStore['upsert']>): Promise<PolicySourceView> {
    const row = await this.store.upsert(...args);
    if (!row) throw conflict();
    return toView(row);
  }
}
