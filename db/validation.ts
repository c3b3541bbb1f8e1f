import { z } from 'zod';
import type { ErrorDetail } from './errors.ts';

/** A zod failure as the contract's `details` (at most 20), each path under `root` (e.g. `scope.items`). */
export function issueDetails(error: z.ZodError, root = ''): ErrorDetail[] {
  return error.issues.slice(0, 20).map((issue) => ({
    path: [root, ...issue.path.map(String)].filter(Boolean).join('.'),
    message: issue.message,
  }));
}

/**
 * Text PostgreSQL can store and people can read: no NUL bytes (text and jsonb refuse them) and no lone
 * UTF-16 surrogates (jsonb refuses those too). Checked at the edge so such input is a 400, never a 500.
 */
export function isSafeText(value: string): boolean {
  return !value.includes('\0') && value.isWellFormed();
}

export const safeString = () => z.string().refine(isSafeText, 'must not contain NUL bytes or malformed Unicode');

/** How deep a scope (or any JSON input we walk) may nest; real scopes are a level or two. */
export const MAX_INPUT_DEPTH = 32;

/**
 * Problems in a JSON value, found without recursion (so hostile nesting cannot overflow the stack):
 * paths of keys or strings that are not safe text, and whether it nests deeper than MAX_INPUT_DEPTH.
 */
export function inspectInput(value: unknown): { unsafePaths: string[]; tooDeep: boolean } {
  const unsafePaths: string[] = [];
  const stack: { value: unknown; path: string[] }[] = [{ value, path: [] }];
  while (stack.length > 0) {
    const { value: current, path } = stack.pop()!;
    if (path.length > MAX_INPUT_DEPTH) return { unsafePaths, tooDeep: true };
    if (typeof current === 'string') {
      if (!isSafeText(current)) unsafePaths.push(path.join('.'));
    } else if (current !== null && typeof current === 'object') {
      for (const [key, item] of Object.entries(current)) {
        if (!isSafeText(key)) unsafePaths.push([...path, '(key)'].join('.'));
        else stack.push({ value: item, path: [...path, key] });
      }
    }
  }
  return { unsafePaths, tooDeep: false };
}

// A date, or a date-time with an explicit zone (no local-time ambiguity).
const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})(T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:\d{2}))?$/;

function calendarDayExists(year: number, month: number, day: number): boolean {
  const probe = new Date(Date.UTC(year, month - 1, day));
  return probe.getUTCFullYear() === year && probe.getUTCMonth() === month - 1 && probe.getUTCDate() === day;
}

function parseIsoDate(value: string): Date | null {
  const match = ISO_DATE.exec(value);
  if (!match) return null;
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])];
  if (year < 1970 || year > 9999 || !calendarDayExists(year, month, day)) return null;
  const date = new Date(match[4] ? value : `${value}T00:00:00Z`);
  return Number.isNaN(date.getTime()) ? null : date;
}

/** A strict ISO-8601 date (2026-11-23) or date-time with zone (2026-11-23T10:00:00Z), years 1970–9999. */
export const isoDate = () =>
  z
    .string()
    .max(40)
    .refine((value) => parseIsoDate(value) !== null, 'must be an ISO-8601 date such as 2026-11-23 or 2026-11-23T10:00:00Z')
    .transform((value) => parseIsoDate(value)!);
