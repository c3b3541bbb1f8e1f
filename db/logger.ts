import pino from 'pino';

export type Logger = pino.Logger;

/** Structured JSON logs. Anything that may carry a credential is redacted by path before it is written. */
export function createLogger(level: pino.LevelWithSilent, base: Record<string, unknown> = {}): Logger {
  return pino({
    level,
    base,
    redact: {
      paths: [
        'req.headers.authorization',
        'req.headers.cookie',
        'headers.authorization',
        'headers.cookie',
        '*.password',
        '*.token',
        'password',
        'token',
      ],
      censor: '[redacted]',
    },
  });
}
