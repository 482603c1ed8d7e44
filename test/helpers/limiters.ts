import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
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
        // A prefix of this run's own: other test runs share the Redis server. Closed, the limiter
        // deletes what it wrote under it, rather than leaving it to the keys' expiry (up to a week).
        const prefix = `coachport-test:${randomBytes(6).toString('hex')}:`;
        const limiter = new RedisRateLimiter(REDIS_TEST_URL, new MemoryRateLimiter(clock), createLogger('silent'), prefix);
        await limiter.connect();
        const close = limiter.close.bind(limiter);
        limiter.close = async () => {
          await deleteKeys(prefix);
          await close();
        };
        return limiter;
      },
    },
  ];
}

/** Deletes every key under `prefix` from the test Redis. */
async function deleteKeys(prefix: string): Promise<void> {
  const redis = new Redis(REDIS_TEST_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await redis.connect();
    for await (const keys of redis.scanStream({ match: `${prefix}*`, count: 500 }) as AsyncIterable<string[]>) {
      if (keys.length > 0) await redis.del(...keys);
    }
  } finally {
    redis.disconnect();
  }
}
