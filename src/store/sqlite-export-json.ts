import type BetterSqlite3 from 'better-sqlite3';
import type { ExportWindow } from '../export/window.js';

/**
 * The export built inside SQLite: one statement per page returns each session as finished JSON
 * text, children included, so JavaScript only joins strings. SQLite's json_object escapes strings
 * exactly as JSON.stringify does and strftime('%f') renders epoch milliseconds exactly as
 * Date.prototype.toJSON does, so the bytes equal the portable path's (store-parity test).
 */

const iso = (column: string) => `strftime('%Y-%m-%dT%H:%M:%fZ', ${column} / 1000.0, 'unixepoch')`;
const bool = (column: string) => `json(iif(${column}, 'true', 'false'))`;
const links = (table: string, item: string) =>
  `json((select json_group_array(k.session_id order by k.position) from ${table} k where k.org_id = ${item}.org_id and k.item_id = ${item}.id))`;

function pageSql(axis: 'created_at' | 'meeting_date'): string {
  return `
select s.id as id, s.${axis} as axis, json_object(
  '_id', s.id,
  'coachingFormName', s.coaching_form_name,
  'coachingTemplateId', s.template_id,
  'coachingTemplateName', t.name,
  'meetingFormat', s.meeting_format,
  'formCreatorId', s.form_creator_id,
  'formCreatorName', fc.name,
  'coachName', c.name,
  'coachId', s.coach_id,
  'agentId', s.agent_id,
  'agentName', a.name,
  'createdAt', ${iso('s.created_at')},
  'updatedAt', ${iso('s.updated_at')},
  'sharedWithAgent', ${bool('s.shared_with_agent')},
  'meetingDate', ${iso('s.meeting_date')},
  'agentConfirmed', ${bool('s.agent_confirmed')},
  'coachConfirmed', ${bool('s.coach_confirmed')},
  'coachNotes', s.coach_notes,
  'agentNotes', s.agent_notes,
  'isDeleted', ${bool('s.is_deleted')},
  'activityLog', json((
    select json_group_array(json_object(
      'userId', l.user_id, 'userEmail', l.user_email, 'actionType', l.action_type,
      'descriptions', json(l.descriptions), 'timestamp', ${iso('l.timestamp')}, 'ipAddress', l.ip_address
    ) order by l.seq)
    from activity_log l where l.org_id = s.org_id and l.session_id = s.id
  )),
  'coachingPoints', json((
    select json_group_array(json_object(
      '_id', p.id, 'coachingFormIds', ${links('coaching_point_sessions', 'p')}, 'type', p.type,
      'classification', p.classification, 'ticketId', p.ticket_id, 'subject', p.subject,
      'rubricName', p.rubric_name, 'criteriaName', p.criteria_name, 'kpiName', p.kpi_name,
      'score', p.score, 'agentNotes', p.agent_notes, 'coachNotes', p.coach_notes,
      'createdAt', ${iso('p.created_at')}, 'updatedAt', ${iso('p.updated_at')}, 'isDeleted', ${bool('p.is_deleted')}
    ) order by p.created_at, p.id)
    from coaching_point_sessions pl
    join coaching_points p on p.org_id = pl.org_id and p.id = pl.item_id
    where pl.org_id = s.org_id and pl.session_id = s.id
  )),
  'todos', json((
    select json_group_array(json_object(
      '_id', d.id, 'actionString', d.action_string, 'coachingFormIds', ${links('todo_sessions', 'd')},
      'completedAt', ${iso('d.completed_at')}, 'createdAt', ${iso('d.created_at')}, 'creatorId', d.creator_id,
      'creatorName', u.name, 'description', d.description, 'link', d.link, 'status', d.status,
      'title', d.title, 'type', d.type, 'updatedAt', ${iso('d.updated_at')}, 'isDeleted', ${bool('d.is_deleted')}
    ) order by d.created_at, d.id)
    from todo_sessions dl
    join todos d on d.org_id = dl.org_id and d.id = dl.item_id
    join users u on u.org_id = d.org_id and u.id = d.creator_id
    where dl.org_id = s.org_id and dl.session_id = s.id
  ))
) as doc
from coaching_sessions s
join users fc on fc.org_id = s.org_id and fc.id = s.form_creator_id
join users c on c.org_id = s.org_id and c.id = s.coach_id
join users a on a.org_id = s.org_id and a.id = s.agent_id
left join coaching_templates t on t.org_id = s.org_id and t.id = s.template_id
where s.org_id = ? and s.${axis} >= ? and s.${axis} <= ? and (s.${axis}, s.id) > (?, ?)
order by s.${axis}, s.id
limit ?`;
}

/** A small first page gets the first bytes out at once; later pages are larger for throughput. */
const FIRST_PAGE = 50;

/**
 * Reads through a read-only connection of its own, opened on the first page (an export abandoned
 * before it starts opens nothing) and closed when done or abandoned.
 */
export async function* sqliteExportJson(open: () => BetterSqlite3.Database, orgId: string, window: ExportWindow, pageSize: number): AsyncGenerator<string[]> {
  const db = open();
  try {
    const statement = db.prepare<unknown[], { id: string; axis: number; doc: string }>(pageSql(window.axis === 'meetingDate' ? 'meeting_date' : 'created_at'));
    // One read transaction: every page comes from the same snapshot.
    db.exec('begin');
    let cursor: [number, string] = [window.fromMs - 1, ''];
    for (let limit = FIRST_PAGE; ; limit = pageSize) {
      const rows = statement.all(orgId, window.fromMs, window.toMs, cursor[0], cursor[1], limit);
      if (rows.length > 0) yield rows.map((row) => row.doc);
      if (rows.length < limit) break;
      const last = rows[rows.length - 1]!;
      cursor = [last.axis, last.id];
      // Let the event loop write what is queued and serve other requests between pages.
      await new Promise((resolve) => setImmediate(resolve));
    }
    db.exec('commit');
  } finally {
    db.close();
  }
}
