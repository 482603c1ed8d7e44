import { sql, type Kysely, type RawBuilder } from 'kysely';
import type { ReadScope } from '../coaching/permissions.js';
import type { StatsGroupBy } from '../contract/stats-schemas.js';
import type { Dialect } from './dialect.js';
import type { Database } from './schema.js';
import type { AcknowledgementMiddle, StatsAggregate, StatsGroupCounts, StatsSelection } from './store.js';

/**
 * SPEC §6 computed by the database: one statement per request, so one snapshot, whose five parts
 * (sessions, point links, to-do links, per-group and overall acknowledgement times) share one
 * materialized set of counted sessions and one group key. Nothing about a session travels to
 * JavaScript but its group's counts. The text is the same for both databases except for the
 * dialect twins below.
 */

type Db = Kysely<Database>;

const DAY_MS = 86_400_000;

/** Whole days since 1970-01-01 of an epoch-millisecond column, rounded down (also before 1970). */
function dayNumber(column: RawBuilder<unknown>): RawBuilder<number> {
  return sql<number>`((${column} - ((${column} % ${sql.lit(DAY_MS)}) + ${sql.lit(DAY_MS)}) % ${sql.lit(DAY_MS)}) / ${sql.lit(DAY_MS)})`;
}

/** The Monday of the ISO week of a day number: 1970-01-01 was a Thursday, three days after one. */
function mondayNumber(day: RawBuilder<number>): RawBuilder<number> {
  return sql<number>`(${day} - (((${day} + 3) % 7) + 7) % 7)`;
}

/**
 * The dialect twins. A day number as `YYYY-MM-DD` and its month as `YYYY-MM`; and the item tables
 * as the counting join reads them: SQLite is told to read the covering indexes of migration 004
 * (unanalysed, it prefers the primary key, whose unique lookup then also reads the row), where
 * PostgreSQL chooses by itself.
 */
interface DialectSql {
  day(day: RawBuilder<number>): RawBuilder<string>;
  month(day: RawBuilder<number>): RawBuilder<string>;
  points: RawBuilder<unknown>;
  todos: RawBuilder<unknown>;
}

const DIALECT_SQL: Record<Dialect, DialectSql> = {
  sqlite: {
    day: (day) => sql<string>`date(${day} * 86400, 'unixepoch')`,
    month: (day) => sql<string>`strftime('%Y-%m', ${day} * 86400, 'unixepoch')`,
    points: sql`coaching_points p indexed by coaching_points_stats`,
    todos: sql`todos t indexed by todos_stats`,
  },
  postgres: {
    day: (day) => sql<string>`to_char(date '1970-01-01' + cast(${day} as integer), 'YYYY-MM-DD')`,
    month: (day) => sql<string>`to_char(date '1970-01-01' + cast(${day} as integer), 'YYYY-MM')`,
    points: sql`coaching_points p`,
    todos: sql`todos t`,
  },
};

function axisColumn(selection: StatsSelection): RawBuilder<unknown> {
  return sql.ref(selection.window.axis === 'meetingDate' ? 's.meeting_date' : 's.created_at');
}

function groupKey(dialect: Dialect, selection: StatsSelection): RawBuilder<string | null> {
  const keys: Record<StatsGroupBy, () => RawBuilder<string | null>> = {
    none: () => sql`cast(null as text)`,
    coach: () => sql`s.coach_id`,
    agent: () => sql`s.agent_id`,
    template: () => sql`s.template_id`,
    week: () => DIALECT_SQL[dialect].day(mondayNumber(dayNumber(axisColumn(selection)))),
    month: () => DIALECT_SQL[dialect].month(dayNumber(axisColumn(selection))),
  };
  return keys[selection.groupBy]();
}

/** canRead's rule (coaching/permissions.ts) as a filter on `coaching_sessions s`. */
function scopeFilter(scope: ReadScope): RawBuilder<unknown> {
  switch (scope.kind) {
    case 'organization': return sql``;
    case 'coachOrCreator': return sql`and (s.coach_id = ${scope.userId} or s.form_creator_id = ${scope.userId})`;
    case 'sharedWithAgent': return sql`and s.agent_id = ${scope.userId} and s.shared_with_agent`;
  }
}

/**
 * The counted sessions with their group key: in the window, in scope, not deleted. Materialized
 * once for the whole statement, and so planned on its own: SQLite then reads it through the
 * window's index instead of an index that would spare it the GROUP BY's sort.
 */
