import type { Clock } from '../clock.js';
import { decide, type Decision, type RateLimiter, type Rule } from './limiter.js';

const SWEEP_EVERY = 1_000;

/** One process's limits, kept in a map of accepted-request times per key. */
export class MemoryRateLimiter implements RateLimiter {
  private readonly accepted = new Map<string, number[]>();
  private calls = 0;

  constructor(private readonly clock: Clock) {}

  private recent(key: string, rules: Rule[], now: number): number[] {
    const horizon = now - Math.max(...rules.map((r) => r.windowMs));
    const times = this.accepted.get(key) ?? [];
    let drop = 0;
    while (drop < times.length && times[drop]! <= horizon) drop++;
    if (drop > 0) times.splice(0, drop);
    return times;
  }

  private sweep(now: number): void {
    for (const [key, times] of this.accepted) {
      // Nothing we limit looks back more than a minute; older keys are only memory.
      if (times.length === 0 || times[times.length - 1]! <= now - 60_000) this.accepted.delete(key);
    }
  }

  async consume(key: string, rules: Rule[]): Promise<Decision> {
    const now = this.clock.now();
    if (++this.calls % SWEEP_EVERY === 0) this.sweep(now);
    const times = this.recent(key, rules, now);
    const decision = decide(times, now, rules);
    if (decision.allowed) {
      times.push(now);
      this.accepted.set(key, times);
    }
    return decision;
  }

  async peek(key: string, rules: Rule[]): Promise<Decision> {
    const now = this.clock.now();
    return decide(this.recent(key, rules, now), now, rules);
  }

  async close(): Promise<void> {
    this.accepted.clear();
  }
}
