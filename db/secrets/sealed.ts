// Secrets at rest (policy-source credentials, webhook signing secrets): AES-256-GCM under a key from
// configuration (never the database), a random 96-bit IV per encryption, and associated data naming what the
// text belongs to, so a ciphertext copied to another row or tenant does not open. Text format:
// `v1.<iv>.<tag>.<ciphertext>` (base64url parts).
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

export const SEALED_VERSION = 'v1';
const IV_BYTES = 12;
const TAG_BYTES = 16;

export function seal(key: Buffer, associatedData: string, plaintext: string): string {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(Buffer.from(associatedData, 'utf8'));
  const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return [SEALED_VERSION, iv, cipher.getAuthTag(), ciphertext].map((part) => (typeof part === 'string' ? part : part.toString('base64url'))).join('.');
}

/** Why a sealed text did not open: not in the format this version writes, or not under this key and data. */
export type UnsealFailure = 'format' | 'mismatch';

/** The plaintext, or why it cannot be had (the caller words the error; nothing here echoes the text or key). */
export function unseal(key: Buffer, associatedData: string, text: string): { ok: true; plaintext: string } | { ok: false; failure: UnsealFailure } {
  const parts = text.split('.');
  if (parts.length !== 4 || parts[0] !== SEALED_VERSION) return { ok: false, failure: 'format' };
  const [iv, tag, ciphertext] = parts.slice(1).map((part) => Buffer.from(part, 'base64url')) as [Buffer, Buffer, Buffer];
  if (iv.length !== IV_BYTES || tag.length !== TAG_BYTES) return { ok: false, failure: 'mismatch' };
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
    decipher.setAAD(Buffer.from(associatedData, 'utf8'));
    decipher.setAuthTag(tag);
    return { ok: true, plaintext: Buffer.concat([decipher.update(ciphertext), decipher.final()]).toString('utf8') };
  } catch {
    return { ok: false, failure: 'mismatch' };
  }
}
