import { pino, type Logger } from 'pino';

/** Tokens never reach a log line, even if a future serializer starts logging headers. */
export const REDACTED_PATHS = [
  'req.headers.apitoken',
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-csrf-token"]',
  'headers.apitoken',
  'token',
  'secret',
];

/** An invite link's secret travels in the path (never a query string); the log keeps the path without it. */
function withoutSecrets(path: string): string {
  return path.replace(/(\/invites?\/)[^/]+/, '$1[redacted]');
}

interface LoggedRequest {
  method?: string;
  url?: string;
  hostname?: string;
  ip?: string;
  socket?: { remotePort?: number };
}

/**
 * Requests are logged without their query string: nothing here reads one, so a client that puts
 * a token in the URL by mistake must not have it written to disk.
 */
export const serializers = {
  req: (req: LoggedRequest) => ({
    method: req.method,
    url: req.url === undefined ? undefined : withoutSecrets(req.url.split('?')[0]!),
    host: req.hostname,
    remoteAddress: req.ip,
    remotePort: req.socket?.remotePort,
  }),
};

export function createLogger(level: string, destination?: NodeJS.WritableStream): Logger {
  const options = { level, redact: { paths: REDACTED_PATHS, censor: '[redacted]' }, serializers };
  return destination ? pino(options, destination as pino.DestinationStream) : pino(options);
}