function countedSessions(dialect: Dialect, orgId: string, selection: StatsSelection, scope: ReadScope): RawBuilder<unknown> {
  const axis = axisColumn(selection);
  return sql`sess as materialized (
    select s.id, s.shared_with_agent, s.agent_confirmed, s.coach_confirmed, ${groupKey(dialect, selection)} as k
    from coaching_sessions s
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

/** One row of the statement's answer; `part` says which of its five parts, and so what n1… mean. */
interface PartRow {
  part: 'sessions' | 'points' | 'todos' | 'acknowledgement' | 'total_acknowledgement';
  k: string | null;
  name: string | null;
  n1: number | null;
  n2: number | null;
  n3: number | null;
  n4: number | null;
  n5: number | null;
  n6: number | null;
  n7: number | null;
}

/**
 * Everything in one statement over one materialized set of sessions, in five parts:
 *
 * - sessions: n1 sessions, n2 shared, n3 shared and agent-confirmed, n4 coach-confirmed, n5 both;
 * - points, each (session, point) link once: n1 points, n2 strengths, n3 opportunities, n4…n7 per
 *   classification (general, qa, csat, productivity);
 * - todos, each link once: n1 to-dos, n2 completed;
 * - acknowledgement (per group) and total_acknowledgement (over all): n1 and n2 the lowest and
 *   highest of the middle one or two acknowledgement times, in exact milliseconds; the domain
 *   takes their mean. `2 * rank` between n and n + 2 picks rank (n+1)/2 for an odd count n, and
 *   n/2 and n/2+1 for an even one.
 *
 * A session's acknowledgement time runs from its earliest `shared` entry to its earliest
 * `agent_confirmed` entry at or after that; both read only the partial index of migration 004
 * (whose condition the joins repeat, so that SQLite sees it may use it).
 *
 * The joins are written as CROSS JOIN because SQLite then keeps them in the order written, from
 * the window's sessions to their links to the items (otherwise it may walk every link of the
 * organization); PostgreSQL plans a cross join with conditions like any inner join.
 */
function statsStatement(dialect: Dialect, orgId: string, selection: StatsSelection, scope: ReadScope): RawBuilder<PartRow> {
  const { name, join } = nameJoin(orgId, selection.groupBy);
  const twin = DIALECT_SQL[dialect];
  const marks = sql.raw(`action_type in ('shared', 'agent_confirmed')`);
  return sql<PartRow>`
    with ${countedSessions(dialect, orgId, selection, scope)},
    firsts as materialized (
      select sess.id, sess.k, min(l.timestamp) as shared_at
      from sess cross join activity_log l
      where l.org_id = ${orgId} and l.session_id = sess.id and l.${marks} and l.action_type = 'shared'
      group by sess.id, sess.k
    ),
    acks as materialized (
      select f.k, min(c.timestamp) - f.shared_at as ms
      from firsts f cross join activity_log c
      where c.org_id = ${orgId} and c.session_id = f.id and c.${marks} and c.action_type = 'agent_confirmed'
        and c.timestamp >= f.shared_at
      group by f.id, f.k, f.shared_at
    ),
    ranked as materialized (
      select k, ms,
        row_number() over (partition by k order by ms) as group_rank, count(*) over (partition by k) as group_size,
        row_number() over (order by ms) as total_rank, count(*) over () as total_size
      from acks where ms is not null
    )
    select 'sessions' as part, g.k, ${name} as name, g.n1, g.n2, g.n3, g.n4, g.n5, null as n6, null as n7 from (
      select k,
        count(*) as n1,
        count(*) filter (where shared_with_agent) as n2,
        count(*) filter (where shared_with_agent and agent_confirmed) as n3,
        count(*) filter (where coach_confirmed) as n4,
        count(*) filter (where agent_confirmed and coach_confirmed) as n5
      from sess group by k
    ) g ${join}
    union all
    select 'points', sess.k, null,
      count(*),
      count(*) filter (where p.type = 'strength'),
      count(*) filter (where p.type = 'opportunity'),
      count(*) filter (where p.classification = 'general'),
      count(*) filter (where p.classification = 'qa'),
      count(*) filter (where p.classification = 'csat'),
      count(*) filter (where p.classification = 'productivity')
    from sess
    cross join coaching_point_sessions l
    cross join ${twin.points}
    where l.org_id = ${orgId} and l.session_id = sess.id and p.org_id = ${orgId} and p.id = l.item_id and not p.is_deleted
    group by sess.k
    union all
    select 'todos', sess.k, null, count(*), count(*) filter (where t.status = 'complete'), null, null, null, null, null
    from sess
    cross join todo_sessions l
    cross join ${twin.todos}
    where l.org_id = ${orgId} and l.session_id = sess.id and t.org_id = ${orgId} and t.id = l.item_id and not t.is_deleted
    group by sess.k
    union all
    select 'acknowledgement', k, null, min(ms), max(ms), null, null, null, null, null from ranked
    where 2 * group_rank between group_size and group_size + 2
    group by k
    union all
    select 'total_acknowledgement', null, null, min(ms), max(ms), null, null, null, null, null from ranked
    where 2 * total_rank between total_size and total_size + 2`;
}

const count = (value: number | null | undefined) => Number(value ?? 0);

function middle(row: PartRow | undefined): AcknowledgementMiddle | null {
  if (!row || row.n1 === null || row.n2 === null) return null;
  return { lowMs: Number(row.n1), highMs: Number(row.n2) };
}

/** Every group's counts, in no particular order (the domain sorts). */
export async function readStats(db: Db, dialect: Dialect, orgId: string, selection: StatsSelection, scope: ReadScope): Promise<StatsAggregate> {
  const { rows } = await statsStatement(dialect, orgId, selection, scope).execute(db);
  const part = (name: PartRow['part']) => new Map(rows.filter((row) => row.part === name).map((row) => [row.k, row]));
  const [points, todos, acknowledgements] = [part('points'), part('todos'), part('acknowledgement')];
  const groups: StatsGroupCounts[] = [...part('sessions').values()].map((row) => {
    const p = points.get(row.k);
    const t = todos.get(row.k);
    return {
      key: row.k,
      name: row.name,
      sessions: count(row.n1),
      shared: count(row.n2),
      agentConfirmed: count(row.n3),
      coachConfirmed: count(row.n4),
      bothConfirmed: count(row.n5),
      acknowledgement: middle(acknowledgements.get(row.k)),
      coachingPoints: count(p?.n1),
      strengths: count(p?.n2),
      opportunities: count(p?.n3),
      byClassification: { general: count(p?.n4), qa: count(p?.n5), csat: count(p?.n6), productivity: count(p?.n7) },
      todos: count(t?.n1),
      todosCompleted: count(t?.n2),
    };
  });
  return { groups, totalAcknowledgement: middle(part('total_acknowledgement').get(null)) };
}
