import type { ClientClock } from '../../src/client/pacer.js';
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

/** The export client's virtual time: sleeping advances it at once, and every sleep is recorded. */
export class VirtualClock implements ClientClock {
  sleeps: number[] = [];

  constructor(public time = Date.parse('2030-01-01T00:00:00.000Z')) {}

  now(): number {
    return this.time;
  }

  async sleep(ms: number): Promise<void> {
    this.sleeps.push(ms);
    this.time += ms;
  }
}
