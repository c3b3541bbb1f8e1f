import type { ErrorBody, ErrorCode } from './api-types.js';

/** One field a `validation_failed` refusal names: `path` (`query.limit`, `succeeded`, …) and what is wrong with it. */
export type ErrorDetail = NonNullable<ErrorBody['error']['details']>[number];

/**
 * The codes a `RunboardError` carries: the API's own (docs/api.md §3), `network_error` when no answer came (after
 * the retries), `unexpected_response` when an answer was not the JSON the contract promises.
 */
export type RunboardErrorCode = ErrorCode | 'network_error' | 'unexpected_response';

/** Everything the client throws for a request: what the API refused, in its error shape, with the HTTP status. */
export class RunboardError extends Error {
  override readonly name = 'RunboardError';
  /** The HTTP status; `0` when no answer came. */
  readonly status: number;
  readonly code: RunboardErrorCode;
  /** With `validation_failed` only: each field that does not fit. */
  readonly details: ErrorDetail[] | undefined;
  /** The answer's `Retry-After` (429, 503), in milliseconds. */
  readonly retryAfterMs: number | undefined;

  constructor(init: {
    status: number;
    code: RunboardErrorCode;
    message: string;
    details?: ErrorDetail[];
    retryAfterMs?: number;
    cause?: unknown;
  }) {
    super(init.message, init.cause === undefined ? undefined : { cause: init.cause });
    this.status = init.status;
    this.code = init.code;
    this.details = init.details;
    this.retryAfterMs = init.retryAfterMs;
  }
}

/** The error of a refused answer: the contract's `{ error: { code, message, details? } }`, or `unexpected_response`. */
export function refusal(status: number, body: unknown, retryAfterMs: number | undefined): RunboardError {
  const error = (body as Partial<ErrorBody> | null)?.error;
  if (error && typeof error.code === 'string' && typeof error.message === 'string') {
    const details = Array.isArray(error.details) ? error.details : undefined;
    return new RunboardError({ status, code: error.code as ErrorCode, message: error.message, details, retryAfterMs });
  }
  return new RunboardError({
    status,
    code: 'unexpected_response',
    message: `Runboard answered ${status} without the expected JSON body.`,
    retryAfterMs,
  });
}
