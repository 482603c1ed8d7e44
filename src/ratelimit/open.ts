import type { Logger } from 'pino';
import type { Clock } from '../clock.js';
import type { Config } from '../config.js';
import type { RateLimiter } from './limiter.js';
import { MemoryRateLimiter } from './memory.js';

export async function openRateLimiter(
  config: Config,
  clock: Clock,
  logger: Logger,
): Promise<{ limiter: RateLimiter; readinessChecks: Array<() => Promise<void>> }> {
  if (!config.redisUrl) return { limiter: new MemoryRateLimiter(clock), readinessChecks: [] };
  const { RedisRateLimiter } = await import('./redis.js');
  const limiter = new RedisRateLimiter(config.redisUrl, new MemoryRateLimiter(clock), logger, config.redisKeyPrefix);
  await limiter.connect();
  return { limiter, readinessChecks: [() => limiter.ping()] };
}
