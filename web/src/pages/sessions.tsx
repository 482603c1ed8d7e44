import { useState } from 'preact/hooks';
import { api, query } from '../api';
import { directory } from '../directory';
import { formatDate, formatDateTime, t } from '../i18n';
import { navigate, useLocation } from '../router';
import { useMe } from '../session-context';
import { SESSION_STATES, stateOf } from '../../../src/coaching/session-list.js';
import type { DirectoryEntry, ExportSession, SessionList, SessionSummary } from '../types';
import { ErrorText, Field, LoadState, PageTitle, StateBadge, stateLabel, useLoad, TableWrap } from '../ui';

const FILTERS = ['state', 'agentId', 'coachId', 'from', 'to'] as const;

export function SessionsPage() {
  const me = useMe();
  const { search } = useLocation();
  const filters = Object.fromEntries(FILTERS.map((f) => [f, search.get(f) ?? ''])) as Record<(typeof FILTERS)[number], string>;
  const cursor = search.get('cursor') ?? '';
  const [draft, setDraft] = useState(filters);
  // The cursors that led to this page, so "Previous" can go back without the server keeping state.
  const trail = search.getAll('back');
  const people = useLoad<DirectoryEntry[]>(() => (me.user.role === 'agent' ? Promise.resolve([]) : directory()), []);
  const list = useLoad(
    (signal) => api.get<SessionList>(`/api/v1/coaching/sessions${query({ ...filters, cursor, limit: 25 })}`, { signal }),
    [search.toString()],
  );

  const go = (params: Record<string, string>, back: string[]) => {
    const next = new URLSearchParams();
    for (const [k, v] of Object.entries(params)) if (v) next.set(k, v);
    for (const b of back) next.append('back', b);
    // Applying the same filters again asks the server again (someone else may have changed something).
    if (next.toString() === search.toString()) list.reload();
    else navigate(`/sessions${next.size ? `?${next}` : ''}`);
  };
  const agents = (people.data ?? []).filter((p) => p.role === 'agent');
  const coaches = (people.data ?? []).filter((p) => p.role !== 'agent');
  const title = me.user.role === 'agent' ? t('sessions.titleAgent') : t('sessions.title');

  return (
    <section aria-busy={list.loading}>
      <div class="page-head">
        <PageTitle title={title}>{title}</PageTitle>
        {me.user.role !== 'agent' ? (
          <a class="button primary" href="/sessions/new">
            {t('sessions.new')}
          </a>
        ) : null}
      </div>
      <form
        class="filters"
        role="search"
        aria-label={t('sessions.filters')}
        onSubmit={(e) => {
          e.preventDefault();
          go(draft, []);
        }}
      >
        <Field label={t('sessions.state')}>
          {(p) => (
            <select {...p} value={draft.state} onChange={(e) => setDraft({ ...draft, state: e.currentTarget.value })}>
              <option value="">{t('sessions.stateAny')}</option>
              {SESSION_STATES.map((s) => (
                <option value={s} key={s}>
                  {stateLabel(s)}
                </option>
              ))}
            </select>
          )}
        </Field>
        {me.user.role !== 'agent' ? (
          <PersonFilter
            label={t('sessions.agent')}
            people={agents}
            value={draft.agentId}
            onChange={(agentId) => setDraft({ ...draft, agentId })}
          />
        ) : null}
        {me.user.role === 'admin' ? (
          <PersonFilter
            label={t('sessions.coach')}
            people={coaches}
            value={draft.coachId}
            onChange={(coachId) => setDraft({ ...draft, coachId })}
          />
        ) : null}
        <Field label={t('sessions.from')}>
          {(p) => <input {...p} type="date" value={draft.from} onInput={(e) => setDraft({ ...draft, from: e.currentTarget.value })} />}
        </Field>
        <Field label={t('sessions.to')}>
          {(p) => <input {...p} type="date" value={draft.to} onInput={(e) => setDraft({ ...draft, to: e.currentTarget.value })} />}
        </Field>
        <div class="filter-actions">
          <button type="submit" class="primary">
            {t('sessions.apply')}
          </button>
          <button
            type="button"
            class="secondary"
            onClick={() => {
              const empty = { state: '', agentId: '', coachId: '', from: '', to: '' };
              setDraft(empty);
              go(empty, []);
            }}
          >
            {t('sessions.clear')}
          </button>
        </div>
      </form>
      <ErrorText error={people.error} />
      <LoadState loaded={list}>
        {() => {
          const answer = list.data!;
          return (
            <>
              {answer.sessions.length === 0 ? (
                <p class="empty-state">{t('sessions.none')}</p>
              ) : (
                <TableWrap label={title}>
                  <table>
                    <caption class="visually-hidden">{title}</caption>
                    <thead>
                      <tr>
                        <th scope="col">{t('session.name')}</th>
                        <th scope="col">{t('session.state')}</th>
                        <th scope="col">{t('session.coach')}</th>
                        <th scope="col">{t('session.agent')}</th>
                        <th scope="col">{t('session.template')}</th>
                        <th scope="col">{t('session.meetingDate')}</th>
                        <th scope="col">{t('session.createdAt')}</th>
                      </tr>
                    </thead>
                    <tbody>
                      {answer.sessions.map((s) => (
                        <tr key={s._id}>
                          <td>
                            <a href={`/sessions/${encodeURIComponent(s._id)}`}>{s.coachingFormName}</a>
                          </td>
                          <td>
                            <StateBadge state={stateOf(s)} />
                          </td>
                          <td>{s.coachName}</td>
                          <td>{s.agentName}</td>
                          <td>{s.coachingTemplateName ?? '—'}</td>
                          <td>{formatDate(s.meetingDate)}</td>
                          <td>{formatDateTime(s.createdAt)}</td>
                        </tr>
                      ))}
                    </tbody>
                  </table>
                </TableWrap>
              )}
              <nav class="pager" aria-label={t('pager.label')}>
                <button
                  type="button"
                  class="secondary"
                  disabled={trail.length === 0 && !cursor}
                  onClick={() => {
                    const back = trail.slice(0, -1);
                    go({ ...filters, cursor: trail[trail.length - 1] ?? '' }, back);
                  }}
                >
                  {t('pager.previous')}
                </button>
                <button
                  type="button"
                  class="secondary"
                  disabled={!answer.hasMore || !answer.cursor}
                  onClick={() => go({ ...filters, cursor: answer.cursor ?? '' }, [...trail, cursor])}
                >
                  {t('pager.next')}
                </button>
              </nav>
              {me.user.role === 'agent' ? <AgentTodos sessions={answer.sessions} /> : null}
            </>
          );
        }}
      </LoadState>
    </section>
  );
}

