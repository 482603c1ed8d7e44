import { pino, type Logger } from 'pino';

/** Tokens never reach a log line, even if a future serializer starts logging headers. */
export const REDACTED_PATHS = ['req.headers.apitoken', 'req.headers.authorization', 'headers.apitoken', 'token', 'secret'];

export function createLogger(level: string, destination?: NodeJS.WritableStream): Logger {
  const options = { level, redact: { paths: REDACTED_PATHS, censor: '[redacted]' } };
  return destination ? pino(options, destination as pino.DestinationStream) : pino(options);
}
