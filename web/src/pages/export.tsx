import { useRef, useState } from 'preact/hooks';
import { csvTables, runExport, type Progress } from '../export-run';
import { t } from '../i18n';
import type { ExportSession, TimeAxis } from '../types';
import { ErrorText, Field, PageTitle, downloadText, messageOf } from '../ui';
import { WindowFields } from '../window-fields';

const today = () => new Date().toISOString().slice(0, 10);
const daysAgo = (n: number) => new Date(Date.now() - n * 86_400_000).toISOString().slice(0, 10);

export function ExportPage() {
  const [form, setForm] = useState({
    from: daysAgo(89),
    to: today(),
    timeAxis: 'meetingDate' as TimeAxis,
    format: 'json' as 'json' | 'csv',
  });
  const [progress, setProgress] = useState<Progress | null>(null);
  const [result, setResult] = useState<{ sessions: ExportSession[]; format: 'json' | 'csv'; name: string } | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [running, setRunning] = useState(false);
  const controller = useRef<AbortController | null>(null);

  const start = async (event: Event) => {
    event.preventDefault();
    setError(null);
    setResult(null);
    setRunning(true);
    controller.current = new AbortController();
    try {
      const sessions = await runExport(form.from, form.to, form.timeAxis, setProgress, controller.current.signal);
      const result = { sessions, format: form.format, name: `coaching-sessions-${form.from}-${form.to}` };
      setResult(result);
      if (form.format === 'json') downloadText(`${result.name}.json`, JSON.stringify(sessions), 'application/json');
    } catch (caught) {
      setError(controller.current.signal.aborted ? t('export.cancelled') : messageOf(caught));
    } finally {
      setRunning(false);
    }
  };

  const tables = result?.format === 'csv' ? csvTables(result.sessions) : null;
  return (
    <section>
      <PageTitle title={t('export.title')}>{t('export.title')}</PageTitle>
      <p class="muted">{t('export.intro')}</p>
      <form class="card stack" onSubmit={start}>
        <div class="row">
          <WindowFields value={form} onChange={setForm} />
          <Field label={t('export.format')}>
            {(p) => (
              <select {...p} value={form.format} onChange={(e) => setForm({ ...form, format: e.currentTarget.value as 'json' | 'csv' })}>
                <option value="json">JSON</option>
                <option value="csv">CSV</option>
              </select>
            )}
          </Field>
        </div>
        <div class="form-actions">
          <button type="submit" class="primary" disabled={running}>
            {t('export.start')}
          </button>
          {running ? (
            <button type="button" class="secondary" onClick={() => controller.current?.abort()}>
              {t('common.cancel')}
            </button>
          ) : null}
        </div>
        <p role="status" aria-live="polite" class="progress">
          {progress ? t('export.progress', { window: progress.window, windows: progress.windows, sessions: progress.sessions }) : ''}
          {progress?.waitingSeconds ? ` ${t('export.waiting', { seconds: progress.waitingSeconds })}` : ''}
        </p>
        <ErrorText error={error} />
      </form>
      {result ? (
        <section class="panel" aria-labelledby="export-done">
          <h2 id="export-done">{t('export.done', { sessions: result.sessions.length })}</h2>
          {result.format === 'json' ? (
            <button
              type="button"
              class="primary"
              onClick={() => downloadText(`${result.name}.json`, JSON.stringify(result.sessions), 'application/json')}
            >
              {t('export.downloadJson')}
            </button>
          ) : (
            <ul class="downloads">
              {Object.entries(tables!).map(([table, text]) => (
                <li key={table}>
                  <button type="button" class="secondary" onClick={() => downloadText(`${result.name}-${table}.csv`, text, 'text/csv')}>
                    {t('export.downloadCsv', { table })}
                  </button>
                </li>
              ))}
            </ul>
          )}
        </section>
      ) : null}
    </section>
  );
}
