import type { FastifyInstance } from 'fastify';
import type { Config } from '../config.js';

/**
 * Responses are data for programs, never pages to frame or sniff, and carry people's
 * performance records, so nothing may cache them. Cross-origin reads are off unless configured.
 */
export function installSecurityHeaders(app: FastifyInstance, config: Config): void {
  app.addHook('onSend', async (request, reply, payload) => {
    reply.header('X-Content-Type-Options', 'nosniff');
    reply.header('X-Frame-Options', 'DENY');
    reply.header('Referrer-Policy', 'no-referrer');
    if (!reply.hasHeader('Cache-Control')) reply.header('Cache-Control', 'no-store');
    if (config.corsOrigin) {
      reply.header('Access-Control-Allow-Origin', config.corsOrigin);
      reply.header('Vary', 'Origin');
    }
    return payload;
  });
}
