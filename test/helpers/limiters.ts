import { randomBytes } from 'node:crypto';
import { createLogger } from '../../src/logger.js';
import type { RateLimiter } from '../../src/ratelimit/limiter.js';
import { MemoryRateLimiter } from '../../src/ratelimit/memory.js';
import { RedisRateLimiter } from '../../src/ratelimit/redis.js';
import { REDIS_TEST_URL } from './backends.js';
import type { ManualClock } from './clock.js';
import { redisUnavailable } from './redis.js';

export interface TestLimiter {
  name: string;
  /** Why this limiter cannot run here, or null. */
  skip: string | null;
  make(clock: ManualClock): Promise<RateLimiter>;
}

/** The in-memory limiter and, where Redis answers, the Redis one, each on a key prefix of its own run. */
export async function testLimiters(): Promise<TestLimiter[]> {
  const skipRedis = await redisUnavailable();
  return [
    { name: 'memory', skip: null, make: async (clock) => new MemoryRateLimiter(clock) },
    {
      name: 'Redis',
      skip: skipRedis,
      async make(clock) {
        // A prefix of this run's own: other test runs share the Redis server.
        const limiter = new RedisRateLimiter(
          REDIS_TEST_URL,
          new MemoryRateLimiter(clock),
          createLogger('silent'),
          `coachport-test:${randomBytes(6).toString('hex')}:`,
        );
        await limiter.connect();
        return limiter;
      },
    },
  ];
}
