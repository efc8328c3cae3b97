import pino, { type Logger, type DestinationStream } from 'pino';

/**
 * JSON logs to stdout. Redaction is a second line of defence: code never puts
 * a secret in a log field in the first place.
 */
export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino({
    level,
    base: { service: 'probectl' },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: {
      paths: ['authorization', '*.authorization', 'headers.authorization', 'token', '*.token', 'password', '*.password', 'secret', '*.secret'],
      censor: '[redacted]',
    },
  }, destination ?? pino.destination({ dest: 1, sync: false }));
}

/** JSON logs to stderr (synchronous): for a CLI command, whose stdout is its own output (a table, --json). */
export function createStderrLogger(level: string): Logger {
  return createLogger(level, pino.destination({ dest: 2, sync: true }));
}
