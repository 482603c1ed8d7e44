import { relations } from 'drizzle-orm';
import { drizzle } from 'drizzle-orm/node-postgres';
import { bigint, boolean, integer, pgTable, primaryKey, text } from 'drizzle-orm/pg-core';
import pg from 'pg';
import type { ExportSession } from '../src/contract/schemas.js';

/**
 * The peer: the same export written the way a typical Node team would, with Drizzle's relational
 * queries (findMany with nested `with`) over the same PostgreSQL tables, mapped to the export shape
 * and serialized with JSON.stringify. It runs in the benchmark's process, without HTTP, which only
 * flatters it.
 */

const ms = (name: string) => bigint(name, { mode: 'number' });

const users = pgTable('users', { orgId: text('org_id').notNull(), id: text('id').notNull(), name: text('name').notNull() }, (t) => [
  primaryKey({ columns: [t.orgId, t.id] }),
]);
const templates = pgTable(
  'coaching_templates',
  { orgId: text('org_id').notNull(), id: text('id').notNull(), name: text('name').notNull() },
  (t) => [primaryKey({ columns: [t.orgId, t.id] })],
);
const sessions = pgTable(
  'coaching_sessions',
  {
    orgId: text('org_id').notNull(),
    id: text('id').notNull(),
    coachingFormName: text('coaching_form_name').notNull(),
    templateId: text('template_id'),
    meetingFormat: text('meeting_format'),
    formCreatorId: text('form_creator_id').notNull(),
    coachId: text('coach_id').notNull(),
    agentId: text('agent_id').notNull(),
    createdAt: ms('created_at').notNull(),
    updatedAt: ms('updated_at').notNull(),
    meetingDate: ms('meeting_date'),
    sharedWithAgent: boolean('shared_with_agent').notNull(),
    agentConfirmed: boolean('agent_confirmed').notNull(),
    coachConfirmed: boolean('coach_confirmed').notNull(),
    coachNotes: text('coach_notes'),
    agentNotes: text('agent_notes'),
    isDeleted: boolean('is_deleted').notNull(),
  },
  (t) => [primaryKey({ columns: [t.orgId, t.id] })],
);
const activityLog = pgTable('activity_log', {
  seq: bigint('seq', { mode: 'number' }).primaryKey(),
  orgId: text('org_id').notNull(),
  sessionId: text('session_id').notNull(),
  userId: text('user_id'),
  userEmail: text('user_email'),
  actionType: text('action_type').notNull(),
  descriptions: text('descriptions').notNull(),
  timestamp: ms('timestamp').notNull(),
  ipAddress: text('ip_address'),
});
const points = pgTable(
  'coaching_points',
  {
    orgId: text('org_id').notNull(),
    id: text('id').notNull(),
    type: text('type').notNull(),
    classification: text('classification').notNull(),
    ticketId: text('ticket_id'),
    subject: text('subject'),
    rubricName: text('rubric_name'),
    criteriaName: text('criteria_name'),
    kpiName: text('kpi_name'),
    score: text('score'),
    agentNotes: text('agent_notes'),
    coachNotes: text('coach_notes'),
    createdAt: ms('created_at').notNull(),
    updatedAt: ms('updated_at').notNull(),
    isDeleted: boolean('is_deleted').notNull(),
  },
  (t) => [primaryKey({ columns: [t.orgId, t.id] })],
);
const pointLinks = pgTable(
  'coaching_point_sessions',
  {
    orgId: text('org_id').notNull(),
    itemId: text('item_id').notNull(),
    sessionId: text('session_id').notNull(),
    position: integer('position').notNull(),
  },
  (t) => [primaryKey({ columns: [t.orgId, t.itemId, t.sessionId] })],
);
const todos = pgTable(
  'todos',
  {
    orgId: text('org_id').notNull(),
    id: text('id').notNull(),
    actionString: text('action_string'),
    completedAt: ms('completed_at'),
    createdAt: ms('created_at').notNull(),
    creatorId: text('creator_id').notNull(),
    description: text('description'),
    link: text('link'),
    status: text('status').notNull(),
    title: text('title').notNull(),
    type: text('type'),
    updatedAt: ms('updated_at').notNull(),
    isDeleted: boolean('is_deleted').notNull(),
  },
  (t) => [primaryKey({ columns: [t.orgId, t.id] })],
);
const todoLinks = pgTable(
  'todo_sessions',
  {
    orgId: text('org_id').notNull(),
    itemId: text('item_id').notNull(),
    sessionId: text('session_id').notNull(),
    position: integer('position').notNull(),
  },
  (t) => [primaryKey({ columns: [t.orgId, t.itemId, t.sessionId] })],
);

