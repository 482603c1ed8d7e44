import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ExportClient } from '../src/client/export-client.js';
import type { ExportSession } from '../src/contract/schemas.js';
import { generateSeed } from '../src/seed/generate.js';
import { storeBackends } from './helpers/backends.js';
import { ManualClock } from './helpers/clock.js';
import { startTestServer, type TestServer } from './helpers/server.js';

/** Early on a working day, when most of the day's sessions have not happened yet. */
const NOW = Date.parse('2026-12-03T08:56:00.000Z');
const SESSIONS = 1500;

/** Every time in a document that says something has already happened, named for the failure message. */
function pastTimes(s: ExportSession): Array<[string, string | null]> {
  return [
    [`session ${s._id} createdAt`, s.createdAt],
    [`session ${s._id} updatedAt`, s.updatedAt],
    ...s.activityLog.map((e, i): [string, string] => [`session ${s._id} log entry ${i} (${e.actionType})`, e.timestamp]),
    ...s.coachingPoints.flatMap(
      (p): Array<[string, string]> => [
        [`point ${p._id} createdAt`, p.createdAt],
        [`point ${p._id} updatedAt`, p.updatedAt],
      ],
    ),
    ...s.todos.flatMap(
      (t): Array<[string, string | null]> => [
        [`to-do ${t._id} createdAt`, t.createdAt],
        [`to-do ${t._id} updatedAt`, t.updatedAt],
        [`to-do ${t._id} completedAt`, t.completedAt],
      ],
    ),
  ];
}

for (const backend of await storeBackends()) {
  describe(`demo data seeded at a given moment (${backend.name})`, () => {
    let server: TestServer;
    let token: string;
    let orgId: string;

    before(async () => {
      server = await startTestServer({ backend, clock: new ManualClock(NOW) });
      ({ token, orgId } = await server.createOrg());
      const plan = generateSeed({ sessions: SESSIONS, days: 30, seed: 1, endMs: NOW, nowMs: NOW });
      await server.store.applyImport(orgId, plan, NOW);
    });
    after(() => server?.close());

    it("exports no creation, change, log entry or completion after the seed's clock; meetings may lie ahead", async () => {
      const client = new ExportClient({ baseUrl: server.url, token, perSecond: 1000, perMinute: 100_000 });
      const sessions: ExportSession[] = [];
      for await (const s of client.exportRange({ from: '2026-10-01', to: '2026-12-31', timeAxis: 'createdAt' })) sessions.push(s);
      assert.equal(sessions.length, SESSIONS);
      const future = sessions.flatMap(pastTimes).filter(([, at]) => at !== null && Date.parse(at) > NOW);
      assert.deepEqual(future.slice(0, 5), [], `${future.length} times after ${new Date(NOW).toISOString()}`);
      // The seed still schedules meetings ahead, as a real team does: only those may be later.
      assert.ok(sessions.some((s) => s.meetingDate !== null && Date.parse(s.meetingDate) > NOW));
      // The last day is seeded up to the clock, not left empty.
      assert.ok(sessions.some((s) => Date.parse(s.createdAt) >= Date.parse('2026-12-03T00:00:00.000Z')));
    });

    it('refuses days that begin after the clock', () => {
      assert.throws(() => generateSeed({ sessions: 10, days: 1, seed: 1, endMs: NOW + 86_400_000, nowMs: NOW }), /after the seed's clock/);
    });
  });
}
