// A policy source's credential at rest, sealed (db/secrets/sealed.ts) under SOURCE_CREDENTIALS_KEY with the
// tenant id as associated data, so a ciphertext copied to another tenant's row does not decrypt.
import { seal, SEALED_VERSION, unseal } from '../secrets/sealed.ts';
import { sourceCredential, type SourceCredential } from './schema.ts';
import { SourceError } from './source.ts';

const aad = (tenantId: string) => `runboard:policy-source:${SEALED_VERSION}:${tenantId}`;

export function encryptCredential(key: Buffer, tenantId: string, credential: SourceCredential): string {
  return seal(key, aad(tenantId), JSON.stringify(credential));
}

/**
 * The credential of a tenant's source. Throws SourceError('source_misconfigured') when no key is configured
 * or the text does not decrypt under it for this tenant (another key, another tenant, tampered) — a run that
 * needs it fails with that code; the message never includes the text or the key.
 */
export function decryptCredential(key: Buffer | undefined, tenantId: string, text: string): SourceCredential {
  if (!key) {
    throw new SourceError('source_misconfigured', 'The policy source has a stored credential but SOURCE_CREDENTIALS_KEY is not set, so it cannot be read.');
  }
  const opened = unseal(key, aad(tenantId), text);
  if (!opened.ok && opened.failure === 'format') {
    throw new SourceError('source_misconfigured', 'The stored credential of the policy source is not in a format this version reads; set it again.');
  }
  if (!opened.ok) {
    throw new SourceError(
      'source_misconfigured',
      'The stored credential of the policy source does not decrypt with SOURCE_CREDENTIALS_KEY (another key, or not this tenant\'s); set it again.',
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(opened.plaintext);
  } catch {
    parsed = undefined;
  }
  const result = sourceCredential.safeParse(parsed);
  if (!result.success) throw new SourceError('source_misconfigured', 'The stored credential of the policy source is not valid; set it again.');
  return result.data;
}
