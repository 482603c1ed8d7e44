import { SESSION_LIMITS } from '../src/coaching/limits.js';
import type { LogEntryRecord } from '../src/coaching/records.js';
import { newId } from '../src/ids.js';
import type { ImportPlan } from '../src/importer/plan.js';
import type { Store } from '../src/store/store.js';

/** The log each busy session starts with: the size issue #27 measures adding a point at. */
export const BUSY_LOG_ENTRIES = 2_000;
/**
 * Sessions the add-point load rotates over, so none passes the point limit (SPEC §12, 200 a
 * session) for up to 4,000 requests a second over the 5 seconds; at 40 sessions a run at 1,600 a
 * second reached it in its last tenth of a second and had adds refused.
 */
export const BUSY_SESSIONS = 100;

/**
 * Sessions of `coachId` and `agentId` with BUSY_LOG_ENTRIES log entries each, imported in one
 * transaction: what adding a point to a long-running session costs, within the limits.
 */
export async function seedBusySessions(
  store: Store,
  orgId: string,
  people: { coachId: string; agentId: string },
  now: number,
  logEntries = BUSY_LOG_ENTRIES,
): Promise<string[]> {
  const plan: ImportPlan = {
    users: [
      { id: people.coachId, name: 'Bench Coach', role: 'coach' },
      { id: people.agentId, name: 'Bench Agent', role: 'agent' },
    ],
    templates: [],
    sessions: [],
    points: [],
    todos: [],
  };
  for (let n = 0; n < BUSY_SESSIONS; n++) {
    const created = now - logEntries * 1000;
    const log: LogEntryRecord[] = Array.from({ length: logEntries }, (_, i) => ({
      userId: people.coachId,
      userEmail: 'coach@example.test',
      actionType: 'updated',
      descriptions: ['coachNotes changed'],
      timestamp: created + i * 1000,
      ipAddress: '192.168.0.10',
    }));
    plan.sessions.push({
      session: {
        id: newId(created),
        coachingFormName: `${logEntries > 0 ? 'Busy' : 'New'} ${n + 1}`,
        templateId: null,
        meetingFormat: 'live',
        formCreatorId: people.coachId,
        coachId: people.coachId,
        agentId: people.agentId,
        createdAt: created,
        updatedAt: now,
        meetingDate: null,
        sharedWithAgent: false,
        agentConfirmed: false,
        coachConfirmed: false,
        coachNotes: null,
        agentNotes: null,
        isDeleted: false,
      },
      log,
      pointIds: [],
      todoIds: [],
    });
  }
  if (logEntries >= SESSION_LIMITS.activityLog) throw new Error('The busy sessions must leave room in their logs.');
  await store.applyImport(orgId, plan, now);
  return plan.sessions.map(({ session }) => session.id);
}
