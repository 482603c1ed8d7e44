import { POINT_CLASSIFICATIONS, POINT_TYPES } from '../contract/point-kinds.js';
import type { LogEntryRecord, PointRecord, TodoRecord } from '../coaching/records.js';
import type { ImportPlan } from '../importer/plan.js';
import { Random } from './random.js';
import { DAY_MS } from '../contract/dates.js';

const FIRST = [
  'Ana',
  'Björn',
  'Chloé',
  'Dmitri',
  'Eun-ji',
  'Farah',
  'Giulia',
  'Hiroshi',
  'Ines',
  'Jamal',
  'Kofi',
  'Lena',
  'Mateo',
  'Nadia',
  'Oskar',
  'Priya',
  'Quentin',
  'Rosa',
  'Søren',
  'Tomás',
  'Uma',
  'Viktor',
  'Wen',
  'Ximena',
  'Yusuf',
  'Zoë',
];
const LAST = [
  'Abara',
  'Brennan',
  'Castillo',
  'Dubois',
  'Eriksson',
  'Fernández',
  'García',
  'Haddad',
  'Ivanova',
  'Jensen',
  'Kowalski',
  'López',
  'Müller',
  'Nakamura',
  "O'Brien",
  'Petrov',
  'Quinn',
  'Rossi',
  'Schmidt',
  'Tanaka',
  'Usman',
  'Varga',
  'Walsh',
  'Yilmaz',
  'Zhang',
];
const FORMS = ['Weekly 1:1', 'QA calibration', 'Escalation review', 'New-hire check-in', 'CSAT follow-up', 'Call review'];
const TEMPLATES = ['Call quality review', 'Chat QA', 'Onboarding week 1', 'Performance improvement', 'Monthly scorecard'];
const FORMATS = ['live', 'async', 'phone', 'video'];
const SUBJECTS = [
  'Greeting and verification',
  'Empathy statements',
  'Hold etiquette',
  'Resolution accuracy',
  'Closing the call',
  'Tone in chat',
  'Knowledge-base use',
  'Refund policy',
];
const RUBRICS = ['Voice QA v3', 'Chat QA v2', 'Email QA'];
const CRITERIA = ['Opening', 'Discovery', 'Solution', 'Compliance', 'Closing'];
const KPIS = ['Average handle time', 'First contact resolution', 'CSAT', 'After-call work', 'Adherence'];
const NOTES = [
  'Great rapport with the customer — keep it up.',
  'Remember to confirm the account before sharing details.\nWe walked through two examples.',
  'Customer said "this was the best call I\'ve had" 🎉',
  'Needs to slow down when explaining the refund policy; see ticket notes.',
  'Mejoró mucho en la empatía. Très bien ! 很好',
  'Follow up on the escalation path, then review next week.',
];
const TODO_TITLES = [
  'Listen to the recorded call',
  'Read the refund policy article',
  'Shadow a senior agent',
  'Practise the closing script',
  'Review the QA rubric',
];

export interface SeedOptions {
  sessions: number;
  days: number;
  seed: number;
  /** The last day sessions fall on, as epoch milliseconds of any instant in it. */
  endMs: number;
  /**
   * The seed's clock: no creation, change, log entry or completion is later than this (only a
   * meeting may be scheduled ahead), so the data could have happened by the time it is written.
   */
  nowMs: number;
}

/** A name from the seeded lists, with a number once they run out so people stay distinct. */
function personName(random: Random, n: number): string {
  const name = `${random.pick(FIRST)} ${random.pick(LAST)}`;
  return n < FIRST.length * 2 ? name : `${name} ${n}`;
}

/**
 * Demo data as one import plan: coaches and agents, templates, sessions spread over the days with
 * realistic logs, 0–6 coaching points (some shared by two sessions), 0–4 to-dos, a few deletions.
 */