function PersonFilter({
  label,
  people,
  value,
  onChange,
}: {
  label: string;
  people: DirectoryEntry[];
  value: string;
  onChange: (id: string) => void;
}) {
  return (
    <Field label={label}>
      {(p) => (
        <select {...p} value={value} onChange={(e) => onChange(e.currentTarget.value)}>
          <option value="">{t('sessions.anyone')}</option>
          {people.map((person) => (
            <option value={person.id} key={person.id}>
              {person.name}
            </option>
          ))}
        </select>
      )}
    </Field>
  );
}

/** An agent's to-dos from the sessions on this page (there is no to-do list endpoint; see docs/api-and-console.md). */
function AgentTodos({ sessions }: { sessions: SessionSummary[] }) {
  const ids = sessions.filter((s) => !s.isDeleted).map((s) => s._id);
  const docs = useLoad(
    (signal) => Promise.all(ids.map((id) => api.get<ExportSession>(`/api/v1/coaching/sessions/${encodeURIComponent(id)}`, { signal }))),
    [ids.join(',')],
  );
  return (
    <section class="panel" aria-labelledby="my-todos">
      <h2 id="my-todos">{t('todos.mine')}</h2>
      <LoadState loaded={docs}>
        {() => {
          const seen = new Set<string>();
          const todos = docs.data!.flatMap((d) =>
            d.todos.filter((todo) => !todo.isDeleted && !seen.has(todo._id) && seen.add(todo._id)).map((todo) => ({ todo, session: d })),
          );
          if (todos.length === 0) return <p class="muted">{t('todos.none')}</p>;
          return (
            <ul class="todo-list">
              {todos.map(({ todo, session }) => (
                <li key={todo._id}>
                  <span class={`badge ${todo.status === 'complete' ? 'badge-confirmed' : 'badge-shared'}`}>
                    {todo.status === 'complete' ? t('todo.complete') : t('todo.open')}
                  </span>{' '}
                  <strong>{todo.title}</strong> — <a href={`/sessions/${encodeURIComponent(session._id)}`}>{session.coachingFormName}</a>
                </li>
              ))}
            </ul>
          );
        }}
      </LoadState>
    </section>
  );
}
