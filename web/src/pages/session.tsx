import { useState } from 'preact/hooks';
import { canManage } from '../../../src/coaching/permissions.js';
import { stateOf } from '../../../src/coaching/session-list.js';
import { isWebLink } from '../../../src/contract/links.js';
import { POINT_CLASSIFICATIONS as CLASSIFICATIONS, POINT_TYPES } from '../../../src/contract/point-kinds.js';
import { api } from '../api';
import { formatDateTime, t, type MessageKey } from '../i18n';
import { navigate } from '../router';
import { useMe } from '../session-context';
import type { CoachingPoint, ExportSession, Todo } from '../types';
import { ErrorText, Field, LoadState, PageTitle, StateBadge, useAction, useLoad } from '../ui';

const sessionPath = (id: string) => `/api/v1/coaching/sessions/${encodeURIComponent(id)}`;
export const MEETING_FORMATS = ['live', 'async', 'phone', 'video'] as const;

/** A `datetime-local` value (read as UTC, as every date in Coachport is) to ISO and back. */
export const toLocalInput = (iso: string | null) => (iso ? iso.slice(0, 16) : '');
export const fromLocalInput = (value: string) => (value ? new Date(`${value}:00.000Z`).toISOString() : null);

export function SessionPage({ id }: { id: string }) {
  const me = useMe();
  const doc = useLoad((signal) => api.get<ExportSession>(sessionPath(id), { signal }), [id]);
  return (
    <LoadState loaded={doc}>
      {() => (
        <SessionView
          session={doc.data!}
          manage={canManage(me.user, doc.data!)}
          isAgent={me.user.id === doc.data!.agentId}
          reload={doc.reload}
        />
      )}
    </LoadState>
  );
}

interface ViewProps {
  session: ExportSession;
  manage: boolean;
  isAgent: boolean;
  reload: () => void;
}

function SessionView({ session: s, manage, isAgent, reload }: ViewProps) {
  const state = stateOf(s);
  return (
    <article class="session">
      <p>
        <a href="/sessions">← {t('session.back')}</a>
      </p>
      <div class="page-head">
        <PageTitle title={s.coachingFormName}>{s.coachingFormName}</PageTitle>
        <StateBadge state={state} />
      </div>
      <SessionActions session={s} manage={manage} isAgent={isAgent} reload={reload} />
      <div class="two-col">
        <section class="panel" aria-labelledby="details">
          <h2 id="details">{t('session.details')}</h2>
          <dl class="details">
            <dt>{t('session.coach')}</dt>
            <dd>{s.coachName}</dd>
            <dt>{t('session.agent')}</dt>
            <dd>{s.agentName}</dd>
            <dt>{t('session.template')}</dt>
            <dd>{s.coachingTemplateName ?? '—'}</dd>
            <dt>{t('session.meetingFormat')}</dt>
            <dd>{s.meetingFormat ?? '—'}</dd>
            <dt>{t('session.meetingDate')}</dt>
            <dd>{formatDateTime(s.meetingDate)}</dd>
            <dt>{t('session.creator')}</dt>
            <dd>{s.formCreatorName}</dd>
            <dt>{t('session.createdAt')}</dt>
            <dd>{formatDateTime(s.createdAt)}</dd>
            <dt>{t('session.updatedAt')}</dt>
            <dd>{formatDateTime(s.updatedAt)}</dd>
            <dt>{t('session.sharedWithAgent')}</dt>
            <dd>{s.sharedWithAgent ? t('common.yes') : t('common.no')}</dd>
            <dt>{t('session.agentConfirmed')}</dt>
            <dd>{s.agentConfirmed ? t('common.yes') : t('common.no')}</dd>
            <dt>{t('session.coachConfirmed')}</dt>
            <dd>{s.coachConfirmed ? t('common.yes') : t('common.no')}</dd>
            <dt>{t('session.id')}</dt>
            <dd>
              <code>{s._id}</code>
            </dd>
          </dl>
        </section>
        <section class="panel" aria-labelledby="notes">
          <h2 id="notes">{t('session.notes')}</h2>
          {manage && !s.isDeleted ? (
            <EditSession session={s} reload={reload} />
          ) : (
            <p class="notes">
              <strong>{t('session.coachNotes')}:</strong> {s.coachNotes ?? '—'}
            </p>
          )}
          {isAgent && !s.isDeleted ? (
            <AgentNotes path={sessionPath(s._id)} value={s.agentNotes} reload={reload} label={t('session.agentNotes')} />
          ) : (
            <p class="notes">
              <strong>{t('session.agentNotes')}:</strong> {s.agentNotes ?? '—'}
            </p>
          )}
        </section>
      </div>
      <Points session={s} manage={manage && !s.isDeleted} isAgent={isAgent && !s.isDeleted} reload={reload} />
      <Todos session={s} manage={manage && !s.isDeleted} reload={reload} />
      <Timeline session={s} />
    </article>
  );
}