const sessionRelations = relations(sessions, ({ one, many }) => ({
  coach: one(users, { fields: [sessions.orgId, sessions.coachId], references: [users.orgId, users.id], relationName: 'coach' }),
  agent: one(users, { fields: [sessions.orgId, sessions.agentId], references: [users.orgId, users.id], relationName: 'agent' }),
  formCreator: one(users, {
    fields: [sessions.orgId, sessions.formCreatorId],
    references: [users.orgId, users.id],
    relationName: 'creator',
  }),
  template: one(templates, { fields: [sessions.orgId, sessions.templateId], references: [templates.orgId, templates.id] }),
  logs: many(activityLog),
  pointLinks: many(pointLinks),
  todoLinks: many(todoLinks),
}));
const userRelations = relations(users, ({ many }) => ({
  coached: many(sessions, { relationName: 'coach' }),
  agented: many(sessions, { relationName: 'agent' }),
  created: many(sessions, { relationName: 'creator' }),
  todos: many(todos),
}));
const logRelations = relations(activityLog, ({ one }) => ({
  session: one(sessions, { fields: [activityLog.orgId, activityLog.sessionId], references: [sessions.orgId, sessions.id] }),
}));
const pointLinkRelations = relations(pointLinks, ({ one }) => ({
  session: one(sessions, { fields: [pointLinks.orgId, pointLinks.sessionId], references: [sessions.orgId, sessions.id] }),
  point: one(points, { fields: [pointLinks.orgId, pointLinks.itemId], references: [points.orgId, points.id] }),
}));
const pointRelations = relations(points, ({ many }) => ({ links: many(pointLinks) }));
const todoLinkRelations = relations(todoLinks, ({ one }) => ({
  session: one(sessions, { fields: [todoLinks.orgId, todoLinks.sessionId], references: [sessions.orgId, sessions.id] }),
  todo: one(todos, { fields: [todoLinks.orgId, todoLinks.itemId], references: [todos.orgId, todos.id] }),
}));
const todoRelations = relations(todos, ({ one, many }) => ({
  links: many(todoLinks),
  creator: one(users, { fields: [todos.orgId, todos.creatorId], references: [users.orgId, users.id] }),
}));

const schema = {
  users,
  templates,
  sessions,
  activityLog,
  points,
  pointLinks,
  todos,
  todoLinks,
  sessionRelations,
  userRelations,
  logRelations,
  pointLinkRelations,
  pointRelations,
  todoLinkRelations,
  todoRelations,
};

const iso = (value: number) => new Date(value).toISOString();
const byCreated = <T extends { createdAt: number; id: string }>(a: T, b: T) =>
  a.createdAt - b.createdAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

export async function drizzlePeerExport(url: string, orgId: string, fromMs: number, toMs: number): Promise<string> {
  const pool = new pg.Pool({ connectionString: url, max: 2 });
  try {
    const db = drizzle(pool, { schema });
    const rows = await db.query.sessions.findMany({
      where: (s, { and, eq, gte, lte }) => and(eq(s.orgId, orgId), gte(s.createdAt, fromMs), lte(s.createdAt, toMs)),
      orderBy: (s, { asc }) => [asc(s.createdAt), asc(s.id)],
      with: {
        coach: { columns: { name: true } },
        agent: { columns: { name: true } },
        formCreator: { columns: { name: true } },
        template: { columns: { name: true } },
        logs: { orderBy: (l, { asc }) => [asc(l.seq)] },
        pointLinks: { with: { point: { with: { links: { orderBy: (l, { asc }) => [asc(l.position)] } } } } },
        todoLinks: {
          with: { todo: { with: { creator: { columns: { name: true } }, links: { orderBy: (l, { asc }) => [asc(l.position)] } } } },
        },
      },
    });
    const docs: ExportSession[] = rows.map((s) => ({
      _id: s.id,
      coachingFormName: s.coachingFormName,
      coachingTemplateId: s.templateId,
      coachingTemplateName: s.template?.name ?? null,
      meetingFormat: s.meetingFormat,
      formCreatorId: s.formCreatorId,
      formCreatorName: s.formCreator.name,
      coachName: s.coach.name,
      coachId: s.coachId,
      agentId: s.agentId,
      agentName: s.agent.name,
      createdAt: iso(s.createdAt),
      updatedAt: iso(s.updatedAt),
      sharedWithAgent: s.sharedWithAgent,
      meetingDate: s.meetingDate === null ? null : iso(s.meetingDate),
      agentConfirmed: s.agentConfirmed,
      coachConfirmed: s.coachConfirmed,
      coachNotes: s.coachNotes,
      agentNotes: s.agentNotes,
      isDeleted: s.isDeleted,
      activityLog: s.logs.map((l) => ({
        userId: l.userId,
        userEmail: l.userEmail,
        actionType: l.actionType,
        descriptions: JSON.parse(l.descriptions) as string[],
        timestamp: iso(l.timestamp),
        ipAddress: l.ipAddress,
      })),
      coachingPoints: s.pointLinks
        .map((l) => l.point)
        .sort(byCreated)
        .map((p) => ({
          _id: p.id,
          coachingFormIds: p.links.map((l) => l.sessionId),
          type: p.type as 'strength',
          classification: p.classification as 'qa',
          ticketId: p.ticketId,
          subject: p.subject,
          rubricName: p.rubricName,
          criteriaName: p.criteriaName,
          kpiName: p.kpiName,
          score: p.score,
          agentNotes: p.agentNotes,
          coachNotes: p.coachNotes,
          createdAt: iso(p.createdAt),
          updatedAt: iso(p.updatedAt),
          isDeleted: p.isDeleted,
        })),
      todos: s.todoLinks
        .map((l) => l.todo)
        .sort(byCreated)
        .map((t) => ({
          _id: t.id,
          actionString: t.actionString,
          coachingFormIds: t.links.map((l) => l.sessionId),
          completedAt: t.completedAt === null ? null : iso(t.completedAt),
          createdAt: iso(t.createdAt),
          creatorId: t.creatorId,
          creatorName: t.creator.name,
          description: t.description,
          link: t.link,
          status: t.status,
          title: t.title,
          type: t.type,
          updatedAt: iso(t.updatedAt),
          isDeleted: t.isDeleted,
        })),
    }));
    return JSON.stringify(docs);
  } finally {
    await pool.end();
  }
}
