import type { CoachingTx } from '../store/store.js';
import { DomainError } from './errors.js';
import type { SessionRecord } from './records.js';

const hasText = (notes: string | null) => notes !== null && notes !== '';

/**
 * A session given to another agent starts over for them (SPEC §12): sharing and the agent's
 * confirmation go back to false in the same write, and while it holds the previous agent's notes
 * (its own, as this write leaves them, or on a coaching point of it that is not deleted) it cannot
 * change hands, so the new agent never reads them. Sets the flags on `after`; returns the fields
 * it changed, for the log. The same agentId is no reassignment.
 */
export async function reassignAgent(tx: CoachingTx, before: SessionRecord, after: SessionRecord): Promise<Array<keyof SessionRecord>> {
  if (after.agentId === before.agentId) return [];
  if (hasText(after.agentNotes) || (await tx.hasPointAgentNotes(before.id))) {
    throw new DomainError(
      'conflict',
      `Coaching session ${JSON.stringify(before.id)} holds its agent's notes (on the session or a coaching point); ` +
        'they must be cleared before the session is given to another agent.',
    );
  }
  after.sharedWithAgent = false;
  after.agentConfirmed = false;
  return ['sharedWithAgent', 'agentConfirmed'];
}
