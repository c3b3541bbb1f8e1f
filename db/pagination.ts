// Keyset cursors: the (created_at, id) of the last row of a page, opaque to clients (base64url JSON).
// created_at keeps PostgreSQL's microseconds (a JS Date would cut them and skip rows of the same millisecond).

export class InvalidCursorError extends Error {
  override name = 'InvalidCursorError';
}

const ISO_INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** SQL for the cursor instant of a row: UTC with microseconds, e.g. 2026-11-23T10:00:00.123456Z. */
export const cursorInstant = (column: string) => `to_char(${column} at time zone 'utc', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;

export function encodeCursor(createdAt: string, id: string): string {
  return Buffer.from(JSON.stringify([createdAt, id])).toString('base64url');
}

/** The instant exists as written (no 2026-02-30 or 25:00 that Date would roll over). */
function sameInstant(value: string): boolean {
  const date = new Date(value);
  // Years our rows can have (PostgreSQL has no year 0, which Date accepts).
  const year = Number(value.slice(0, 4));
  return year >= 1970 && !Number.isNaN(date.getTime()) && date.toISOString().slice(0, 23) === value.slice(0, 23);
}

export function decodeCursor(cursor: string): { createdAt: string; id: string } {
  try {
    if (cursor.length > 200) throw new Error('too long');
    const value: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (!Array.isArray(value) || value.length !== 2) throw new Error('shape');
    const [createdAt, id] = value as unknown[];
    // Only the exact form we issue (toISOString), so nothing odd ever reaches a timestamptz cast.
    if (typeof createdAt !== 'string' || !ISO_INSTANT.test(createdAt) || !sameInstant(createdAt)) {
      throw new Error('date');
    }
    if (typeof id !== 'string' || !UUID.test(id)) throw new Error('id');
    return { createdAt, id };
  } catch {
    throw new InvalidCursorError('cursor is not valid');
  }
}
