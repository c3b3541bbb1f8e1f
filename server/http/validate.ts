import type { z } from 'zod';
import { notFound, validationFailed } from '../../db/errors.ts';
import { issueDetails } from '../../db/validation.ts';

/** Parses input with a zod schema; failures become a 400 listing each bad field (never the raw input). */
export function parse<T>(schema: z.ZodType<T>, input: unknown, root = ''): T {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  throw validationFailed(issueDetails(result.error, root));
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A path id that is not a UUID cannot name anything: not found, without touching the database. */
export function uuidParam(value: string | undefined, what: string): string {
  if (!value || !UUID.test(value)) throw notFound(what);
  return value.toLowerCase();
}
