import { sql, type Kysely, type RawBuilder } from 'kysely';
import type { ReadScope } from '../coaching/permissions.js';
import type { StatsGroupBy } from '../contract/stats-schemas.js';
import type { StatsSql } from './adapter.js';
import type { Database } from './schema.js';
import type { StatsAggregate, StatsGroupCounts, StatsSelection } from './store.js';
import { DAY_MS } from '../contract/dates.js';

/**
 * SPEC §6 computed by the database: one statement per request, so one snapshot, over the stats
 * rows (migration 005): one narrow row per session with its facts precomputed when its document
 * was written (analytics/session-facts.ts). The window's rows are read through the axis's index
 * and materialized once with their group key; the statement sums them per group and takes the
 * median acknowledgement time per group and overall, by aggregates (no window functions, whose
 * sorts and partition buffers cost more than the rest of the statement). Nothing about a session
 * travels to JavaScript but its group's sums. The text is the same for both databases except for
 * the day, month and median expressions, which each adapter's StatsSql gives.
 */

type Db = Kysely<Database>;

/** Whole days since 1970-01-01 of an epoch-millisecond column, rounded down (also before 1970). */
function dayNumber(column: RawBuilder<unknown>): RawBuilder<number> {
  return sql<number>`((${column} - ((${column} % ${sql.lit(DAY_MS)}) + ${sql.lit(DAY_MS)}) % ${sql.lit(DAY_MS)}) / ${sql.lit(DAY_MS)})`;
}

/** The Monday of the ISO week of a day number: 1970-01-01 was a Thursday, three days after one. */
function mondayNumber(day: RawBuilder<number>): RawBuilder<number> {
  return sql<number>`(${day} - (((${day} + 3) % 7) + 7) % 7)`;
}

function axisColumn(selection: StatsSelection): RawBuilder<unknown> {
  return sql.ref(selection.window.axis === 'meetingDate' ? 's.meeting_date' : 's.created_at');
}

function groupKey(statsSql: StatsSql, selection: StatsSelection): RawBuilder<string | null> {
  const keys: Record<StatsGroupBy, () => RawBuilder<string | null>> = {
    none: () => sql`cast(null as text)`,
    coach: () => sql`s.coach_id`,
    agent: () => sql`s.agent_id`,
    template: () => sql`s.template_id`,
    week: () => statsSql.day(mondayNumber(dayNumber(axisColumn(selection)))),
    month: () => statsSql.month(dayNumber(axisColumn(selection))),
  };
  return keys[selection.groupBy]();
}

/** canRead's rule (coaching/permissions.ts) as a filter on `session_stats s`, which has its columns. */
function scopeFilter(scope: ReadScope): RawBuilder<unknown> {
  switch (scope.kind) {
    case 'organization':
      return sql``;
    case 'coachOrCreator':
      return sql`and (s.coach_id = ${scope.userId} or s.form_creator_id = ${scope.userId})`;
    case 'sharedWithAgent':
      return sql`and s.agent_id = ${scope.userId} and s.shared_with_agent`;
  }
}

/**
 * The counted sessions' rows with their group key: in the window, in scope, not deleted.
 * Materialized once for the whole statement, which reads it twice (per group, then overall).
 */
function countedSessions(statsSql: StatsSql, orgId: string, selection: StatsSelection, scope: ReadScope): RawBuilder<unknown> {
  const axis = axisColumn(selection);
  return sql`sess as materialized (
    select ${groupKey(statsSql, selection)} as k, s.shared_with_agent, s.agent_confirmed, s.coach_confirmed,
      s.points, s.strengths, s.opportunities, s.general, s.qa, s.csat, s.productivity, s.todos, s.todos_completed,
      s.acknowledgement_ms as ms
    from session_stats s
    where s.org_id = ${orgId} and ${axis} >= ${selection.window.fromMs} and ${axis} <= ${selection.window.toMs}
      and not s.is_deleted ${scopeFilter(scope)}
  )`;
}

