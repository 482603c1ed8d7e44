import type { Clock } from '../../src/clock.js';

/** Time that moves only when a test moves it. */
export class ManualClock implements Clock {
  constructor(private current = Date.parse('2024-03-01T12:00:00.000Z')) {}

  now(): number {
    return this.current;
  }

  advance(ms: number): void {
    this.current += ms;
  }

  set(ms: number): void {
    this.current = ms;
  }
}
