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
