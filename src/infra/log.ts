import pino from 'pino';

export type Logger = pino.Logger;

/** Structured JSON logs on stderr, so stdout stays free for command output (`--json`). */
export function createLogger(level: string, name = 'tradeflow'): Logger {
  return pino({ name, level }, pino.destination(2));
}
