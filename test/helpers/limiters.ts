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
        const prefix = testRedisPrefix();
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

/** A Redis key prefix of a test run's own: other test runs share the Redis server. */
export const testRedisPrefix = () => `coachport-test:${randomBytes(6).toString('hex')}:`;

/** The keys under `prefix` in the test Redis. */
export async function keysUnder(prefix: string): Promise<string[]> {
  return withTestRedis(async (redis) => {
    const found: string[] = [];
    for await (const keys of redis.scanStream({ match: `${prefix}*`, count: 500 }) as AsyncIterable<string[]>) found.push(...keys);
    return found;
  });
}

/** Deletes every key under `prefix` from the test Redis. */
export async function deleteKeys(prefix: string): Promise<void> {
  const keys = await keysUnder(prefix);
  if (keys.length > 0) await withTestRedis((redis) => redis.del(...keys));
}

async function withTestRedis<T>(use: (redis: Redis) => Promise<T>): Promise<T> {
  const redis = new Redis(REDIS_TEST_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await redis.connect();
    return await use(redis);
  } finally {
    redis.disconnect();
  }
}
