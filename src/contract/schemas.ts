import { FormatRegistry, Type, type Static, type TSchema } from '@sinclair/typebox';
import { isCalendarDay, parseDateTime } from './dates.js';
import { POINT_CLASSIFICATIONS, POINT_TYPES } from './point-kinds.js';
import { TIME_AXES } from './time-axes.js';

/**
 * The Coaching Export API's documents, described once. The server validates and documents with
 * these, the importer validates with them, and the client takes its types from them.
 */

FormatRegistry.Set('date', isCalendarDay);
FormatRegistry.Set('date-time', (value) => parseDateTime(value) !== null);

export { TIME_AXES, type TimeAxis } from './time-axes.js';
export const MAX_WINDOW_DAYS = 90;

export function OneOf<const T extends readonly string[]>(values: T, options: { description?: string } = {}) {
  // Unsafe only narrows the static type; the schema stays a union of literals (Kind is kept).
  return Type.Unsafe<T[number]>(
    Type.Union(
      values.map((value) => Type.Literal(value)),
      options,
    ),
  );
}

export function Nullable<T extends TSchema>(schema: T) {
  return Type.Union([schema, Type.Null()]);
}

const Id = Type.String({ minLength: 1, maxLength: 200 });
const DateTime = Type.String({ format: 'date-time', examples: ['2021-12-01T10:00:00.000Z'] });
const Day = Type.String({ format: 'date', examples: ['2021-12-01'] });
const Text = Type.String();
const NullableText = Nullable(Type.String());
const closed = { additionalProperties: false } as const;

export const ExportRequestSchema = Type.Object(
  {
    startDate: Type.String({ ...Day, description: 'First UTC day of the window, inclusive.' }),
    endDate: Type.String({ ...Day, description: `Last UTC day, inclusive; at most ${MAX_WINDOW_DAYS} days after startDate.` }),
    timeAxis: OneOf(TIME_AXES, { description: 'Which session date the window applies to.' }),
  },
  closed,
);
export type ExportRequest = Static<typeof ExportRequestSchema>;

export const ActivityLogEntrySchema = Type.Object(
  {
    userId: Nullable(Id),
    userEmail: NullableText,
    actionType: Type.String({ minLength: 1 }),
    descriptions: Type.Array(Text),
    timestamp: DateTime,
    ipAddress: Nullable(Type.String({ description: "The client's address; null in a session read by its agent." })),
  },
  closed,
);
export type ActivityLogEntry = Static<typeof ActivityLogEntrySchema>;

export const CoachingPointSchema = Type.Object(
  {
    _id: Id,
    coachingFormIds: Type.Array(Id),
    type: OneOf(POINT_TYPES),
    classification: OneOf(POINT_CLASSIFICATIONS),
    ticketId: NullableText,
    subject: NullableText,
    rubricName: NullableText,
    criteriaName: NullableText,
    kpiName: NullableText,
    score: NullableText,
    agentNotes: NullableText,
    coachNotes: NullableText,
    createdAt: DateTime,
    updatedAt: DateTime,
    isDeleted: Type.Boolean(),
  },
  closed,
);
export type CoachingPoint = Static<typeof CoachingPointSchema>;

export const TodoSchema = Type.Object(
  {
    _id: Id,
    actionString: NullableText,
    coachingFormIds: Type.Array(Id),
    completedAt: Nullable(DateTime),
    createdAt: DateTime,
    creatorId: Id,
    creatorName: Text,
    description: NullableText,
    link: Nullable(Type.String({ description: 'An absolute http: or https: URL.' })),
    status: Type.String({ minLength: 1 }),
    title: Text,
    type: NullableText,
    updatedAt: DateTime,
    isDeleted: Type.Boolean(),
  },
  closed,
);
export type Todo = Static<typeof TodoSchema>;

export const ExportSessionSchema = Type.Object(
  {
    _id: Id,
    coachingFormName: Text,
    coachingTemplateId: Nullable(Id),
    coachingTemplateName: NullableText,
    meetingFormat: NullableText,
    formCreatorId: Id,
    formCreatorName: Text,
    coachName: Text,
    coachId: Id,
    agentId: Id,
    agentName: Text,
    createdAt: DateTime,
    updatedAt: DateTime,
    sharedWithAgent: Type.Boolean(),
    meetingDate: Nullable(DateTime),
    agentConfirmed: Type.Boolean(),
    coachConfirmed: Type.Boolean(),
    coachNotes: NullableText,
    agentNotes: NullableText,
    isDeleted: Type.Boolean(),
    activityLog: Type.Array(ActivityLogEntrySchema),
    coachingPoints: Type.Array(CoachingPointSchema),
    todos: Type.Array(TodoSchema),
  },
  closed,
);
export type ExportSession = Static<typeof ExportSessionSchema>;

export const ExportResponseSchema = Type.Array(ExportSessionSchema);

export const ErrorSchema = Type.Object({ error: Type.String() });
