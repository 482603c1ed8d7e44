import type { ActivityLogEntry, CoachingPoint, ExportSession, Todo } from '../../src/contract/schemas.js';
import { Random } from '../../src/seed/random.js';
import { point, session, todo } from './fixtures.js';

/**
 * Sessions in the export's shape, made to meet every edge case of SPEC §6 on purpose, plus
 * random ones around them; imported through the import endpoint, which writes them exactly.
 */

export interface Person {
  id: string;
  name: string;
}

export interface StatsCast {
  coaches: Person[];
  agents: Person[];
}

const HOUR = 3_600_000;
const TEMPLATES = [{ id: 'tpl-call', name: 'Call review' }, { id: 'tpl-chat', name: 'Chat QA' }, null];
const CLASSIFICATIONS = ['general', 'qa', 'csat', 'productivity'] as const;
const TYPES = ['strength', 'opportunity', 'n/a'] as const;

/** Instants on and around window edges and ISO-week year boundaries, to the millisecond. */
export const EDGE_INSTANTS = [
  '2020-12-27T23:59:59.999Z', // Sunday before the first window
  '2020-12-28T00:00:00.000Z', // Monday, first instant of the first window; ISO week 2020-W53
  '2020-12-31T12:00:00.000Z',
  '2021-01-01T00:00:00.000Z', // still ISO week 2020-W53 (Monday 2020-12-28)
  '2021-01-01T23:59:59.999Z',
  '2021-01-02T00:00:00.000Z',
  '2021-01-03T23:59:59.999Z', // last instant of 2020-W53
  '2021-01-04T00:00:00.000Z', // first instant of 2021-W01
  '2021-01-10T23:59:59.999Z', // last instant of the first window
  '2021-01-11T00:00:00.000Z',
  '2021-01-31T23:59:59.999Z', // month edge
  '2021-02-01T00:00:00.000Z',
  '2026-12-27T23:59:59.999Z',
  '2026-12-28T00:00:00.000Z', // Monday of 2026-W53
  '2027-01-01T00:00:00.000Z',
  '2027-01-03T23:59:59.999Z', // last instant of 2026-W53
  '2027-01-04T00:00:00.000Z',
];

const RANGES: Array<[number, number]> = [
  [Date.parse('2020-12-01T00:00:00.000Z'), Date.parse('2021-02-28T23:59:59.999Z')],
  [Date.parse('2026-12-01T00:00:00.000Z'), Date.parse('2027-01-31T23:59:59.999Z')],
];

function instant(random: Random): string {
  if (random.chance(0.35)) return random.pick(EDGE_INSTANTS);
  const [from, to] = random.pick(RANGES);
  return new Date(from + Math.floor(random.next() * (to - from + 1))).toISOString();
}

function entry(actionType: string, ms: number, who: Person): ActivityLogEntry {
  return {
    userId: who.id,
    userEmail: null,
    actionType,
    descriptions: [actionType],
    timestamp: new Date(ms).toISOString(),
    ipAddress: null,
  };
}

/** A log with any number of `shared` and `agent_confirmed` entries, in a shuffled (import) order. */
function randomLog(random: Random, createdAt: string, coach: Person, agent: Person, shared: boolean): ActivityLogEntry[] {
  const start = Date.parse(createdAt);
  const log = [entry('created', start, coach)];
  if (!shared && random.chance(0.8)) return log;
  const sharedAt = start + random.int(0, 72 * HOUR);
  for (let i = random.int(1, 3); i > 0; i--) log.push(entry('shared', sharedAt + (i === 1 ? 0 : random.int(0, 10 * HOUR)), coach));
  for (let i = random.int(0, 2); i > 0; i--) {
    // Mostly after the first share (with a few exactly at it); sometimes before it, as an import may say.
    const offset = random.chance(0.1) ? 0 : random.chance(0.15) ? -random.int(1, 5 * HOUR) : random.int(1, 96 * HOUR);
    log.push(entry('agent_confirmed', sharedAt + offset, agent));
  }
  log.push(entry('updated', start + random.int(0, 100 * HOUR), coach));
  for (let i = log.length - 1; i > 0; i--) {
    if (random.chance(0.3)) {
      const j = random.int(0, i);
      [log[i], log[j]] = [log[j]!, log[i]!];
    }
  }
  return log;
}

