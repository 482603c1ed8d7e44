import type { Insertable, Kysely } from 'kysely';
import type { SessionFacts } from '../../analytics/session-facts.js';
import { Prepared } from '../prepared.js';
import { flag } from '../rows.js';
import type { Database, SessionStatsTable } from '../schema.js';

/**
 * Stores sessions' stats rows (migration 005), replacing what was there: the writers call it with
 * the facts of every document they write, in the same transaction.
 */

/** The columns after the key, in the order `statsValues` gives them. */
export const STATS_COLUMNS = [
  'created_at',
  'meeting_date',
  'template_id',
  'form_creator_id',
  'coach_id',
  'agent_id',
  'is_deleted',
  'shared_with_agent',
  'agent_confirmed',
  'coach_confirmed',
  'points',
  'strengths',
  'opportunities',
  'general',
  'qa',
  'csat',
  'productivity',
  'todos',
  'todos_completed',
  'acknowledgement_ms',
] as const satisfies ReadonlyArray<keyof SessionStatsTable>;

/** org_id, session_id, then STATS_COLUMNS: one row's parameters for a prepared statement. */
export function statsValues(orgId: string, f: SessionFacts): Array<string | number | null> {
  return [
    orgId,
    f.sessionId,
    f.createdAt,
    f.meetingDate,
    f.templateId,
    f.formCreatorId,
    f.coachId,
    f.agentId,
    flag(f.isDeleted),
    flag(f.sharedWithAgent),
    flag(f.agentConfirmed),
    flag(f.coachConfirmed),
    f.points,
    f.strengths,
    f.opportunities,
    f.general,
    f.qa,
    f.csat,
    f.productivity,
    f.todos,
    f.todosCompleted,
    f.acknowledgementMs,
  ];
}

function statsRow(orgId: string, facts: SessionFacts): Insertable<SessionStatsTable> {
  const values = statsValues(orgId, facts);
  return Object.fromEntries(
    ['org_id', 'session_id', ...STATS_COLUMNS].map((column, i) => [column, values[i]]),
  ) as unknown as Insertable<SessionStatsTable>;
}

/** Rows per statement: 22 parameters each, well under both databases' limits. */
const ROWS_PER_STATEMENT = 400;

function upsertStats(trx: Kysely<Database>, rows: Array<Insertable<SessionStatsTable>>) {
  return trx
    .insertInto('session_stats')
    .values(rows)
    .onConflict((oc) =>
      oc.columns(['org_id', 'session_id']).doUpdateSet((eb) => Object.fromEntries(STATS_COLUMNS.map((c) => [c, eb.ref(`excluded.${c}`)]))),
    );
}

/** One session's row, the write of nearly every coaching change. */
const upsertOne = new Prepared((trx, row: Insertable<SessionStatsTable>) => upsertStats(trx, [row]));

export async function writeSessionStats(trx: Kysely<Database>, engine: string, orgId: string, facts: SessionFacts[]): Promise<void> {
  if (facts.length === 1) {
    await upsertOne.execute(engine, trx, statsRow(orgId, facts[0]!));
    return;
  }
  for (let i = 0; i < facts.length; i += ROWS_PER_STATEMENT) {
    await upsertStats(
      trx,
      facts.slice(i, i + ROWS_PER_STATEMENT).map((f) => statsRow(orgId, f)),
    ).execute();
  }
}

/** Every column but the two dates, for an edit in place (a session's creation time never changes). */
const EDITED_COLUMNS = STATS_COLUMNS.filter((c) => c !== 'created_at' && c !== 'meeting_date');

const rewriteStats = (withMeetingDate: boolean) =>
  new Prepared((trx, row: Insertable<SessionStatsTable>) =>
    trx
      .updateTable('session_stats')
      .set(Object.fromEntries([...EDITED_COLUMNS, ...(withMeetingDate ? ['meeting_date' as const] : [])].map((c) => [c, row[c]])))
      .where('org_id', '=', row.org_id)
      .where('session_id', '=', row.session_id),
  );
const rewriteStatsAndMeetingDate = rewriteStats(true);
const rewriteStatsKeepingMeetingDate = rewriteStats(false);

/**
 * The stats rows of sessions edited in place, which exist: an UPDATE of the columns that may change,
 * so that the indexes over the dates (session_stats_created, _meeting) are not rewritten with the
 * same entries, as the upsert's SET rewrites them.
 */
export async function rewriteSessionStats(
  trx: Kysely<Database>,
  engine: string,
  orgId: string,
  rows: Array<{ facts: SessionFacts; meetingDateKept: boolean }>,
): Promise<void> {
  for (const { facts, meetingDateKept } of rows)
    await (meetingDateKept ? rewriteStatsKeepingMeetingDate : rewriteStatsAndMeetingDate).execute(engine, trx, statsRow(orgId, facts));
}
