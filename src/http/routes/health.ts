import type { FastifyInstance } from 'fastify';
import type { Store } from '../../store/store.js';
import { HttpError } from '../errors.js';

export function healthRoutes(app: FastifyInstance, deps: { store: Store; readinessChecks?: Array<() => Promise<void>> }): void {
  const open = { public: true } as const;
  app.get('/healthz', { config: open, schema: { summary: 'The process is alive', tags: ['Operations'], security: [] } }, async () => ({
    status: 'ok',
  }));
  app.get(
    '/readyz',
    { config: open, schema: { summary: 'The store and the rate limiter are reachable', tags: ['Operations'], security: [] } },
    async () => {
      try {
        await deps.store.ping();
        for (const check of deps.readinessChecks ?? []) await check();
      } catch {
        throw new HttpError(503, 'Not ready: the store or the rate limiter is unreachable.');
      }
      return { status: 'ready' };
    },
  );
}
