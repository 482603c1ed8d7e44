import assert from 'node:assert/strict';
import type { ExportSession } from '../../src/contract/schemas.js';
import { type ImportPlan, planImport } from '../../src/importer/plan.js';
import type { Store } from '../../src/store/store.js';
import { session } from './fixtures.js';

/**
 * A streamed import of `sessions` into `orgId` that has written its first batch and holds its transaction open
 * until `finish`, as a long `coachport import` does; `finish` lets it commit.
 */
export async function importHeldOpen(
  store: Store,
  orgId: string,
  now: number,
  sessions: ExportSession[] = [session({ coachingFormName: 'Imported while held open' })],
): Promise<{ finish(): Promise<void> }> {
  const gate = Promise.withResolvers<void>();
  const firstWritten = Promise.withResolvers<void>();
  async function* batches(): AsyncGenerator<ImportPlan> {
    const planned = planImport(sessions);
    assert.ok(planned.ok);
    yield planned.plan;
    // The store has written the batch and asks for the next: the import's transaction is open.
    firstWritten.resolve();
    await gate.promise;
  }
  const importing = store.importBatches(orgId, batches(), now);
  try {
    await Promise.race([firstWritten.promise, importing]);
  } catch (error) {
    gate.resolve();
    throw error;
  }
  return {
    async finish() {
      gate.resolve();
      await importing;
    },
  };
}
