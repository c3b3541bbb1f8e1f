import { createHash, randomBytes } from 'node:crypto';
import type { TokenKind } from './entities.ts';

/** An opaque bearer token: a readable kind prefix and 256 random bits. Only its hash is ever stored. */
export function newToken(kind: TokenKind): { token: string; hash: string } {
  const token = `rb${kind[0]}_${randomBytes(32).toString('base64url')}`;
  return { token, hash: hashToken(token) };
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/** Cheap shape check before any database look-up. */
export function looksLikeToken(value: string): boolean {
  return /^rb[uki]_[A-Za-z0-9_-]{43}$/.test(value);
}
