import { Redis } from 'ioredis';
import { REDIS_TEST_URL } from './backends.js';

/** Null when Redis answers; otherwise why not. Under CI an absent Redis fails instead of skipping. */
export async function redisUnavailable(): Promise<string | null> {
  const client = new Redis(REDIS_TEST_URL, { lazyConnect: true, maxRetriesPerRequest: 0, connectTimeout: 2000, enableOfflineQueue: false });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.ping();
    return null;
  } catch (error) {
    const reason = `Redis is not reachable at ${REDIS_TEST_URL} (${(error as Error).message})`;
    if (process.env.CI) throw new Error(`CI requires Redis: ${reason}`);
    process.stdout.write(`# skipping Redis cases: ${reason}\n`);
    return reason;
  } finally {
    client.disconnect();
  }
}