export function generateSeed(options: SeedOptions): ImportPlan {
  const random = new Random(options.seed);
  const coachCount = Math.max(2, Math.ceil(options.sessions / 400));
  const agentCount = Math.max(4, Math.ceil(options.sessions / 40));
  const coaches = Array.from({ length: coachCount }, (_, n) => ({ id: random.id(), name: personName(random, n), role: 'coach' as const }));
  const agents = Array.from({ length: agentCount }, (_, n) => ({ id: random.id(), name: personName(random, n), role: 'agent' as const }));
  const templates = TEMPLATES.map((name) => ({ id: random.id(), name }));
  const emailOf = (name: string) =>
    `${name
      .toLowerCase()
      .normalize('NFD')
      .replace(/[^a-z ]/g, '')
      .replace(/ /g, '.')}@example.test`;
  const firstDay = Math.floor(options.endMs / DAY_MS) * DAY_MS - (options.days - 1) * DAY_MS;
  if (firstDay > options.nowMs) throw new RangeError("the seeded days begin after the seed's clock: nothing could have happened yet.");
  const span = Math.max(0, Math.min(options.days * DAY_MS - 1, options.nowMs - firstDay));
  // A later time that would pass the clock lands halfway to it instead: still after what came
  // before, never in the future, and without drawing another number.
  const notAfterNow = (at: number, from: number) => (at <= options.nowMs ? at : from + Math.floor((options.nowMs - from) / 2));

  const sessions: ImportPlan['sessions'] = [];
  const points: PointRecord[] = [];
  const todos: TodoRecord[] = [];
  let previousPoint: PointRecord | null = null;

  // Sessions are made in time order, as a real team makes them.
  const creationTimes = Array.from({ length: options.sessions }, () => firstDay + Math.floor(random.next() * span)).sort((a, b) => a - b);
  for (let i = 0; i < options.sessions; i++) {
    const coach = random.pick(coaches);
    const agent = random.pick(agents);
    const createdAt = creationTimes[i]!;
    const meetingDate = random.chance(0.9) ? createdAt + random.int(0, 7) * DAY_MS + random.int(8, 17) * 3_600_000 : null;
    const id = random.id(createdAt);
    const shared = random.chance(0.8);
    const agentConfirmed = shared && random.chance(0.7);
    const coachConfirmed = random.chance(0.75);
    const deleted = random.chance(0.02);
    let clock = createdAt;
    const step = () => (clock = notAfterNow(clock + random.int(60_000, 2 * DAY_MS), clock));
    const byCoach = (actionType: string, descriptions: string[]): LogEntryRecord => ({
      userId: coach.id,
      userEmail: emailOf(coach.name),
      actionType,
      descriptions,
      timestamp: clock,
      ipAddress: `10.${random.int(0, 255)}.${random.int(0, 255)}.${random.int(1, 254)}`,
    });
    const log: LogEntryRecord[] = [byCoach('created', ['session created'])];

    const pointIds: string[] = [];
    for (let p = random.int(0, 6); p > 0; p--) {
      step();
      const point: PointRecord = {
        id: random.id(clock),
        sessionIds: [id],
        type: random.pick(POINT_TYPES),
        classification: random.pick(POINT_CLASSIFICATIONS),
        ticketId: random.chance(0.6) ? `T-${random.int(10_000, 999_999)}` : null,
        subject: random.pick(SUBJECTS),
        rubricName: random.chance(0.5) ? random.pick(RUBRICS) : null,
        criteriaName: random.chance(0.4) ? random.pick(CRITERIA) : null,
        kpiName: random.chance(0.3) ? random.pick(KPIS) : null,
        score: random.chance(0.6) ? String(random.int(1, 5)) : null,
        agentNotes: random.chance(0.2) ? random.pick(NOTES) : null,
        coachNotes: random.chance(0.7) ? random.pick(NOTES) : null,
        createdAt: clock,
        updatedAt: clock,
        isDeleted: random.chance(0.02),
      };
      points.push(point);
      pointIds.push(point.id);
      log.push(byCoach('coaching_point_added', [`${point.type} ${point.classification} coaching point added`]));
    }
    // Now and then a point from the agent's previous session is carried into this one.
    if (previousPoint && random.chance(0.05)) {
      previousPoint.sessionIds.push(id);
      pointIds.push(previousPoint.id);
    }

    const todoIds: string[] = [];
    for (let t = random.int(0, 4); t > 0; t--) {
      step();
      const complete = random.chance(0.5);
      const completedAt = complete ? notAfterNow(clock + random.int(1, 5) * DAY_MS, clock) : null;
      const todo: TodoRecord = {
        id: random.id(clock),
        sessionIds: [id],
        actionString: random.chance(0.3) ? 'review' : null,
        completedAt,
        createdAt: clock,
        creatorId: coach.id,
        description: random.chance(0.5) ? random.pick(NOTES) : null,
        link: random.chance(0.3) ? `https://kb.example.test/articles/${random.int(100, 999)}` : null,
        status: complete ? 'complete' : 'incomplete',
        title: random.pick(TODO_TITLES),
        type: random.chance(0.5) ? 'task' : null,
        updatedAt: completedAt ?? clock,
        isDeleted: random.chance(0.02),
      };
      todos.push(todo);
      todoIds.push(todo.id);
      log.push(byCoach('todo_added', [`to-do "${todo.title}" added`]));
    }
    if (random.chance(0.6)) {
      step();
      log.push(byCoach('updated', ['coachNotes changed']));
    }
    if (shared) {
      step();
      log.push(byCoach('shared', ['session shared with the agent']));
    }
    if (agentConfirmed) {
      step();
      log.push({
        userId: agent.id,
        userEmail: emailOf(agent.name),
        actionType: 'agent_confirmed',
        descriptions: ['agent confirmed the session'],
        timestamp: clock,
        ipAddress: `192.168.${random.int(0, 255)}.${random.int(1, 254)}`,
      });
    }
    if (coachConfirmed) {
      step();
      log.push(byCoach('coach_confirmed', ['coach confirmed the session']));
    }
    if (deleted) {
      step();
      log.push(byCoach('deleted', ['session deleted']));
    }

    sessions.push({
      session: {
        id,
        coachingFormName: random.pick(FORMS),
        templateId: random.chance(0.85) ? random.pick(templates).id : null,
        meetingFormat: random.pick(FORMATS),
        formCreatorId: coach.id,
        coachId: coach.id,
        agentId: agent.id,
        createdAt,
        updatedAt: clock,
        meetingDate,
        sharedWithAgent: shared,
        agentConfirmed,
        coachConfirmed,
        coachNotes: random.chance(0.7) ? random.pick(NOTES) : null,
        agentNotes: agentConfirmed && random.chance(0.5) ? random.pick(NOTES) : null,
        isDeleted: deleted,
      },
      log,
      pointIds,
      todoIds,
    });
    previousPoint = points.length > 0 && pointIds.length > 0 ? points[points.length - 1]! : previousPoint;
  }
  return { users: [...coaches, ...agents], templates, sessions, points, todos };
}
