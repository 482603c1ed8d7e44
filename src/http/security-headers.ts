import type { FastifyInstance } from 'fastify';
import type { Config } from '../config.js';

/**
 * A year, subdomains included: once people reach the service over https, browsers must never try
 * plain http again (sent only when PUBLIC_URL is https: over http the header would be ignored, and
 * a server reached only over http must stay reachable).
 */
export const STRICT_TRANSPORT_SECURITY = 'max-age=31536000; includeSubDomains';

/**
 * Responses are data for programs, never pages to frame or sniff, and carry people's
 * performance records, so nothing may cache them. Cross-origin reads are off unless configured.
 */
export function installSecurityHeaders(app: FastifyInstance, config: Config): void {
  const https = new URL(config.publicUrl).protocol === 'https:';
  app.addHook('onSend', async (_request, reply, payload) => {
    if (https) reply.header('Strict-Transport-Security', STRICT_TRANSPORT_SECURITY);
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
