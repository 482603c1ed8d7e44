import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { FastifyInstance } from 'fastify';

export const REQUEST_ID_HEADER = 'x-request-id';

/** Short and plain, so an id from a proxy can go into a log line and a header as it is. */
const SAFE_ID = /^[A-Za-z0-9._:-]{1,64}$/;

/**
 * Fastify's genReqId: the id a trusted proxy already gave the request (so one id follows it
 * through the proxy's log and ours), else a fresh one. Without a trusted proxy any client could
 * write what it likes into our logs' reqId, so the header is then ignored.
 */
export function requestIdGenerator(trustProxy: boolean | string): (req: IncomingMessage) => string {
  return (req) => {
    if (trustProxy !== false) {
      const header = req.headers[REQUEST_ID_HEADER];
      const value = Array.isArray(header) ? header[0] : header;
      if (value !== undefined && SAFE_ID.test(value)) return value;
    }
    return randomUUID();
  };
}

/** Every response, errors included, names the id its log lines carry (Fastify's reqId). */
export function installRequestIdHeader(app: FastifyInstance): void {
  app.addHook('onRequest', async (request, reply) => {
    reply.header('X-Request-Id', request.id);
  });
}
