import type { FastifyInstance } from 'fastify';
import type { Clock } from '../../clock.js';
import { createPoint, createTodo, deletePoint, deleteTodo, updatePoint, updateTodo } from '../../coaching/items.js';
import { confirmSession, createSession, deleteSession, getSession, shareSession, updateSession } from '../../coaching/sessions.js';
import {
  CreatePointBody,
  CreateSessionBody,
  CreateTodoBody,
  IdParams,
  UpdatePointBody,
  UpdateSessionBody,
  UpdateTodoBody,
} from '../../contract/coaching-schemas.js';
import { CoachingPointSchema, ErrorSchema, ExportSessionSchema, TodoSchema } from '../../contract/schemas.js';
import type { Store } from '../../store/store.js';
import { actorOf } from '../actor.js';
import { refuseBody } from '../no-body.js';

const errors = { '4xx': ErrorSchema };
const READ_AS_AGENT =
  "Admins and the session's coaches read every field. Its agent (once shared) reads it without anything deleted: " +
  'no coaching points or to-dos with isDeleted true, and every activityLog entry with ipAddress null.';
const ANSWERED_AS_READ = 'Answers the session as the caller reads it (see GET).';
const PATCH_SESSION = "Admins and the session's coach: any field here. The agent, once shared: agentNotes only.";
const REASSIGNMENT =
  "A different agentId also sets sharedWithAgent and agentConfirmed to false, and is refused (409) while the session's agentNotes, " +
  'or those of a coaching point on it that is not deleted, are set.';
const session = { 200: ExportSessionSchema, ...errors };

export function coachingRoutes(app: FastifyInstance, deps: { store: Store; clock: Clock }): void {
  const { store, clock } = deps;
  const sessionTag = ['Coaching sessions'];

  app.post<{ Body: CreateSessionBody }>(
    '/api/v1/coaching/sessions',
    {
      schema: {
        summary: 'Create a coaching session',
        description: 'Admins and coaches. The caller is the form creator, and the coach unless coachId says otherwise.',
        tags: sessionTag,
        body: CreateSessionBody,
        response: { 201: ExportSessionSchema, ...errors },
      },
    },
    async (request, reply) => reply.code(201).send(await createSession(store, actorOf(request), request.body, clock.now())),
  );
  app.get<{ Params: IdParams }>(
    '/api/v1/coaching/sessions/:id',
    {
      schema: {
        summary: 'Read a session in the export shape',
        description: READ_AS_AGENT,
        tags: sessionTag,
        params: IdParams,
        response: session,
      },
    },
    async (request) => getSession(store, actorOf(request), request.params.id),
  );
  app.patch<{ Params: IdParams; Body: UpdateSessionBody }>(
    '/api/v1/coaching/sessions/:id',
    {
      schema: {
        summary: 'Change a session',
        description: `${PATCH_SESSION} ${REASSIGNMENT} ${ANSWERED_AS_READ}`,
        tags: sessionTag,
        params: IdParams,
        body: UpdateSessionBody,
        response: session,
      },
    },
    async (request) => updateSession(store, actorOf(request), request.params.id, request.body, clock.now()),
  );
  app.delete<{ Params: IdParams }>(
    '/api/v1/coaching/sessions/:id',
    {
      schema: {
        summary: 'Soft-delete a session (it stays in exports with isDeleted: true)',
        tags: sessionTag,
        params: IdParams,
        response: session,
      },
    },
    async (request) => deleteSession(store, actorOf(request), request.params.id, clock.now()),
  );
  app.post<{ Params: IdParams }>(
    '/api/v1/coaching/sessions/:id/share',
    {
      preValidation: refuseBody,
      schema: { summary: 'Share a session with its agent', tags: sessionTag, params: IdParams, response: session },
    },
    async (request) => shareSession(store, actorOf(request), request.params.id, clock.now()),
  );
  app.post<{ Params: IdParams }>(
    '/api/v1/coaching/sessions/:id/confirm',
    {
      preValidation: refuseBody,
      schema: {
        summary: 'Confirm a session as its coach or its agent (whoever calls)',
        description: ANSWERED_AS_READ,
        tags: sessionTag,
        params: IdParams,
        response: session,
      },
    },
    async (request) => confirmSession(store, actorOf(request), request.params.id, clock.now()),
  );

  const pointTag = ['Coaching points'];
  const point = { 200: CoachingPointSchema, ...errors };
  app.post<{ Body: CreatePointBody }>(
    '/api/v1/coaching/points',
    {
      schema: {
        summary: 'Add a coaching point to one or more sessions',
        tags: pointTag,
        body: CreatePointBody,
        response: { 201: CoachingPointSchema, ...errors },
      },
    },
    async (request, reply) => reply.code(201).send(await createPoint(store, actorOf(request), request.body, clock.now())),
  );
  app.patch<{ Params: IdParams; Body: UpdatePointBody }>(
    '/api/v1/coaching/points/:id',
    { schema: { summary: 'Change a coaching point', tags: pointTag, params: IdParams, body: UpdatePointBody, response: point } },
    async (request) => updatePoint(store, actorOf(request), request.params.id, request.body, clock.now()),
  );
  app.delete<{ Params: IdParams }>(
    '/api/v1/coaching/points/:id',
    { schema: { summary: 'Soft-delete a coaching point', tags: pointTag, params: IdParams, response: point } },
    async (request) => deletePoint(store, actorOf(request), request.params.id, clock.now()),
  );

  const todoTag = ['To-dos'];
  const todo = { 200: TodoSchema, ...errors };
  app.post<{ Body: CreateTodoBody }>(
    '/api/v1/coaching/todos',
    {
      schema: {
        summary: 'Add a to-do to one or more sessions',
        tags: todoTag,
        body: CreateTodoBody,
        response: { 201: TodoSchema, ...errors },
      },
    },
    async (request, reply) => reply.code(201).send(await createTodo(store, actorOf(request), request.body, clock.now())),
  );
  app.patch<{ Params: IdParams; Body: UpdateTodoBody }>(
    '/api/v1/coaching/todos/:id',
    {
      schema: {
        summary: 'Change a to-do; status complete sets completedAt, incomplete clears it',
        tags: todoTag,
        params: IdParams,
        body: UpdateTodoBody,
        response: todo,
      },
    },
    async (request) => updateTodo(store, actorOf(request), request.params.id, request.body, clock.now()),
  );
  app.delete<{ Params: IdParams }>(
    '/api/v1/coaching/todos/:id',
    { schema: { summary: 'Soft-delete a to-do', tags: todoTag, params: IdParams, response: todo } },
    async (request) => deleteTodo(store, actorOf(request), request.params.id, clock.now()),
  );
}