/** After an action whose button goes away, focus returns to the page's heading, not to nowhere. */
function focusHeading(): void {
  document.querySelector<HTMLElement>('main h1')?.focus();
}

function SessionActions({ session: s, manage, isAgent, reload }: ViewProps) {
  const [done, setDone] = useState<string | null>(null);
  const share = useAction();
  const confirm = useAction();
  const remove = useAction();
  const [asking, setAsking] = useState(false);
  if (s.isDeleted)
    return (
      <p class="notice" role="status">
        {t('session.deletedNotice')}
      </p>
    );
  const mayConfirm = (manage && !s.coachConfirmed) || (isAgent && s.sharedWithAgent && !s.agentConfirmed);
  return (
    <div class="actions" role="group" aria-label={t('session.actions')}>
      <p class="visually-hidden" role="status">
        {done}
      </p>
      {manage && !s.sharedWithAgent ? (
        <div class="action">
          <button
            type="button"
            class="primary"
            disabled={share.busy}
            onClick={() =>
              share.run(async () => {
                await api.post(`${sessionPath(s._id)}/share`);
                setDone(t('session.sharedDone'));
                focusHeading();
                reload();
              })
            }
          >
            {t('session.share')}
          </button>
          <ErrorText error={share.error} />
        </div>
      ) : null}
      {mayConfirm ? (
        <div class="action">
          <button
            type="button"
            class="primary"
            disabled={confirm.busy}
            onClick={() =>
              confirm.run(async () => {
                await api.post(`${sessionPath(s._id)}/confirm`);
                setDone(t('session.confirmedDone'));
                focusHeading();
                reload();
              })
            }
          >
            {t('session.confirm')}
          </button>
          <ErrorText error={confirm.error} />
        </div>
      ) : null}
      {manage ? (
        <div class="action">
          {asking ? (
            <>
              <span>{t('session.deleteAsk')}</span>{' '}
              <button
                type="button"
                class="danger"
                disabled={remove.busy}
                onClick={() =>
                  remove.run(async () => {
                    await api.del(sessionPath(s._id));
                    setAsking(false);
                    reload();
                  })
                }
              >
                {t('session.deleteYes')}
              </button>{' '}
              <button type="button" class="secondary" onClick={() => setAsking(false)}>
                {t('common.cancel')}
              </button>
            </>
          ) : (
            <button type="button" class="danger-outline" onClick={() => setAsking(true)}>
              {t('session.delete')}
            </button>
          )}
          <ErrorText error={remove.error} />
        </div>
      ) : null}
    </div>
  );
}

function EditSession({ session: s, reload }: { session: ExportSession; reload: () => void }) {
  const [form, setForm] = useState({
    coachingFormName: s.coachingFormName,
    meetingFormat: s.meetingFormat ?? '',
    meetingDate: toLocalInput(s.meetingDate),
    coachNotes: s.coachNotes ?? '',
  });
  const save = useAction();
  const [saved, setSaved] = useState(false);
  return (
    <form
      class="stack"
      onSubmit={(e) => {
        e.preventDefault();
        setSaved(false);
        void save.run(async () => {
          await api.patch(sessionPath(s._id), {
            coachingFormName: form.coachingFormName,
            meetingFormat: form.meetingFormat || null,
            meetingDate: fromLocalInput(form.meetingDate),
            coachNotes: form.coachNotes || null,
          });
          setSaved(true);
          reload();
        });
      }}
    >
      <Field label={t('session.name')}>
        {(p) => (
          <input
            {...p}
            required
            value={form.coachingFormName}
            onInput={(e) => setForm({ ...form, coachingFormName: e.currentTarget.value })}
          />
        )}
      </Field>
      <div class="row">
        <Field label={t('session.meetingFormat')}>
          {(p) => (
            <select {...p} value={form.meetingFormat} onChange={(e) => setForm({ ...form, meetingFormat: e.currentTarget.value })}>
              <option value="">—</option>
              {[...new Set([...MEETING_FORMATS, ...(s.meetingFormat ? [s.meetingFormat] : [])])].map((f) => (
                <option value={f} key={f}>
                  {f}
                </option>
              ))}
            </select>
          )}
        </Field>
        <Field label={t('session.meetingDateUtc')}>
          {(p) => (
            <input
              {...p}
              type="datetime-local"
              value={form.meetingDate}
              onInput={(e) => setForm({ ...form, meetingDate: e.currentTarget.value })}
            />
          )}
        </Field>
      </div>
      <Field label={t('session.coachNotes')}>
        {(p) => (
          <textarea {...p} rows={4} value={form.coachNotes} onInput={(e) => setForm({ ...form, coachNotes: e.currentTarget.value })} />
        )}
      </Field>
      <div class="form-actions">
        <button type="submit" class="primary" disabled={save.busy}>
          {t('common.save')}
        </button>
        {saved ? (
          <span role="status" class="ok">
            {t('common.saved')}
          </span>
        ) : null}
      </div>
      <ErrorText error={save.error} />
    </form>
  );
}

