import { useState } from 'preact/hooks';
import { call } from '../api';
import { t } from '../i18n';
import { ErrorText, Field, PageTitle, useAction } from '../ui';

interface ImportCounts {
  sessions: number;
  coachingPoints: number;
  todos: number;
  users: number;
  templates: number;
}

export function ImportPage() {
  const [file, setFile] = useState<File | null>(null);
  const [counts, setCounts] = useState<ImportCounts | null>(null);
  // The server's note when the import committed but a name it changed reached not every document.
  const [warning, setWarning] = useState<string | null>(null);
  const action = useAction();
  return (
    <section>
      <PageTitle title={t('import.title')}>{t('import.title')}</PageTitle>
      <p class="muted">{t('import.intro')}</p>
      <form
        class="card stack"
        onSubmit={(e) => {
          e.preventDefault();
          setCounts(null);
          setWarning(null);
          void action.run(async () => {
            if (!file) throw new Error(t('import.pickFile'));
            const answer = await call<{ imported: ImportCounts; warning?: string }>('POST', '/api/v1/coaching-sessions/import', {
              rawJson: await file.text(),
            });
            setCounts(answer.imported);
            setWarning(answer.warning ?? null);
          });
        }}
      >
        <Field label={t('import.file')}>
          {(p) => (
            <input {...p} type="file" accept="application/json,.json" onChange={(e) => setFile(e.currentTarget.files?.[0] ?? null)} />
          )}
        </Field>
        <div class="form-actions">
          <button type="submit" class="primary" disabled={action.busy}>
            {t('import.submit')}
          </button>
        </div>
        <ErrorText error={action.error} />
      </form>
      {counts ? (
        <section class="panel" role="status" aria-labelledby="import-result">
          <h2 id="import-result">{t('import.done')}</h2>
          <dl class="details">
            <dt>{t('import.sessions')}</dt>
            <dd>{counts.sessions}</dd>
            <dt>{t('import.points')}</dt>
            <dd>{counts.coachingPoints}</dd>
            <dt>{t('import.todos')}</dt>
            <dd>{counts.todos}</dd>
            <dt>{t('import.users')}</dt>
            <dd>{counts.users}</dd>
            <dt>{t('import.templates')}</dt>
            <dd>{counts.templates}</dd>
          </dl>
          {warning ? <p class="notice">{warning}</p> : null}
        </section>
      ) : null}
    </section>
  );
}
