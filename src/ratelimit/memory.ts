import type { Clock } from '../clock.js';
import { decide, reservation, type Decision, type RateLimiter, type Reservation, type Rule } from './limiter.js';

const SWEEP_EVERY = 1_000;

/** One process's limits, kept in a map of accepted-request times per key. */
export class MemoryRateLimiter implements RateLimiter {
  private readonly accepted = new Map<string, number[]>();
  /** The longest window each key was last limited by, so the sweep keeps what a rule still counts. */
  private readonly longest = new Map<string, number>();
  /** Flags and when they expire. */
  private readonly marks = new Map<string, number>();
  private calls = 0;

  constructor(private readonly clock: Clock) {}

  private recent(key: string, rules: Rule[], now: number): number[] {
    const longest = Math.max(...rules.map((r) => r.windowMs));
    this.longest.set(key, longest);
    const horizon = now - longest;
    const times = this.accepted.get(key) ?? [];
    let drop = 0;
    while (drop < times.length && times[drop]! <= horizon) drop++;
    if (drop > 0) times.splice(0, drop);
    return times;
  }

  private sweep(now: number): void {
    for (const [key, times] of this.accepted) {
      if (times.length === 0 || times[times.length - 1]! <= now - (this.longest.get(key) ?? 60_000)) {
        this.accepted.delete(key);
        this.longest.delete(key);
      }
    }
    for (const [key, expires] of this.marks) if (expires <= now) this.marks.delete(key);
  }

  async consume(key: string, rules: Rule[]): Promise<Decision> {
    return this.record(key, rules).decision;
  }

  /** Decides and records in one synchronous step: no other caller can run in between. */
  private record(key: string, rules: Rule[]): { decision: Decision; at: number } {
    const now = this.clock.now();
    if (++this.calls % SWEEP_EVERY === 0) this.sweep(now);
    const times = this.recent(key, rules, now);
    const decision = decide(times, now, rules);
    if (decision.allowed) {
      times.push(now);
      this.accepted.set(key, times);
    }
    return { decision, at: now };
  }

  async reserve(key: string, rules: Rule[]): Promise<Reservation> {
    const { decision, at } = this.record(key, rules);
    return reservation(decision, () => {
      // Any one record at the same time is the same to the window; take the last of them.
      const times = this.accepted.get(key);
      const index = times?.lastIndexOf(at) ?? -1;
      if (index >= 0) times!.splice(index, 1);
    });
  }

  async peek(key: string, rules: Rule[]): Promise<Decision> {
    const now = this.clock.now();
    return decide(this.recent(key, rules, now), now, rules);
  }

  async mark(key: string, ttlMs: number): Promise<void> {
    this.marks.set(key, this.clock.now() + ttlMs);
  }

  async isMarked(key: string): Promise<boolean> {
    const expires = this.marks.get(key);
    return expires !== undefined && expires > this.clock.now();
  }

  async unmark(key: string): Promise<void> {
    this.marks.delete(key);
  }

  async close(): Promise<void> {
    this.accepted.clear();
    this.longest.clear();
    this.marks.clear();
  }
}
