import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { after, describe, it } from 'node:test';
import { createLogger } from '../src/logger.js';
import { rulesFor } from '../src/ratelimit/limiter.js';
import { MemoryRateLimiter } from '../src/ratelimit/memory.js';
import { RedisRateLimiter } from '../src/ratelimit/redis.js';
import { REDIS_TEST_URL } from './helpers/backends.js';
import { ManualClock } from './helpers/clock.js';
import { deleteKeys, testRedisPrefix } from './helpers/limiters.js';
import { redisUnavailable } from './helpers/redis.js';
import { TcpProxy } from './helpers/tcp-proxy.js';

const skip = await redisUnavailable();
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const EXPORT = rulesFor({ perSecond: 1, perMinute: 30 });

function capturedLogger() {
  const lines: string[] = [];
  const sink = new Writable({
    write: (chunk: Buffer, _e, done) => {
      lines.push(chunk.toString());
      done();
    },
  });
  return { logger: createLogger('info', sink), lines };
}

describe("Redis rate limiter (real Redis, the server's clock)", { skip: skip ?? false }, () => {
  const limiters: RedisRateLimiter[] = [];
  const prefix = testRedisPrefix();
  const limiter = async (url = REDIS_TEST_URL, clock = new ManualClock()) => {
    const made = new RedisRateLimiter(url, new MemoryRateLimiter(clock), capturedLogger().logger, prefix);
    limiters.push(made);
    await made.connect();
    return made;
  };
  after(async () => {
    try {
      for (const l of limiters) await l.close();
    } finally {
      await deleteKeys(prefix);
    }
  });

  it('admits one a second and refuses the next, naming the second, without counting the refusal', async () => {
    const key = `test:${randomBytes(6).toString('hex')}`;
    const rl = await limiter();
    const first = await rl.consume(key, EXPORT);
    assert.equal(first.allowed, true);
    assert.equal(first.remaining, 0);
    const second = await rl.consume(key, EXPORT);
    assert.equal(second.allowed, false);
    assert.equal(second.exceeded?.name, 'second');
    assert.ok(second.retryAfterMs > 0 && second.retryAfterMs <= 1000, `retry after ${second.retryAfterMs}`);
    for (let i = 0; i < 3; i++) assert.equal((await rl.consume(key, EXPORT)).allowed, false);
    await sleep(second.retryAfterMs + 20);
    assert.equal((await rl.consume(key, EXPORT)).allowed, true, 'refusals did not use up quota');
  });

  it('shares one count between limiters (processes) and names the minute when both are full', async () => {
    const key = `test:${randomBytes(6).toString('hex')}`;
    const rules = rulesFor({ perSecond: 3, perMinute: 5 });
    const [a, b] = [await limiter(), await limiter()];
    const results = [];
    for (let i = 0; i < 3; i++) results.push((await a.consume(key, rules)).allowed, (await b.consume(key, rules)).allowed);
    assert.deepEqual(results.filter(Boolean).length, 3);
    await sleep(1050);
    assert.equal((await a.consume(key, rules)).allowed, true);
    assert.equal((await b.consume(key, rules)).allowed, true);
    const full = await a.consume(key, rules);
    assert.equal(full.allowed, false);
    assert.equal(full.exceeded?.name, 'minute');
    assert.equal((await a.peek(key, rules)).allowed, false);
  });

  it("keeps answering from the process's own limiter while Redis is gone, and goes back when it returns", async () => {
    const target = new URL(REDIS_TEST_URL);
    const proxy = new TcpProxy(target.hostname, Number(target.port || 6379));
    const port = await proxy.start();
    const { logger, lines } = capturedLogger();
    const clock = new ManualClock();
    const rl = new RedisRateLimiter(`redis://127.0.0.1:${port}`, new MemoryRateLimiter(clock), logger, prefix);
    limiters.push(rl);
    await rl.connect();
    try {
      await outage(rl, proxy, lines);
    } finally {
      await proxy.cut();
    }
  });
});

async function outage(rl: RedisRateLimiter, proxy: TcpProxy, lines: string[]): Promise<void> {
  const key = `test:${randomBytes(6).toString('hex')}`;
  assert.equal((await rl.consume(key, EXPORT)).allowed, true);
  await rl.ping();

  await proxy.cut();
  const during = [];
  for (let i = 0; i < 3; i++) during.push(await rl.consume(`${key}:down`, EXPORT));
  assert.deepEqual(
    during.map((d) => d.allowed),
    [true, false, false],
    'the fallback still limits',
  );
  assert.equal(lines.filter((l) => l.includes('Redis is unreachable')).length, 1, 'logged once');
  await assert.rejects(rl.ping());

  await proxy.restore();
  let back = false;
  for (let i = 0; i < 60 && !back; i++) {
    await sleep(100);
    back = await rl.ping().then(
      () => true,
      () => false,
    );
  }
  assert.ok(back, 'reconnected to Redis');
  assert.equal((await rl.consume(key, EXPORT)).allowed, false, 'the shared count from before the outage is still in Redis');
  assert.ok(lines.some((l) => l.includes('reachable again')));
}
