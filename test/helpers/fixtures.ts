import type { CoachingPoint, ExportSession, Todo } from '../../src/contract/schemas.js';

let counter = 0;
/** Ids that sort in the order they were made, so tests can reason about tie-breaking. */
export function fixtureId(prefix = 'id'): string {
  counter += 1;
  return `${prefix}-${String(counter).padStart(6, '0')}`;
}

export function session(overrides: Partial<ExportSession> = {}): ExportSession {
  return {
    _id: fixtureId('session'),
    coachingFormName: 'Weekly 1:1',
    coachingTemplateId: 'template-1',
    coachingTemplateName: 'Weekly template',
    meetingFormat: 'live',
    formCreatorId: 'coach-1',
    formCreatorName: 'Cora Coach',
    coachName: 'Cora Coach',
    coachId: 'coach-1',
    agentId: 'agent-1',
    agentName: 'Aldo Agent',
    createdAt: '2024-01-10T09:00:00.000Z',
    updatedAt: '2024-01-10T09:30:00.000Z',
    sharedWithAgent: false,
    meetingDate: '2024-01-11T15:00:00.000Z',
    agentConfirmed: false,
    coachConfirmed: false,
    coachNotes: null,
    agentNotes: null,
    isDeleted: false,
    activityLog: [],
    coachingPoints: [],
    todos: [],
    ...overrides,
  };
}

export function point(sessionIds: string[], overrides: Partial<CoachingPoint> = {}): CoachingPoint {
  return {
    _id: fixtureId('point'),
    coachingFormIds: sessionIds,
    type: 'strength',
    classification: 'qa',
    ticketId: null,
    subject: null,
    rubricName: null,
    criteriaName: null,
    kpiName: null,
    score: null,
    agentNotes: null,
    coachNotes: null,
    createdAt: '2024-01-10T09:05:00.000Z',
    updatedAt: '2024-01-10T09:05:00.000Z',
    isDeleted: false,
    ...overrides,
  };
}

export function todo(sessionIds: string[], overrides: Partial<Todo> = {}): Todo {
  return {
    _id: fixtureId('todo'),
    actionString: null,
    coachingFormIds: sessionIds,
    completedAt: null,
    createdAt: '2024-01-10T09:10:00.000Z',
    creatorId: 'coach-1',
    creatorName: 'Cora Coach',
    description: null,
    link: null,
    status: 'incomplete',
    title: 'Review the call',
    type: null,
    updatedAt: '2024-01-10T09:10:00.000Z',
    isDeleted: false,
    ...overrides,
  };
}