function AgentNotes({ path, value, reload, label }: { path: string; value: string | null; reload: () => void; label: string }) {
  const [text, setText] = useState(value ?? '');
  const save = useAction();
  return (
    <form
      class="stack"
      onSubmit={(e) => {
        e.preventDefault();
        void save.run(async () => {
          await api.patch(path, { agentNotes: text || null });
          reload();
        });
      }}
    >
      <Field label={label}>{(p) => <textarea {...p} rows={3} value={text} onInput={(e) => setText(e.currentTarget.value)} />}</Field>
      <div class="form-actions">
        <button type="submit" class="primary" disabled={save.busy}>
          {t('session.saveAgentNotes')}
        </button>
      </div>
      <ErrorText error={save.error} />
    </form>
  );
}

const POINT_TYPE_KEYS: Record<string, MessageKey> = { strength: 'point.strength', opportunity: 'point.opportunity', 'n/a': 'point.na' };

function Points({
  session: s,
  manage,
  isAgent,
  reload,
}: {
  session: ExportSession;
  manage: boolean;
  isAgent: boolean;
  reload: () => void;
}) {
  const points = s.coachingPoints.filter((p) => !p.isDeleted);
  return (
    <section class="panel" aria-labelledby="points">
      <h2 id="points">
        {t('points.title')} <span class="count">({points.length})</span>
      </h2>
      {points.length === 0 ? (
        <p class="muted">{t('points.none')}</p>
      ) : (
        <ul class="cards">
          {points.map((p) => (
            <PointCard key={p._id} point={p} manage={manage} isAgent={isAgent} reload={reload} />
          ))}
        </ul>
      )}
      {manage ? <AddPoint sessionId={s._id} reload={reload} /> : null}
    </section>
  );
}

function PointCard({ point: p, manage, isAgent, reload }: { point: CoachingPoint; manage: boolean; isAgent: boolean; reload: () => void }) {
  const remove = useAction();
  const path = `/api/v1/coaching/points/${encodeURIComponent(p._id)}`;
  return (
    <li class="card-item">
      <div class="card-head">
        <span class={`badge badge-${p.type === 'strength' ? 'confirmed' : p.type === 'opportunity' ? 'acknowledged' : 'draft'}`}>
          {t(POINT_TYPE_KEYS[p.type] ?? 'point.na')}
        </span>
        <span class="badge badge-plain">{t(`class.${p.classification}` as MessageKey)}</span>
        <strong>{p.subject ?? t('points.noSubject')}</strong>
      </div>
      <dl class="details compact">
        {p.ticketId ? (
          <>
            <dt>{t('point.ticketId')}</dt>
            <dd>{p.ticketId}</dd>
          </>
        ) : null}
        {p.rubricName ? (
          <>
            <dt>{t('point.rubricName')}</dt>
            <dd>{p.rubricName}</dd>
          </>
        ) : null}
        {p.criteriaName ? (
          <>
            <dt>{t('point.criteriaName')}</dt>
            <dd>{p.criteriaName}</dd>
          </>
        ) : null}
        {p.kpiName ? (
          <>
            <dt>{t('point.kpiName')}</dt>
            <dd>{p.kpiName}</dd>
          </>
        ) : null}
        {p.score ? (
          <>
            <dt>{t('point.score')}</dt>
            <dd>{p.score}</dd>
          </>
        ) : null}
        <dt>{t('session.coachNotes')}</dt>
        <dd>{p.coachNotes ?? '—'}</dd>
        {!isAgent ? (
          <>
            <dt>{t('session.agentNotes')}</dt>
            <dd>{p.agentNotes ?? '—'}</dd>
          </>
        ) : null}
      </dl>
      {isAgent ? (
        <AgentNotes
          path={path}
          value={p.agentNotes}
          reload={reload}
          label={t('point.agentNotesFor', { subject: p.subject ?? t('points.noSubject') })}
        />
      ) : null}
      {manage ? (
        <div class="action">
          <button
            type="button"
            class="danger-outline small"
            disabled={remove.busy}
            onClick={() =>
              remove.run(async () => {
                await api.del(path);
                reload();
              })
            }
          >
            {t('points.remove', { subject: p.subject ?? '' })}
          </button>
          <ErrorText error={remove.error} />
        </div>
      ) : null}
    </li>
  );
}

