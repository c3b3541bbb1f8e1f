// Keyset cursors: the (created_at, id) of the last row of a page, opaque to clients (base64url JSON).

export class InvalidCursorError extends Error {
  override name = 'InvalidCursorError';
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function encodeCursor(createdAt: Date | string, id: string): string {
  const at = (createdAt instanceof Date ? createdAt : new Date(createdAt)).toISOString();
  return Buffer.from(JSON.stringify([at, id])).toString('base64url');
}

export function decodeCursor(cursor: string): { createdAt: string; id: string } {
  try {
    if (cursor.length > 200) throw new Error('too long');
    const value: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (!Array.isArray(value) || value.length !== 2) throw new Error('shape');
    const [createdAt, id] = value as unknown[];
    if (typeof createdAt !== 'string' || Number.isNaN(Date.parse(createdAt))) throw new Error('date');
    if (typeof id !== 'string' || !UUID.test(id)) throw new Error('id');
    return { createdAt, id };
  } catch {
    throw new InvalidCursorError('cursor is not valid');
  }
}
