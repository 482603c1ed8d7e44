import { useState } from 'preact/hooks';
import { api } from '../api';
import { formatDateTime, t } from '../i18n';
import type { Template } from '../types';
import { ErrorText, Field, LoadState, PageTitle, useAction, useLoad, TableWrap } from '../ui';

export function TemplatesPage() {
  const templates = useLoad((signal) => api.get<Template[]>('/api/v1/coaching-templates', { signal }), []);
  const [name, setName] = useState('');
  const create = useAction();
  return (
    <section>
      <PageTitle title={t('templates.title')}>{t('templates.title')}</PageTitle>
      <form
        class="card stack"
        aria-labelledby="new-template"
        onSubmit={(e) => {
          e.preventDefault();
          void create.run(async () => {
            await api.post('/api/v1/coaching-templates', { name });
            setName('');
            templates.reload();
          });
        }}
      >
        <h2 id="new-template">{t('templates.create')}</h2>
        <Field label={t('templates.name')}>
          {(p) => <input {...p} required value={name} onInput={(e) => setName(e.currentTarget.value)} />}
        </Field>
        <div class="form-actions">
          <button type="submit" class="primary" disabled={create.busy}>
            {t('templates.createSubmit')}
          </button>
        </div>
        <ErrorText error={create.error} />
      </form>
      <LoadState loaded={templates}>
        {() =>
          templates.data!.length === 0 ? (
            <p class="empty-state">{t('templates.none')}</p>
          ) : (
            <TableWrap label={t('templates.title')}>
              <table>
                <caption class="visually-hidden">{t('templates.title')}</caption>
                <thead>
                  <tr>
                    <th scope="col">{t('templates.name')}</th>
                    <th scope="col">{t('tokens.createdAt')}</th>
                    <th scope="col">{t('users.actions')}</th>
                  </tr>
                </thead>
                <tbody>
                  {templates.data!.map((tpl) => (
                    <TemplateRow key={tpl.id} template={tpl} reload={templates.reload} />
                  ))}
                </tbody>
              </table>
            </TableWrap>
          )
        }
      </LoadState>
    </section>
  );
}

function TemplateRow({ template, reload }: { template: Template; reload: () => void }) {
  const [editing, setEditing] = useState(false);
  const [name, setName] = useState(template.name);
  const rename = useAction();
  return (
    <tr>
      <th scope="row">
        {editing ? (
          <form
            class="inline-form"
            onSubmit={(e) => {
              e.preventDefault();
              void rename.run(async () => {
                await api.patch(`/api/v1/coaching-templates/${encodeURIComponent(template.id)}`, { name });
                setEditing(false);
                reload();
              });
            }}
          >
            <label class="visually-hidden" for={`tpl-${template.id}`}>
              {t('templates.newName', { name: template.name })}
            </label>
            <input id={`tpl-${template.id}`} required value={name} onInput={(e) => setName(e.currentTarget.value)} />
            <button type="submit" class="primary small" disabled={rename.busy}>
              {t('common.save')}
            </button>
            <button
              type="button"
              class="secondary small"
              onClick={() => {
                setEditing(false);
                setName(template.name);
                rename.clear();
              }}
            >
              {t('common.cancel')}
            </button>
          </form>
        ) : (
          template.name
        )}
        <ErrorText error={rename.error} />
      </th>
      <td>{formatDateTime(template.createdAt)}</td>
      <td>
        {editing ? null : (
          <button type="button" class="secondary small" onClick={() => setEditing(true)}>
            {t('templates.rename', { name: template.name })}
          </button>
        )}
      </td>
    </tr>
  );
}
