// A policy source's credential at rest: AES-256-GCM under SOURCE_CREDENTIALS_KEY (configuration, never the
// database), a random 96-bit IV per encryption, and the tenant id as associated data, so a ciphertext copied
// to another tenant's row does not decrypt. Text format: `v1.<iv>.<tag>.<ciphertext>` (base64url parts).
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { sourceCredential, type SourceCredential } from './schema.ts';
import { SourceError } from './source.ts';

const VERSION = 'v1';
const IV_BYTES = 12;
const TAG_BYTES = 16;

const aad = (tenantId: string) => Buffer.from(`runboard:policy-source:${VERSION}:${tenantId}`, 'utf8');

export function encryptCredential(key: Buffer, tenantId: string, credential: SourceCredential): string {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(aad(tenantId));
  const ciphertext = Buffer.concat([cipher.update(JSON.stringify(credential), 'utf8'), cipher.final()]);
  return [VERSION, iv, cipher.getAuthTag(), ciphertext].map((part) => (typeof part === 'string' ? part : part.toString('base64url'))).join('.');
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
  const parts = text.split('.');
  if (parts.length !== 4 || parts[0] !== VERSION) {
    throw new SourceError('source_misconfigured', 'The stored credential of the policy source is not in a format this version reads; set it again.');
  }
  const [iv, tag, ciphertext] = parts.slice(1).map((part) => Buffer.from(part, 'base64url')) as [Buffer, Buffer, Buffer];
  let plain: string;
  try {
    if (iv.length !== IV_BYTES || tag.length !== TAG_BYTES) throw new Error('bad lengths');
    const decipher = createDecipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
    decipher.setAAD(aad(tenantId));
    decipher.setAuthTag(tag);
    plain = Buffer.concat([decipher.update(ciphertext), decipher.final()]).toString('utf8');
  } catch {
    throw new SourceError(
      'source_misconfigured',
      'The stored credential of the policy source does not decrypt with SOURCE_CREDENTIALS_KEY (another key, or not this tenant\'s); set it again.',
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(plain);
  } catch {
    parsed = undefined;
  }
  const result = sourceCredential.safeParse(parsed);
  if (!result.success) throw new SourceError('source_misconfigured', 'The stored credential of the policy source is not valid; set it again.');
  return result.data;
}
