// A policy source: where a tenant's policies are read (inventory, backups) and restores are applied. Only
// workers call one; pages and GETs read the database. Implementations: simulated.ts and graph.ts.
import { createHash } from 'node:crypto';
import { canonicalJson } from '../runs/identity.ts';

/** A policy as a source describes it; `settings` is everything but the identifying fields. */
export type SourcePolicy = {
  externalId: string;
  name: string;
  policyType: string;
  /** ISO-8601, or null when the source does not say. */
  lastModified: string | null;
  settings: Record<string, unknown>;
};

/** One entry of a listing: a readable policy, or an item the source listed but could not give us. */
export type ListedItem =
  | { ok: true; policy: SourcePolicy }
  | { ok: false; externalId: string; code: SourceItemCode; message: string };

export type SourceItemCode = 'source_item_unreadable' | 'policy_too_large' | 'policy_not_found';

/** Reasons a whole call fails; each becomes the run's failure code when the run cannot go on. */
export type SourceErrorCode =
  | 'source_unavailable'
  | 'source_unauthorized'
  | 'source_misconfigured'
  | 'source_apply_failed'
  /** The tenant has no policy source yet (an owner sets one: docs/api.md §10). */
  | 'source_not_configured';

/** A failure of the source as a whole (unreachable, refused credentials, garbage answers). */
export class SourceError extends Error {
  override name = 'SourceError';
  constructor(
    readonly code: SourceErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** A policy's settings may be at most this large (serialized): larger ones are item failures. */
export const MAX_POLICY_BYTES = 256 * 1024;

export interface PolicySourceClient {
  /**
   * Every policy, page by page (memory is bounded by a page, not by the tenant). Throws SourceError when
   * the source cannot be read at all; an unreadable single item is a `{ ok: false }` entry instead.
   */
  list(signal?: AbortSignal): AsyncIterable<ListedItem[]>;
  /** One policy; `policy_not_found` / `source_item_unreadable` entries for items it cannot give. */
  get(externalId: string, signal?: AbortSignal): Promise<ListedItem>;
  /** Writes a policy's settings back (a restore). Throws SourceError (`source_apply_failed` for one item refused). */
  apply(policy: Pick<SourcePolicy, 'externalId' | 'policyType' | 'name' | 'settings'>, signal?: AbortSignal): Promise<void>;
}

/** Stable across key order: equal settings always hash the same (sha-256, hex). */
export function settingsHash(settings: Record<string, unknown>): string {
  return createHash('sha256').update(canonicalJson(settings)).digest('hex');
}

/** Checks a policy read from a source against the size bound; returns the listing entry for it. */
export function checked(policy: SourcePolicy): ListedItem {
  const bytes = Buffer.byteLength(JSON.stringify(policy.settings));
  if (bytes > MAX_POLICY_BYTES) {
    return { ok: false, externalId: policy.externalId, code: 'policy_too_large', message: `The policy's settings are ${bytes} bytes; at most ${MAX_POLICY_BYTES} are stored.` };
  }
  return { ok: true, policy };
}
