import type { StatsMetrics, StatsResponse, StatsRow } from '../contract/stats-schemas.js';
import type { MedianMs, StatsAggregate, StatsGroupCounts } from '../store/store.js';
import type { StatsParameters } from './request.js';

/**
 * SPEC §6's metrics from the database's counts: the two that are quotients (a rate, a median),
 * the totals, the labels and the order of the rows. Nothing is rounded.
 */

const MS_PER_HOUR = 3_600_000;

/**
 * The median of the acknowledgement times in hours. The database gives it in milliseconds, the
 * mean of the two middle values for an even count taken on the exact integers (so itself exact, a
 * whole or half millisecond); divided once here, the answer is the exact median correctly rounded
 * to a double.
 */
export function medianHours(medianMs: MedianMs | null): number | null {
  return medianMs === null ? null : medianMs / MS_PER_HOUR;
}

/** agentConfirmed / shared, or null when nothing was shared. */
export function acknowledgementRate(agentConfirmed: number, shared: number): number | null {
  return shared === 0 ? null : agentConfirmed / shared;
}

type Counts = Omit<StatsGroupCounts, 'key' | 'name' | 'medianAcknowledgementMs'>;

const ZERO: Counts = {
  sessions: 0,
  shared: 0,
  agentConfirmed: 0,
  coachConfirmed: 0,
  bothConfirmed: 0,
  coachingPoints: 0,
  strengths: 0,
  opportunities: 0,
  byClassification: { general: 0, qa: 0, csat: 0, productivity: 0 },
  todos: 0,
  todosCompleted: 0,
};

function add(a: Counts, b: Counts): Counts {
  return {
    sessions: a.sessions + b.sessions,
    shared: a.shared + b.shared,
    agentConfirmed: a.agentConfirmed + b.agentConfirmed,
    coachConfirmed: a.coachConfirmed + b.coachConfirmed,
    bothConfirmed: a.bothConfirmed + b.bothConfirmed,
    coachingPoints: a.coachingPoints + b.coachingPoints,
    strengths: a.strengths + b.strengths,
    opportunities: a.opportunities + b.opportunities,
    byClassification: {
      general: a.byClassification.general + b.byClassification.general,
      qa: a.byClassification.qa + b.byClassification.qa,
      csat: a.byClassification.csat + b.byClassification.csat,
      productivity: a.byClassification.productivity + b.byClassification.productivity,
    },
    todos: a.todos + b.todos,
    todosCompleted: a.todosCompleted + b.todosCompleted,
  };
}

function metrics(counts: Counts, medianAcknowledgementMs: MedianMs | null): StatsMetrics {
  return {
    sessions: counts.sessions,
    shared: counts.shared,
    agentConfirmed: counts.agentConfirmed,
    coachConfirmed: counts.coachConfirmed,
    bothConfirmed: counts.bothConfirmed,
    acknowledgementRate: acknowledgementRate(counts.agentConfirmed, counts.shared),
    medianHoursToAcknowledge: medianHours(medianAcknowledgementMs),
    coachingPoints: counts.coachingPoints,
    strengths: counts.strengths,
    opportunities: counts.opportunities,
    byClassification: { ...counts.byClassification },
    todos: counts.todos,
    todosCompleted: counts.todosCompleted,
  };
}

/** Keys in code-unit order (the same on every database and in every locale), null last. */
export function compareKeys(a: string | null, b: string | null): number {
  if (a === b) return 0;
  if (a === null) return 1;
  if (b === null) return -1;
  return a < b ? -1 : 1;
}

function labelOf(parameters: StatsParameters, group: StatsGroupCounts): string | null {
  return parameters.groupBy === 'week' || parameters.groupBy === 'month' ? group.key : group.name;
}

/**
 * The answer. Every counted session is in exactly one group, so the totals' counts are the
 * groups' sums; the totals' median is over all sessions, as the database gave it. With groupBy
 * none there is always one row, even over an empty window.
 */
export function statsAnswer(parameters: StatsParameters, aggregate: StatsAggregate): StatsResponse {
  const groups = [...aggregate.groups].sort((a, b) => compareKeys(a.key, b.key));
  const rows: StatsRow[] = groups.map((group) => ({
    key: group.key,
    label: labelOf(parameters, group),
    ...metrics(group, group.medianAcknowledgementMs),
  }));
  if (parameters.groupBy === 'none' && rows.length === 0) rows.push({ key: null, label: null, ...metrics(ZERO, null) });
  const totals = metrics(
    groups.reduce<Counts>((sum, group) => add(sum, group), ZERO),
    aggregate.totalMedianAcknowledgementMs,
  );
  return { from: parameters.from, to: parameters.to, timeAxis: parameters.timeAxis, groupBy: parameters.groupBy, rows, totals };
}
