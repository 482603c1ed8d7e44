import type { CliContext } from './context.js';

/**
 * An import (or seed) has committed whole, but documents written beside it may show a name it
 * changed as it was (ImportCommittedWithStaleNames): said after its summary, on stderr.
 */
export function sayStaleNames(context: CliContext, stale: string | null): void {
  if (stale) context.tell(`coachport: ${stale}`, { warning: stale });
}
