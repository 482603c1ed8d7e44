import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { DomainError } from '../coaching/errors.js';
import { isBusy } from '../store/sqlite/writer-dialect.js';
import { ConflictError, StoreBusyError, StoreUnavailableError } from '../store/store.js';

/** An error whose message is meant for the client, with the status and headers to send it with. */
export class HttpError extends Error {
  constructor(
    readonly statusCode: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

const BY_CODE: Record<string, (error: FastifyError) => string> = {
  FST_ERR_CTP_INVALID_MEDIA_TYPE: () => 'The Content-Type is not supported; send the body as application/json.',
  FST_ERR_CTP_BODY_TOO_LARGE: () => 'The request body is larger than this endpoint accepts.',
  FST_ERR_CTP_EMPTY_JSON_BODY: () => 'The request body is empty; send a JSON object.',
  FST_ERR_CTP_INVALID_JSON_BODY: () => 'The request body is not valid JSON.',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: () => 'The Content-Length header does not match the body.',
  FST_ERR_CTP_INVALID_CHARSET: () => 'The request body must be UTF-8.',
  FST_ERR_VALIDATION: (error) => error.message,
  FST_ERR_BAD_URL: () => 'The URL is not valid: a % must begin an escape of UTF-8 bytes, such as %20.',
  FST_ERR_MAX_PARAM_LENGTH: () => 'The URL is too long.',
};

const DOMAIN_STATUS: Record<DomainError['kind'], number> = { invalid: 400, forbidden: 403, not_found: 404, conflict: 409 };

const BY_STATUS: Record<number, string> = {
  400: 'The request is malformed.',
  401: 'Authentication is required.',
  403: 'This token is not allowed to do that.',
  404: 'Not found.',
  405: 'Method not allowed.',
  406: 'Not acceptable.',
  408: 'The request took too long to arrive.',
  413: 'The request body is larger than this endpoint accepts.',
  414: 'The URL is too long.',
  415: 'The Content-Type is not supported; send the body as application/json.',
  431: 'The request headers are too large.',
};

function isConnectionFailure(error: unknown): boolean {
  if (error instanceof StoreUnavailableError) return true;
  // SQLite's busy lock in each of its forms (SQLITE_BUSY, _SNAPSHOT, _RECOVERY, _TIMEOUT) passes.
  if (isBusy(error)) return true;
  const code = (error as { code?: unknown } | null)?.code;
  // Deadlocks, serialization failures and a rename's lock wait run out (40P01, 40001, 55P03) are
  // transient too: a retry succeeds.
  return (
    typeof code === 'string' && ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', '57P01', '57P03', '40P01', '40001', '55P03'].includes(code)
  );
}

/** The status and one-sentence message for any error, never revealing internals. */
export function describeError(error: unknown): { statusCode: number; message: string; headers: Record<string, string> } {
  if (error instanceof HttpError) return { statusCode: error.statusCode, message: error.message, headers: error.headers };
  if (error instanceof DomainError) return { statusCode: DOMAIN_STATUS[error.kind], message: error.message, headers: {} };
  if (error instanceof ConflictError) return { statusCode: 409, message: error.message, headers: {} };
  if (error instanceof StoreBusyError) {
    return { statusCode: 503, message: error.message, headers: { 'Retry-After': String(error.retryAfterSeconds) } };
  }
  if (isConnectionFailure(error)) {
    return { statusCode: 503, message: 'The service is temporarily unavailable; try again shortly.', headers: { 'Retry-After': '1' } };
  }
  const fastifyError = error as Partial<FastifyError>;
  const status = fastifyError.statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    const byCode = fastifyError.code ? BY_CODE[fastifyError.code] : undefined;
    if (byCode) return { statusCode: status, message: byCode(fastifyError as FastifyError), headers: {} };
    if (error instanceof SyntaxError || /JSON|prototype/i.test(fastifyError.message ?? '')) {
      return { statusCode: 400, message: 'The request body is not valid JSON, or uses a forbidden key such as __proto__.', headers: {} };
    }
    return { statusCode: status, message: BY_STATUS[status] ?? 'The request could not be processed.', headers: {} };
  }
  return { statusCode: 500, message: 'Internal server error.', headers: {} };
}

/**
 * The errors Fastify's router answers before any route (Fastify's `frameworkErrors`: a URL that
 * does not decode, a path parameter over the router's limit), in the same shape.
 */
export function answerFrameworkError(error: FastifyError, _request: FastifyRequest, reply: FastifyReply): void {
  const { statusCode, message } = describeError(error);
  void reply.code(statusCode).type('application/json; charset=utf-8').send({ error: message });
}

/** Every error of every route leaves as {"error": "..."}; the framework's own shape never does. */
export function installErrorShape(app: FastifyInstance): void {
  app.setErrorHandler((error, request, reply) => {
    const { statusCode, message, headers } = describeError(error);
    // Deliberate answers (a 503 from /readyz) are not failures; everything else 5xx is.
    if (statusCode >= 500 && !(error instanceof HttpError)) request.log.error({ err: error }, 'request failed');
    // A gzip export that failed before its first byte has its encoding set already; the error is plain JSON.
    reply.removeHeader('Content-Encoding');
    if (!reply.raw.headersSent) reply.raw.removeHeader('Content-Encoding');
    reply.code(statusCode).headers(headers).type('application/json; charset=utf-8').send({ error: message });
  });
  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0] ?? '';
    reply
      .code(404)
      .type('application/json; charset=utf-8')
      .send({ error: `There is no ${request.method} ${path.slice(0, 200)} endpoint.` });
  });
}

/** A request Node's HTTP parser refused (headers too large, a malformed request line). */
export function answerClientError(error: Error & { code?: string }, socket: Socket): void {
  if (!socket.writable || error.code === 'ECONNRESET') {
    socket.destroy();
    return;
  }
  const status = error.code === 'HPE_HEADER_OVERFLOW' ? 431 : error.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
  const body = JSON.stringify({ error: BY_STATUS[status] });
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json; charset=utf-8\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}

/** Once the server is closing, new requests on open connections are told to come back. */
export function installShutdownAnswer(app: FastifyInstance): void {
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });
  app.addHook('onRequest', async () => {
    if (closing) throw new HttpError(503, 'The server is shutting down; retry shortly.', { 'Retry-After': '1' });
  });
}
