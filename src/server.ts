import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { buildApp } from './app.js';
import { systemClock, type Clock } from './clock.js';
import type { Config } from './config.js';
import { createLogger } from './logger.js';
import { openRateLimiter } from './ratelimit/open.js';
import { openStore } from './store/open.js';

export interface RunningServer {
  app: FastifyInstance;
  url: string;
  close(): Promise<void>;
}

/** Opens the store and limiter the configuration names, and listens. */
export async function startServer(config: Config, options: { clock?: Clock; logger?: Logger } = {}): Promise<RunningServer> {
  const logger = options.logger ?? createLogger(config.logLevel);
  const clock = options.clock ?? systemClock;
  const store = await openStore(config.database, { mail: config.events.smtpUrl !== null, exportConnections: config.exportConcurrency });
  const { limiter, readinessChecks } = await openRateLimiter(config, clock, logger);
  const app = await buildApp({ config, store, limiter, clock, logger, readinessChecks });
  const address = await app.listen({ port: config.port, host: config.host });
  let closing: Promise<void> | null = null;
  return {
    app,
    url: address,
    close() {
      // Stop accepting, let in-flight requests (a long export) finish up to the timeout, then release.
      closing ??= (async () => {
        const timer = setTimeout(() => app.server.closeAllConnections(), config.shutdownTimeoutMs);
        try {
          await app.close();
        } finally {
          clearTimeout(timer);
          await limiter.close();
          await store.close();
        }
      })();
      return closing;
    },
  };
}