/** Named edge cases first, then `count` random sessions; points and to-dos, some shared by two sessions. */
export function statsDocuments(cast: StatsCast, count: number, seed: number): ExportSession[] {
  const random = new Random(seed);
  const [coachA, coachB, coachC] = cast.coaches as [Person, Person, Person];
  const [agentA, agentB] = cast.agents as [Person, Person];
  const docs: ExportSession[] = [];
  const make = (overrides: Partial<ExportSession>, coach: Person, agent: Person, creator: Person = coach) => {
    const doc = session({
      coachId: coach.id,
      coachName: coach.name,
      formCreatorId: creator.id,
      formCreatorName: creator.name,
      agentId: agent.id,
      agentName: agent.name,
      coachingTemplateId: 'tpl-call',
      coachingTemplateName: 'Call review',
      ...overrides,
    });
    docs.push(doc);
    return doc;
  };
  const at = (iso: string, hours: number) => Date.parse(iso) + hours * HOUR;
  const base = '2020-12-31T12:00:00.000Z';
  const shared = { sharedWithAgent: true, createdAt: base, meetingDate: base };

  // Shared but never confirmed.
  make({ ...shared, activityLog: [entry('shared', at(base, 1), coachA)] }, coachA, agentA);
  // Confirmed before it was shared (an import says so): counted as confirmed, but no time.
  make(
    { ...shared, agentConfirmed: true, activityLog: [entry('agent_confirmed', at(base, 1), agentA), entry('shared', at(base, 2), coachA)] },
    coachA,
    agentA,
  );
  // Shared twice: the time runs from the first share.
  make(
    {
      ...shared,
      agentConfirmed: true,
      activityLog: [
        entry('shared', at(base, 1), coachA),
        entry('shared', at(base, 3), coachA),
        entry('agent_confirmed', at(base, 4.5), agentA),
      ],
    },
    coachA,
    agentA,
  );
  // Confirmed at the very millisecond of the share: zero hours.
  make(
    {
      ...shared,
      agentConfirmed: true,
      coachConfirmed: true,
      activityLog: [entry('shared', at(base, 2), coachB), entry('agent_confirmed', at(base, 2), agentA)],
    },
    coachB,
    agentA,
  );
  // A confirmation before the first share and one after: the later one counts; the log is out of order.
  make(
    {
      ...shared,
      agentConfirmed: true,
      activityLog: [
        entry('agent_confirmed', at(base, 9) + 7, agentB),
        entry('shared', at(base, 1), coachB),
        entry('agent_confirmed', at(base, 0.5), agentB),
      ],
    },
    coachB,
    agentB,
  );
  // Agent-confirmed but not shared (an import): not in agentConfirmed, but in bothConfirmed.
  make({ createdAt: base, meetingDate: base, agentConfirmed: true, coachConfirmed: true }, coachC, agentB);
  // No meeting date: never on the meetingDate axis.
  make(
    {
      ...shared,
      meetingDate: null,
      agentConfirmed: true,
      activityLog: [entry('shared', at(base, 1), coachA), entry('agent_confirmed', at(base, 2), agentA)],
    },
    coachA,
    agentA,
  );
  // No template; created by one coach, coached by another.
  make({ ...shared, coachingTemplateId: null, coachingTemplateName: null }, coachB, agentA, coachA);
  // Deleted, with its points, to-dos and a time: none of it counts.
  const deleted = make(
    {
      ...shared,
      isDeleted: true,
      agentConfirmed: true,
      activityLog: [entry('shared', at(base, 1), coachA), entry('agent_confirmed', at(base, 1000), agentA)],
    },
    coachA,
    agentA,
  );
  deleted.coachingPoints = [point([deleted._id], { type: 'strength', classification: 'csat' })];
  deleted.todos = [todo([deleted._id], { status: 'complete', creatorId: coachA.id, creatorName: coachA.name })];
  // Deleted items on a live session, beside live ones.
  const live = make({ ...shared }, coachC, agentB);
  live.coachingPoints = [
    point([live._id], { isDeleted: true }),
    point([live._id], { type: 'opportunity', classification: 'productivity' }),
  ];
  live.todos = [
    todo([live._id], { isDeleted: true, status: 'complete', creatorId: coachC.id, creatorName: coachC.name }),
    todo([live._id], { status: 'complete', creatorId: coachC.id, creatorName: coachC.name }),
  ];
  // Either side of the epoch: day and week arithmetic must round down before 1970 too.
  make({ ...shared, createdAt: '1969-12-31T23:59:59.999Z', meetingDate: '1969-12-28T23:59:59.999Z' }, coachA, agentA);
  make({ ...shared, createdAt: '1970-01-01T00:00:00.000Z', meetingDate: '1969-12-29T00:00:00.000Z' }, coachB, agentB);
  // One point and one to-do linked to two sessions in different groups of every kind.
  const early = make({ ...shared, createdAt: '2020-12-28T00:00:00.000Z', meetingDate: '2020-12-28T00:00:00.000Z' }, coachA, agentA);
  const late = make(
    {
      ...shared,
      createdAt: '2021-02-01T00:00:00.000Z',
      meetingDate: '2021-02-01T00:00:00.000Z',
      coachingTemplateId: 'tpl-chat',
      coachingTemplateName: 'Chat QA',
    },
    coachB,
    agentB,
  );
  const both = point([early._id, late._id], { type: 'opportunity', classification: 'general' });
  const bothTodo = todo([early._id, late._id], { status: 'complete', creatorId: coachA.id, creatorName: coachA.name });
  early.coachingPoints = [both];
  late.coachingPoints = [both];
  early.todos = [bothTodo];
  late.todos = [bothTodo];

  for (let n = 0; n < count; n++) {
    const coach = random.pick(cast.coaches);
    const agent = random.pick(cast.agents);
    const creator = random.chance(0.2) ? random.pick(cast.coaches) : coach;
    const template = random.pick(TEMPLATES);
    const createdAt = instant(random);
    const isShared = random.chance(0.7);
    const doc = make(
      {
        createdAt,
        meetingDate: random.chance(0.15) ? null : instant(random),
        coachingTemplateId: template?.id ?? null,
        coachingTemplateName: template?.name ?? null,
        sharedWithAgent: isShared,
        agentConfirmed: random.chance(0.6),
        coachConfirmed: random.chance(0.5),
        isDeleted: random.chance(0.1),
        activityLog: randomLog(random, createdAt, coach, agent, isShared),
      },
      coach,
      agent,
      creator,
    );
    for (let i = random.int(0, 3); i > 0; i--) {
      const other = docs.length > 1 && random.chance(0.25) ? random.pick(docs.slice(0, -1)) : null;
      const ids = other ? [doc._id, other._id] : [doc._id];
      const p: CoachingPoint = point(ids, {
        type: random.pick(TYPES),
        classification: random.pick(CLASSIFICATIONS),
        isDeleted: random.chance(0.1),
      });
      for (const target of other ? [doc, other] : [doc]) target.coachingPoints.push(p);
    }
    for (let i = random.int(0, 2); i > 0; i--) {
      const other = docs.length > 1 && random.chance(0.25) ? random.pick(docs.slice(0, -1)) : null;
      const ids = other ? [doc._id, other._id] : [doc._id];
      const t: Todo = todo(ids, {
        status: random.pick(['complete', 'incomplete', 'complete']),
        isDeleted: random.chance(0.1),
        creatorId: coach.id,
        creatorName: coach.name,
      });
      for (const target of other ? [doc, other] : [doc]) target.todos.push(t);
    }
  }
  return docs;
}