function AddPoint({ sessionId, reload }: { sessionId: string; reload: () => void }) {
  const empty = {
    type: 'strength',
    classification: 'general',
    subject: '',
    ticketId: '',
    rubricName: '',
    criteriaName: '',
    kpiName: '',
    score: '',
    coachNotes: '',
  };
  const [form, setForm] = useState(empty);
  const add = useAction();
  const text = (key: keyof typeof empty, label: MessageKey) => (
    <Field label={t(label)}>
      {(p) => <input {...p} value={form[key]} onInput={(e) => setForm({ ...form, [key]: e.currentTarget.value })} />}
    </Field>
  );
  return (
    <details class="add-form">
      <summary>{t('points.add')}</summary>
      <form
        class="stack"
        onSubmit={(e) => {
          e.preventDefault();
          void add.run(async () => {
            const optional = Object.fromEntries(
              (['subject', 'ticketId', 'rubricName', 'criteriaName', 'kpiName', 'score', 'coachNotes'] as const)
                .filter((k) => form[k] !== '')
                .map((k) => [k, form[k]]),
            );
            await api.post('/api/v1/coaching/points', {
              coachingFormIds: [sessionId],
              type: form.type,
              classification: form.classification,
              ...optional,
            });
            setForm(empty);
            reload();
          });
        }}
      >
        <div class="row">
          <Field label={t('point.type')}>
            {(p) => (
              <select {...p} value={form.type} onChange={(e) => setForm({ ...form, type: e.currentTarget.value })}>
                {POINT_TYPES.map((v) => (
                  <option value={v} key={v}>
                    {t(POINT_TYPE_KEYS[v]!)}
                  </option>
                ))}
              </select>
            )}
          </Field>
          <Field label={t('point.classification')}>
            {(p) => (
              <select {...p} value={form.classification} onChange={(e) => setForm({ ...form, classification: e.currentTarget.value })}>
                {CLASSIFICATIONS.map((v) => (
                  <option value={v} key={v}>
                    {t(`class.${v}` as MessageKey)}
                  </option>
                ))}
              </select>
            )}
          </Field>
        </div>
        {text('subject', 'point.subject')}
        <div class="row">
          {text('ticketId', 'point.ticketId')}
          {text('score', 'point.score')}
        </div>
        <div class="row">
          {text('rubricName', 'point.rubricName')}
          {text('criteriaName', 'point.criteriaName')}
          {text('kpiName', 'point.kpiName')}
        </div>
        <Field label={t('session.coachNotes')}>
          {(p) => (
            <textarea {...p} rows={2} value={form.coachNotes} onInput={(e) => setForm({ ...form, coachNotes: e.currentTarget.value })} />
          )}
        </Field>
        <div class="form-actions">
          <button type="submit" class="primary" disabled={add.busy}>
            {t('points.addSubmit')}
          </button>
        </div>
        <ErrorText error={add.error} />
      </form>
    </details>
  );
}

function Todos({ session: s, manage, reload }: { session: ExportSession; manage: boolean; reload: () => void }) {
  const todos = s.todos.filter((todo) => !todo.isDeleted);
  return (
    <section class="panel" aria-labelledby="todos">
      <h2 id="todos">
        {t('todos.title')} <span class="count">({todos.length})</span>
      </h2>
      {todos.length === 0 ? (
        <p class="muted">{t('todos.none')}</p>
      ) : (
        <ul class="cards">
          {todos.map((todo) => (
            <TodoItem key={todo._id} todo={todo} manage={manage} reload={reload} />
          ))}
        </ul>
      )}
      {manage ? <AddTodo sessionId={s._id} reload={reload} /> : null}
    </section>
  );
}

