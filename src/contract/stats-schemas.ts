import { Type, type Static } from '@sinclair/typebox';
import { Nullable, OneOf, TIME_AXES } from './schemas.js';

/** GET /api/v1/coaching/stats (SPEC §6): its query and its answer, described once. */

export const STATS_GROUP_BYS = ['none', 'coach', 'agent', 'template', 'week', 'month'] as const;
export type StatsGroupBy = (typeof STATS_GROUP_BYS)[number];
/** `to - from` in days, counted as the export counts its 90: a leap year fits with a day to spare. */
export const MAX_STATS_WINDOW_DAYS = 366;

const Day = Type.String({ format: 'date', examples: ['2026-01-01'] });

export const StatsQuerySchema = Type.Object(
  {
    from: Type.String({ ...Day, description: 'First UTC day of the window, inclusive.' }),
    to: Type.String({ ...Day, description: `Last UTC day, inclusive; at most ${MAX_STATS_WINDOW_DAYS} days after from.` }),
    timeAxis: Type.Optional(OneOf(TIME_AXES, { description: 'Which session date the window applies to; default meetingDate.' })),
    groupBy: Type.Optional(OneOf(STATS_GROUP_BYS, { description: 'How rows are formed; default none (one row).' })),
  },
  { additionalProperties: false },
);
export type StatsQuery = Static<typeof StatsQuerySchema>;

const Count = Type.Integer({ minimum: 0 });

export const StatsMetricsSchema = Type.Object({
  sessions: Type.Integer({ minimum: 0, description: 'Sessions in the window that are not deleted.' }),
  shared: Type.Integer({ minimum: 0, description: 'Of those, sharedWithAgent.' }),
  agentConfirmed: Type.Integer({ minimum: 0, description: 'Of those, sharedWithAgent and agentConfirmed.' }),
  coachConfirmed: Type.Integer({ minimum: 0, description: 'Of sessions, coachConfirmed.' }),
  bothConfirmed: Type.Integer({ minimum: 0, description: 'Of sessions, agentConfirmed and coachConfirmed.' }),
  acknowledgementRate: Nullable(Type.Number({ minimum: 0, description: 'agentConfirmed / shared; null when shared is 0.' })),
  medianHoursToAcknowledge: Nullable(
    Type.Number({
      description:
        'Median hours from the first shared log entry to the first agent_confirmed entry at or after it; null when no session has both.',
    }),
  ),
  coachingPoints: Type.Integer({ minimum: 0, description: 'Points not deleted, once per (session, point) link.' }),
  strengths: Type.Integer({ minimum: 0, description: 'Of those, type strength.' }),
  opportunities: Type.Integer({ minimum: 0, description: 'Of those, type opportunity.' }),
  byClassification: Type.Object({ general: Count, qa: Count, csat: Count, productivity: Count }),
  todos: Type.Integer({ minimum: 0, description: 'To-dos not deleted, once per (session, to-do) link.' }),
  todosCompleted: Type.Integer({ minimum: 0, description: 'Of those, status complete.' }),
});
export type StatsMetrics = Static<typeof StatsMetricsSchema>;

export const StatsRowSchema = Type.Composite([
  Type.Object({
    key: Nullable(
      Type.String({
        description: 'coachId, agentId, coachingTemplateId, the Monday (YYYY-MM-DD) or the month (YYYY-MM); null with groupBy none.',
      }),
    ),
    label: Nullable(Type.String({ description: 'The coach, agent or template name; the key itself for week and month.' })),
  }),
  StatsMetricsSchema,
]);
export type StatsRow = Static<typeof StatsRowSchema>;

export const StatsResponseSchema = Type.Object({
  from: Type.String(),
  to: Type.String(),
  timeAxis: OneOf(TIME_AXES),
  groupBy: OneOf(STATS_GROUP_BYS),
  rows: Type.Array(StatsRowSchema, { description: 'Sorted by key, nulls last.' }),
  totals: StatsMetricsSchema,
});
export type StatsResponse = Static<typeof StatsResponseSchema>;
