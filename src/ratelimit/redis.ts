import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { reservation, type Decision, type RateLimiter, type Reservation, type Rule } from './limiter.js';

/**
 * The sliding window of `decide` (limiter.ts), run inside Redis so that every process shares one
 * count, in one round trip, atomically, on the Redis server's clock. Accepted requests are members
 * of a sorted set scored by their time; refused requests are never added.
 *
 * KEYS[1] the bucket; ARGV: record (1|0), a unique member, then limit and window pairs.
 */
const SLIDING_WINDOW = `
local key = KEYS[1]
local record = ARGV[1] == '1'
local member = ARGV[2]
local rules = {}
local longest = 0
for i = 3, #ARGV, 2 do
  local rule = { limit = tonumber(ARGV[i]), window = tonumber(ARGV[i + 1]) }
  table.insert(rules, rule)
  if rule.window > longest then longest = rule.window end
end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', key, '-inf', now - longest)
local raw = redis.call('ZRANGE', key, 0, -1, 'WITHSCORES')
local accepted = {}
for i = 2, #raw, 2 do table.insert(accepted, tonumber(raw[i])) end

local exceeded = 0
local exceededWindow = -1
local retry = 0
local reportRule, reportRemaining, reportReset = 0, -1, 0
for r, rule in ipairs(rules) do
  local since = now - rule.window
  local first = #accepted + 1
  while first > 1 and accepted[first - 1] > since do first = first - 1 end
  local inWindow = #accepted - first + 1
  if inWindow >= rule.limit then
    local wait = accepted[first + inWindow - rule.limit] + rule.window - now
    if wait > retry then retry = wait end
    if rule.window > exceededWindow then exceeded = r; exceededWindow = rule.window end
  elseif exceeded == 0 then
    local remaining = rule.limit - inWindow - 1
    local oldest = now
    if inWindow > 0 then oldest = accepted[first] end
    if reportRule == 0 or remaining < reportRemaining or (remaining == reportRemaining and rule.window > rules[reportRule].window) then
      reportRule, reportRemaining, reportReset = r, remaining, oldest + rule.window - now
    end
  end
end
if exceeded > 0 then
  return { 0, exceeded, retry, rules[exceeded].limit, 0, retry }
end
if record then
  redis.call('ZADD', key, now, member)
  redis.call('PEXPIRE', key, longest)
end
return { 1, 0, 0, rules[reportRule].limit, reportRemaining, reportReset }
`;

type Reply = [number, number, number, number, number, number];

/**
 * Limits shared through Redis. When Redis cannot be reached the service keeps answering with
 * this process's own limiter (logged once), and goes back to Redis as soon as it answers again.
 */
export class RedisRateLimiter implements RateLimiter {
  private readonly redis: Redis;
  private degraded = false;

  /** `prefix` namespaces every key (REDIS_KEY_PREFIX). */
  constructor(
    url: string,
    private readonly fallback: RateLimiter,
    private readonly logger: Logger,
    private readonly prefix = 'coachport:rl:',
  ) {
    this.redis = new Redis(url, {
      // Fail fast while disconnected instead of queueing requests behind a dead connection.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      connectTimeout: 2_000,
      commandTimeout: 1_000,
      lazyConnect: true,
    });
    this.redis.defineCommand('slidingWindow', { numberOfKeys: 1, lua: SLIDING_WINDOW });
    this.redis.on('error', () => undefined);
  }

  /**
   * Connects before the first request, so a starting process does not limit alone while the
   * connection is still being made. If Redis is down at start the process starts degraded and
   * ioredis keeps reconnecting in the background.
   */
  async connect(): Promise<void> {
    try {
      await this.redis.connect();
    } catch (error) {
      this.degraded = true;
      this.logger.warn({ err: error }, 'rate limiter: Redis is unreachable at start; limiting per process until it is back');
    }
  }

  /** Runs `remote` against Redis, or `local` on the process's own limiter while Redis is gone. */
  private async shared<T>(remote: (client: Redis) => Promise<T>, local: () => Promise<T>): Promise<T> {
    try {
      const result = await remote(this.redis);
      if (this.degraded) {
        this.degraded = false;
        this.logger.info('rate limiter: Redis is reachable again; limits are shared again');
      }
      return result;
    } catch (error) {
      if (!this.degraded) {
        this.degraded = true;
        this.logger.warn({ err: error }, 'rate limiter: Redis is unreachable; limiting per process until it is back');
      }
      return local();
    }
  }

  private async slidingWindow(key: string, rules: Rule[], record: boolean, member: string): Promise<Decision> {
    const args = [record ? '1' : '0', member, ...rules.flatMap((r) => [String(r.limit), String(r.windowMs)])];
    const client = this.redis as Redis & { slidingWindow(key: string, ...args: string[]): Promise<Reply> };
    const [allowed, exceeded, retryAfterMs, limit, remaining, resetMs] = await client.slidingWindow(this.prefix + key, ...args);
    return { allowed: allowed === 1, exceeded: exceeded > 0 ? rules[exceeded - 1]! : null, retryAfterMs, limit, remaining, resetMs };
  }

  consume(key: string, rules: Rule[]): Promise<Decision> {
    return this.shared(
      () => this.slidingWindow(key, rules, true, randomBytes(8).toString('hex')),
      () => this.fallback.consume(key, rules),
    );
  }

  peek(key: string, rules: Rule[]): Promise<Decision> {
    return this.shared(
      () => this.slidingWindow(key, rules, false, ''),
      () => this.fallback.peek(key, rules),
    );
  }

  /** The script records the reservation under its own member, so release removes exactly it. */
  reserve(key: string, rules: Rule[]): Promise<Reservation> {
    const member = randomBytes(8).toString('hex');
    return this.shared(
      async () =>
        reservation(await this.slidingWindow(key, rules, true, member), async () => {
          await this.redis.zrem(this.prefix + key, member).catch(() => undefined);
        }),
      () => this.fallback.reserve(key, rules),
    );
  }

  async mark(key: string, ttlMs: number): Promise<void> {
    await this.shared(
      async (redis) => void (await redis.set(this.prefix + key, '1', 'PX', ttlMs)),
      () => this.fallback.mark(key, ttlMs),
    );
  }

  isMarked(key: string): Promise<boolean> {
    return this.shared(
      async (redis) => (await redis.exists(this.prefix + key)) === 1,
      () => this.fallback.isMarked(key),
    );
  }

  async unmark(key: string): Promise<void> {
    await this.shared(
      async (redis) => void (await redis.del(this.prefix + key)),
      () => this.fallback.unmark(key),
    );
  }

  async ping(): Promise<void> {
    await this.redis.ping();
  }

  async close(): Promise<void> {
    this.redis.disconnect();
    await this.fallback.close();
  }
}
