import { useState } from 'preact/hooks';
import { api } from '../api';
import { directory } from '../directory';
import { t } from '../i18n';
import { useMe } from '../session-context';
import type { DirectoryEntry, ExportSession, Template } from '../types';
import { ErrorText, Field, LoadState, PageTitle, useAction, useLoad } from '../ui';
import { MEETING_FORMATS, fromLocalInput, goToSession } from './session';

export function NewSessionPage() {
  const me = useMe();
  const loaded = useLoad(async () => {
    const [templates, people] = await Promise.all([api.get<Template[]>('/api/v1/coaching-templates'), directory()]);
    return { templates, people };
  }, []);
  return (
    <section>
      <p>
        <a href="/sessions">← {t('session.back')}</a>
      </p>
      <PageTitle title={t('newSession.title')}>{t('newSession.title')}</PageTitle>
      <LoadState loaded={loaded}>{() => <NewSessionForm me={me.user.id} admin={me.user.role === 'admin'} {...loaded.data!} />}</LoadState>
    </section>
  );
}

function NewSessionForm({ me, admin, templates, people }: { me: string; admin: boolean; templates: Template[]; people: DirectoryEntry[] }) {
  const agents = people.filter((p) => p.role === 'agent');
  const coaches = people.filter((p) => p.role !== 'agent');
  const [form, setForm] = useState({
    coachingTemplateId: templates[0]?.id ?? '',
    coachingFormName: templates[0]?.name ?? '',
    agentId: agents[0]?.id ?? '',
    coachId: me,
    meetingFormat: 'live',
    meetingDate: '',
    coachNotes: '',
  });
  const create = useAction();
  const pickTemplate = (id: string) => {
    const previous = templates.find((tpl) => tpl.id === form.coachingTemplateId);
    const next = templates.find((tpl) => tpl.id === id);
    // The name follows the template until the person types their own.
    const name = !form.coachingFormName || form.coachingFormName === previous?.name ? (next?.name ?? '') : form.coachingFormName;
    setForm({ ...form, coachingTemplateId: id, coachingFormName: name });
  };
  return (
    <form
      class="card stack"
      onSubmit={(e) => {
        e.preventDefault();
        void create.run(async () => {
          const created = await api.post<ExportSession>('/api/v1/coaching/sessions', {
            coachingFormName: form.coachingFormName,
            agentId: form.agentId,
            ...(admin && form.coachId ? { coachId: form.coachId } : {}),
            coachingTemplateId: form.coachingTemplateId || null,
            meetingFormat: form.meetingFormat || null,
            meetingDate: fromLocalInput(form.meetingDate),
            ...(form.coachNotes ? { coachNotes: form.coachNotes } : {}),
          });
          goToSession(created._id);
        });
      }}
    >
      <Field label={t('session.template')}>
        {(p) => (
          <select {...p} value={form.coachingTemplateId} onChange={(e) => pickTemplate(e.currentTarget.value)}>
            <option value="">{t('newSession.noTemplate')}</option>
            {templates.map((tpl) => (
              <option value={tpl.id} key={tpl.id}>
                {tpl.name}
              </option>
            ))}
          </select>
        )}
      </Field>
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
        <Field label={t('session.agent')}>
          {(p) => (
            <select {...p} required value={form.agentId} onChange={(e) => setForm({ ...form, agentId: e.currentTarget.value })}>
              <option value="">{t('newSession.pickAgent')}</option>
              {agents.map((a) => (
                <option value={a.id} key={a.id}>
                  {a.name}
                </option>
              ))}
            </select>
          )}
        </Field>
        {admin ? (
          <Field label={t('session.coach')}>
            {(p) => (
              <select {...p} value={form.coachId} onChange={(e) => setForm({ ...form, coachId: e.currentTarget.value })}>
                {coaches.map((c) => (
                  <option value={c.id} key={c.id}>
                    {c.name}
                  </option>
                ))}
              </select>
            )}
          </Field>
        ) : null}
      </div>
      <div class="row">
        <Field label={t('session.meetingFormat')}>
          {(p) => (
            <select {...p} value={form.meetingFormat} onChange={(e) => setForm({ ...form, meetingFormat: e.currentTarget.value })}>
              <option value="">—</option>
              {MEETING_FORMATS.map((f) => (
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
        <button type="submit" class="primary" disabled={create.busy}>
          {t('newSession.submit')}
        </button>
      </div>
      <ErrorText error={create.error} />
    </form>
  );
}
