// Errors a service may raise on purpose. The HTTP layer maps each to its status and the contract's
// `{ error: { code, message, details? } }` shape; anything else is an internal error and is never shown.

export type ErrorDetail = { path: string; message: string };

export class AppError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: ErrorDetail[],
  ) {
    super(message);
    this.name = 'AppError';
  }
}

export const validationFailed = (details: ErrorDetail[], message = 'The request is not valid.') =>
  new AppError(400, 'validation_failed', message, details);
export const unauthorized = (message = 'Authentication is required.') => new AppError(401, 'unauthorized', message);
export const forbidden = (message = 'You do not have access to this.') => new AppError(403, 'forbidden', message);
export const notFound = (what = 'The resource') => new AppError(404, 'not_found', `${what} was not found.`);
export const rateLimited = (message = 'Too many attempts. Try again later.') => new AppError(429, 'rate_limited', message);
export const invalidTransition = (message: string) => new AppError(409, 'invalid_transition', message);

/** 503: PostgreSQL (or another backing service) cannot be reached right now; the request may be retried. */
export const serviceUnavailable = () =>
  new AppError(503, 'unavailable', 'The service is briefly unavailable. Try again in a moment.');

/** SQLSTATEs of a lost or refused connection: class 08, admin/crash shutdown, cannot connect now, too many connections. */
const CONNECTION_SQLSTATE = /^(08...|57P0[1-3]|53300)$/;
const CONNECTION_ERRNO = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);
/** node-postgres and its pool report a dropped or unobtainable connection with these texts (no code). */
const CONNECTION_MESSAGE = /Connection terminated|is not queryable|timeout exceeded when trying to connect|Connection ended unexpectedly/i;

/**
 * True when an error means the database connection was lost or could not be had (restart, failover, a
 * terminated backend) rather than anything about the request: the caller answers 503, never 500.
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  for (let e = error, depth = 0; e && typeof e === 'object' && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const { code, message } = e as { code?: unknown; message?: unknown };
    if (typeof code === 'string' && (CONNECTION_SQLSTATE.test(code) || CONNECTION_ERRNO.has(code))) return true;
    if (typeof message === 'string' && CONNECTION_MESSAGE.test(message)) return true;
  }
  return false;
}