function TodoItem({ todo, manage, reload }: { todo: Todo; manage: boolean; reload: () => void }) {
  const change = useAction();
  const path = `/api/v1/coaching/todos/${encodeURIComponent(todo._id)}`;
  const done = todo.status === 'complete';
  return (
    <li class="card-item">
      <div class="card-head">
        <span class={`badge ${done ? 'badge-confirmed' : 'badge-shared'}`}>{done ? t('todo.complete') : t('todo.open')}</span>
        <strong>{todo.title}</strong>
      </div>
      {todo.description ? <p>{todo.description}</p> : null}
      <dl class="details compact">
        {todo.link ? (
          <>
            <dt>{t('todo.link')}</dt>
            <dd>
              <TodoLink link={todo.link} />
            </dd>
          </>
        ) : null}
        <dt>{t('todo.creator')}</dt>
        <dd>{todo.creatorName}</dd>
        {done ? (
          <>
            <dt>{t('todo.completedAt')}</dt>
            <dd>{formatDateTime(todo.completedAt)}</dd>
          </>
        ) : null}
      </dl>
      {manage ? (
        <div class="action">
          <button
            type="button"
            class="secondary small"
            disabled={change.busy}
            onClick={() =>
              change.run(async () => {
                await api.patch(path, { status: done ? 'incomplete' : 'complete' });
                reload();
              })
            }
          >
            {done ? t('todo.reopen', { title: todo.title }) : t('todo.markComplete', { title: todo.title })}
          </button>{' '}
          <button
            type="button"
            class="danger-outline small"
            disabled={change.busy}
            onClick={() =>
              change.run(async () => {
                await api.del(path);
                reload();
              })
            }
          >
            {t('todo.remove', { title: todo.title })}
          </button>
          <ErrorText error={change.error} />
        </div>
      ) : null}
    </li>
  );
}

/** Only an http(s) link is clickable; anything else (older data) is shown as text, never followed. */
function TodoLink({ link }: { link: string }) {
  if (!isWebLink(link)) return <span>{link}</span>;
  return (
    <a href={link} rel="noopener noreferrer" target="_blank">
      {link}
    </a>
  );
}

function AddTodo({ sessionId, reload }: { sessionId: string; reload: () => void }) {
  const empty = { title: '', description: '', link: '' };
  const [form, setForm] = useState(empty);
  const add = useAction();
  return (
    <details class="add-form">
      <summary>{t('todos.add')}</summary>
      <form
        class="stack"
        onSubmit={(e) => {
          e.preventDefault();
          void add.run(async () => {
            await api.post('/api/v1/coaching/todos', {
              coachingFormIds: [sessionId],
              title: form.title,
              ...(form.description ? { description: form.description } : {}),
              ...(form.link ? { link: form.link } : {}),
            });
            setForm(empty);
            reload();
          });
        }}
      >
        <Field label={t('todo.title')}>
          {(p) => <input {...p} required value={form.title} onInput={(e) => setForm({ ...form, title: e.currentTarget.value })} />}
        </Field>
        <Field label={t('todo.description')}>
          {(p) => (
            <textarea {...p} rows={2} value={form.description} onInput={(e) => setForm({ ...form, description: e.currentTarget.value })} />
          )}
        </Field>
        <Field label={t('todo.link')}>
          {(p) => <input {...p} type="url" value={form.link} onInput={(e) => setForm({ ...form, link: e.currentTarget.value })} />}
        </Field>
        <div class="form-actions">
          <button type="submit" class="primary" disabled={add.busy}>
            {t('todos.addSubmit')}
          </button>
        </div>
        <ErrorText error={add.error} />
      </form>
    </details>
  );
}

function Timeline({ session: s }: { session: ExportSession }) {
  return (
    <section class="panel" aria-labelledby="activity">
      <h2 id="activity">{t('activity.title')}</h2>
      <ol class="timeline">
        {s.activityLog.map((entry, i) => (
          <li key={i}>
            <time dateTime={entry.timestamp}>{formatDateTime(entry.timestamp)}</time>
            <div>
              <span class="action-type">{entry.actionType}</span> · <span class="actor">{entry.userEmail ?? entry.userId}</span>
              {entry.descriptions.length > 0 ? (
                <ul class="descriptions">
                  {entry.descriptions.map((d, j) => (
                    <li key={j}>{d}</li>
                  ))}
                </ul>
              ) : null}
            </div>
          </li>
        ))}
      </ol>
    </section>
  );
}

export function goToSession(id: string): void {
  navigate(`/sessions/${encodeURIComponent(id)}`);
}
