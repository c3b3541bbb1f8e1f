// Keyset cursors over text keys (a policy's name and external id, a finding's change, name and id): the key
// of a page's last row, opaque to clients (base64url JSON). Names can be long, so these are longer than the
// run list's (created_at, id) cursors; a cursor that was not issued here is a 400 (InvalidCursorError).
import { InvalidCursorError } from '../pagination.ts';
import { isSafeText } from '../validation.ts';

/** Longest cursor accepted (a 400-char name and a 200-char id, multi-byte, fit with room to spare). */
export const MAX_KEYSET_CURSOR = 4_096;
const MAX_PART = 400;

export function encodeKeyset(parts: readonly string[]): string {
  return Buffer.from(JSON.stringify(parts)).toString('base64url');
}

/** The `arity` text parts of a cursor, each safe text of at most 400 chars; anything else is not a cursor. */
export function decodeKeyset(cursor: string, arity: number): string[] {
  try {
    if (cursor.length > MAX_KEYSET_CURSOR) throw new Error('too long');
    const value: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (!Array.isArray(value) || value.length !== arity) throw new Error('shape');
    for (const part of value as unknown[]) {
      if (typeof part !== 'string' || part.length > MAX_PART || !isSafeText(part)) throw new Error('part');
    }
    return value as string[];
  } catch {
    throw new InvalidCursorError('cursor is not valid');
  }
}
