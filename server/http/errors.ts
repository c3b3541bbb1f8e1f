import type { ErrorRequestHandler, RequestHandler } from 'express';
import { AppError, isDatabaseUnavailable, serviceUnavailable } from '../../db/errors.ts';
import { InvalidCursorError } from '../../db/pagination.ts';
import { DispatchFailedError } from '../../db/runs/start.ts';
import type { Logger } from '../../db/logger.ts';

type HttpStackError = Error & { type?: string; status?: number; statusCode?: number };

/** Express 5 forwards rejected promises here. Known errors keep their status; anything else is a bare 500. */
export function errorHandler(logger: Logger): ErrorRequestHandler {
  return (error: unknown, req, res, _next) => {
    if (res.headersSent) return;
    if (error instanceof DispatchFailedError) {
      res.status(503).json({ error: { code: error.code, message: error.message }, run: error.run });
      return;
    }
    if (error instanceof AppError) {
      const body: Record<string, unknown> = { code: error.code, message: error.message };
      if (error.details) body.details = error.details;
      res.status(error.status).json({ error: body });
      return;
    }
    if (error instanceof InvalidCursorError) {
      res.status(400).json({
        error: { code: 'validation_failed', message: 'The request is not valid.', details: [{ path: 'cursor', message: 'Not a valid cursor.' }] },
      });
      return;
    }
    // Errors of the HTTP stack itself (body parser, router): malformed JSON or encoding, undecodable
    // percent-escapes in a path. Their text may echo the input, so only a fixed message goes out.
    const httpError = error as HttpStackError;
    const status = httpError?.status ?? httpError?.statusCode;
    if (status === 413 || httpError?.type === 'entity.too.large') {
      res.status(413).json({ error: { code: 'payload_too_large', message: 'The request body is too large.' } });
      return;
    }
    if (typeof status === 'number' && status >= 400 && status < 500) {
      res.status(400).json({
        error: { code: 'validation_failed', message: 'The request could not be read.', details: [{ path: '', message: 'Malformed request.' }] },
      });
      return;
    }
    // The database went away mid-request (restart, failover, a dropped connection): the request did not fail,
    // the service is briefly unavailable — a 503 the client may retry, not an internal error.
    if (isDatabaseUnavailable(error)) {
      logger.warn({ err: (error as Error).message, route: req.route?.path, method: req.method }, 'database unavailable');
      const unavailable = serviceUnavailable();
      res.status(503).set('Retry-After', '1').json({ error: { code: unavailable.code, message: unavailable.message } });
      return;
    }
    logger.error({ err: (error as Error)?.message, route: req.route?.path, method: req.method }, 'unhandled error');
    res.status(500).json({ error: { code: 'internal_error', message: 'Something went wrong on our side.' } });
  };
}

export const notFoundHandler: RequestHandler = (_req, res) => {
  res.status(404).json({ error: { code: 'not_found', message: 'No such endpoint.' } });
};
