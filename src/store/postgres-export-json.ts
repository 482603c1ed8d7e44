import type pg from 'pg';
import type { ExportWindow } from '../export/window.js';

/**
 * The export built inside PostgreSQL as text, one finished JSON document per session. Not
 * json_build_object, whose output puts spaces around colons: the text is concatenated so that it
 * is byte for byte what JSON.stringify writes (to_json escapes strings as JSON.stringify does;
 * dates are computed from integer milliseconds, with no floating point). The store-parity test
 * compares it with SQLite's output.
 */

const json = (expr: string) => `coalesce(to_json(${expr})::text, 'null')`;
const date = (expr: string) =>
  `coalesce('"' || to_char(timestamp '1970-01-01' + ${expr} * interval '1 millisecond', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') || '"', 'null')`;
const bool = (expr: string) => `(case when ${expr} then 'true' else 'false' end)`;
const array = (aggregate: string) => `'[' || coalesce((${aggregate}), '') || ']'`;

/** `"key":value` pairs joined into one object literal. */
function object(fields: Array<[string, string]>): string {
  return `'{' || ${fields.map(([key, value], i) => `'${i === 0 ? '' : ','}"${key}":' || ${value}`).join(' || ')} || '}'`;
}

const links = (table: string, item: string) =>
  array(`select string_agg(to_json(k.session_id)::text, ',' order by k.position) from ${table} k where k.org_id = ${item}.org_id and k.item_id = ${item}.id`);

const logEntry = object([
  ['userId', json('l.user_id')],
  ['userEmail', json('l.user_email')],
  ['actionType', json('l.action_type')],
  ['descriptions', 'l.descriptions'],
  ['timestamp', date('l.timestamp')],
  ['ipAddress', json('l.ip_address')],
]);

const point = object([
  ['_id', json('p.id')],
  ['coachingFormIds', links('coaching_point_sessions', 'p')],
  ['type', json('p.type')],
  ['classification', json('p.classification')],
  ['ticketId', json('p.ticket_id')],
  ['subject', json('p.subject')],
  ['rubricName', json('p.rubric_name')],
  ['criteriaName', json('p.criteria_name')],
  ['kpiName', json('p.kpi_name')],
  ['score', json('p.score')],
  ['agentNotes', json('p.agent_notes')],
  ['coachNotes', json('p.coach_notes')],
  ['createdAt', date('p.created_at')],
  ['updatedAt', date('p.updated_at')],
  ['isDeleted', bool('p.is_deleted')],
]);

const todo = object([
  ['_id', json('d.id')],
  ['actionString', json('d.action_string')],
  ['coachingFormIds', links('todo_sessions', 'd')],
  ['completedAt', date('d.completed_at')],
  ['createdAt', date('d.created_at')],
  ['creatorId', json('d.creator_id')],
  ['creatorName', json('u.name')],
  ['description', json('d.description')],
  ['link', json('d.link')],
  ['status', json('d.status')],
  ['title', json('d.title')],
  ['type', json('d.type')],
  ['updatedAt', date('d.updated_at')],
  ['isDeleted', bool('d.is_deleted')],
]);

const session = object([
  ['_id', json('s.id')],
  ['coachingFormName', json('s.coaching_form_name')],
  ['coachingTemplateId', json('s.template_id')],
  ['coachingTemplateName', json('t.name')],
  ['meetingFormat', json('s.meeting_format')],
  ['formCreatorId', json('s.form_creator_id')],
  ['formCreatorName', json('fc.name')],
  ['coachName', json('c.name')],
  ['coachId', json('s.coach_id')],
  ['agentId', json('s.agent_id')],
  ['agentName', json('a.name')],
  ['createdAt', date('s.created_at')],
  ['updatedAt', date('s.updated_at')],
  ['sharedWithAgent', bool('s.shared_with_agent')],
  ['meetingDate', date('s.meeting_date')],
  ['agentConfirmed', bool('s.agent_confirmed')],
  ['coachConfirmed', bool('s.coach_confirmed')],
  ['coachNotes', json('s.coach_notes')],
  ['agentNotes', json('s.agent_notes')],
  ['isDeleted', bool('s.is_deleted')],
  ['activityLog', array(`select string_agg(${logEntry}, ',' order by l.seq) from activity_log l where l.org_id = s.org_id and l.session_id = s.id`)],
  ['coachingPoints', array(`select string_agg(${point}, ',' order by p.created_at, p.id) from coaching_point_sessions pl join coaching_points p on p.org_id = pl.org_id and p.id = pl.item_id where pl.org_id = s.org_id and pl.session_id = s.id`)],
  ['todos', array(`select string_agg(${todo}, ',' order by d.created_at, d.id) from todo_sessions dl join todos d on d.org_id = dl.org_id and d.id = dl.item_id join users u on u.org_id = d.org_id and u.id = d.creator_id where dl.org_id = s.org_id and dl.session_id = s.id`)],
]);

function pageSql(axis: 'created_at' | 'meeting_date'): string {
  return `
select s.id as id, s.${axis} as axis, ${session} as doc
from coaching_sessions s
join users fc on fc.org_id = s.org_id and fc.id = s.form_creator_id
join users c on c.org_id = s.org_id and c.id = s.coach_id
join users a on a.org_id = s.org_id and a.id = s.agent_id
left join coaching_templates t on t.org_id = s.org_id and t.id = s.template_id
where s.org_id = $1 and s.${axis} >= $2 and s.${axis} <= $3 and (s.${axis}, s.id) > ($4, $5)
order by s.${axis}, s.id
limit $6`;
}

const SQL = { createdAt: pageSql('created_at'), meetingDate: pageSql('meeting_date') };
const FIRST_PAGE = 50;

/** Pages of finished JSON from one REPEATABLE READ, READ ONLY snapshot on one pooled connection. */
export async function* postgresExportJson(pool: pg.Pool, orgId: string, window: ExportWindow, pageSize: number): AsyncGenerator<string[]> {
  const client = await pool.connect();
  let healthy = false;
  try {
    await client.query('begin isolation level repeatable read read only');
    let cursor: [number, string] = [window.fromMs - 1, ''];
    for (let limit = FIRST_PAGE; ; limit = pageSize) {
      const { rows } = await client.query<{ id: string; axis: number; doc: string }>({
        name: `export-${window.axis}`,
        text: SQL[window.axis],
        values: [orgId, window.fromMs, window.toMs, cursor[0], cursor[1], limit],
      });
      if (rows.length > 0) yield rows.map((row) => row.doc);
      if (rows.length < limit) break;
      const last = rows[rows.length - 1]!;
      cursor = [Number(last.axis), last.id];
    }
    await client.query('commit');
    healthy = true;
  } finally {
    if (!healthy) await client.query('rollback').catch(() => undefined);
    // A connection whose export failed half-way is not trusted back into the pool.
    client.release(!healthy);
  }
}