/** The name shown beside a key: the person's or the template's; none for the other groupings. */
function nameJoin(orgId: string, groupBy: StatsGroupBy): { name: RawBuilder<unknown>; join: RawBuilder<unknown> } {
  if (groupBy === 'coach' || groupBy === 'agent') {
    return { name: sql`n.name`, join: sql`left join users n on n.org_id = ${orgId} and n.id = g.k` };
  }
  if (groupBy === 'template') {
    return { name: sql`n.name`, join: sql`left join coaching_templates n on n.org_id = ${orgId} and n.id = g.k` };
  }
  return { name: sql`cast(null as text)`, join: sql`` };
}

/** One row of the statement's answer; `part` says which of its two parts. */
interface PartRow {
  part: 'groups' | 'total';
  k: string | null;
  name: string | null;
  n1: number | string | null;
  n2: number | string | null;
  n3: number | string | null;
  n4: number | string | null;
  n5: number | string | null;
  n6: number | string | null;
  n7: number | string | null;
  n8: number | string | null;
  n9: number | string | null;
  n10: number | string | null;
  n11: number | string | null;
  n12: number | string | null;
  n13: number | string | null;
  n14: number | string | null;
  median_ms: number | string | null;
}

/**
 * Everything in one statement over one materialized set of rows, in two parts:
 *
 * - groups: n1 sessions, n2 shared, n3 shared and agent-confirmed, n4 coach-confirmed, n5 both;
 *   n6 points, n7 strengths, n8 opportunities, n9…n12 per classification (general, qa, csat,
 *   productivity), n13 to-dos, n14 completed (the item counts are per session link already);
 *   median_ms the group's median acknowledgement time;
 * - total: median_ms over every counted session (the domain adds up the groups' counts).
 */
function statsStatement(statsSql: StatsSql, orgId: string, selection: StatsSelection, scope: ReadScope): RawBuilder<PartRow> {
  const { name, join } = nameJoin(orgId, selection.groupBy);
  const median = statsSql.median(sql.ref('ms'));
  const nulls = sql.raw(Array.from({ length: 14 }, () => 'null').join(', '));
  return sql<PartRow>`
    with ${countedSessions(statsSql, orgId, selection, scope)}
    select 'groups' as part, g.k, ${name} as name, g.n1, g.n2, g.n3, g.n4, g.n5, g.n6, g.n7,
      g.n8, g.n9, g.n10, g.n11, g.n12, g.n13, g.n14, g.median_ms from (
      select k,
        count(*) as n1,
        count(*) filter (where shared_with_agent) as n2,
        count(*) filter (where shared_with_agent and agent_confirmed) as n3,
        count(*) filter (where coach_confirmed) as n4,
        count(*) filter (where agent_confirmed and coach_confirmed) as n5,
        sum(points) as n6, sum(strengths) as n7, sum(opportunities) as n8,
        sum(general) as n9, sum(qa) as n10, sum(csat) as n11, sum(productivity) as n12,
        sum(todos) as n13, sum(todos_completed) as n14,
        ${median} as median_ms
      from sess group by k
    ) g ${join}
    union all
    select 'total', null, null, ${nulls}, ${median} from sess`;
}

const count = (value: number | string | null | undefined) => Number(value ?? 0);

const median = (row: PartRow | undefined) => (row === undefined || row.median_ms === null ? null : Number(row.median_ms));

/** Every group's counts, in no particular order (the domain sorts). */
export async function readStats(
  db: Db,
  statsSql: StatsSql,
  orgId: string,
  selection: StatsSelection,
  scope: ReadScope,
): Promise<StatsAggregate> {
  const { rows } = await statsStatement(statsSql, orgId, selection, scope).execute(db);
  const groups: StatsGroupCounts[] = rows
    .filter((row) => row.part === 'groups')
    .map((row) => ({
      key: row.k,
      name: row.name,
      sessions: count(row.n1),
      shared: count(row.n2),
      agentConfirmed: count(row.n3),
      coachConfirmed: count(row.n4),
      bothConfirmed: count(row.n5),
      medianAcknowledgementMs: median(row),
      coachingPoints: count(row.n6),
      strengths: count(row.n7),
      opportunities: count(row.n8),
      byClassification: { general: count(row.n9), qa: count(row.n10), csat: count(row.n11), productivity: count(row.n12) },
      todos: count(row.n13),
      todosCompleted: count(row.n14),
    }));
  return { groups, totalMedianAcknowledgementMs: median(rows.find((row) => row.part === 'total')) };
}
