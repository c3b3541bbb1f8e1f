// What a form whose body is built in the browser and judged by the server gets back (see server-form.svelte.ts):
// its body or errors at its fields, and a refused save placed at the fields. Pure.
import type { ErrorBody } from '../../../server/http/contract.ts';

export type Built<F extends string, B> = { ok: true; body: B } | { ok: false; errors: Partial<Record<F, string>> };
export type Saved<F extends string> = { ok: true } | { ok: false; fields: Partial<Record<F, string>>; message: string | null };

type Detail = NonNullable<ErrorBody['error']['details']>[number];
type Placed<F extends string> = { fields: Partial<Record<F, string>>; general: string[] };

/** An answer of the API that refused the request (`ApiError` in api.ts: its status, message and whole body). */
function isBadRequest(error: unknown): error is { status: 400; message: string; body: unknown } {
  const answer = error as { status?: unknown; message?: unknown } | null;
  return typeof answer === 'object' && answer !== null && answer.status === 400 && typeof answer.message === 'string';
}

/**
 * A refused save as the form shows it: a 400's details placed at their fields by `place` (those of no field, or
 * the answer's message when none could be placed, as the problem); any other error in `otherwise`'s words.
 */
export function refused<F extends string>(
  error: unknown,
  place: (details: readonly Detail[]) => Placed<F>,
  otherwise: (error: unknown) => string,
): Saved<F> {
  if (!isBadRequest(error)) return { ok: false, fields: {}, message: otherwise(error) };
  const details = (error.body as Partial<ErrorBody> | null)?.error?.details ?? [];
  const placed = place(details);
  const general = placed.general.join(' ');
  return { ok: false, fields: placed.fields, message: general || (Object.keys(placed.fields).length === 0 ? error.message : null) };
}
