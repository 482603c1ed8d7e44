import { useState } from 'preact/hooks';
import { api, query } from '../api';
import { formatDateTime, t } from '../i18n';
import { AUDIT_ACTIONS } from '../../../src/audit/actions.js';
import type { AuditLogPage } from '../types';
import { Field, LoadState, PageTitle, useLoad, TableWrap } from '../ui';

/** An entry's details as `key: value` pairs, the way a person reads them. */
function describeDetails(details: unknown): string {
  if (details === null || details === undefined) return '—';
  if (typeof details !== 'object') return String(details);
  const pairs = Object.entries(details as Record<string, unknown>).map(
    ([k, v]) => `${k}: ${typeof v === 'object' && v !== null ? JSON.stringify(v) : String(v)}`,
  );
  return pairs.length ? pairs.join(', ') : '—';
}

export function AuditPage() {
  const [draft, setDraft] = useState({ from: '', to: '', action: '' });
  const [filters, setFilters] = useState(draft);
  // Cursors of the pages before this one; the first page has none.
  const [trail, setTrail] = useState<string[]>([]);
  const cursor = trail[trail.length - 1] ?? '';
  const page = useLoad(
    (signal) => api.get<AuditLogPage>(`/api/v1/audit-log${query({ ...filters, cursor })}`, { signal }),
    [filters, cursor],
  );
  return (
    <section>
      <PageTitle title={t('audit.title')}>{t('audit.title')}</PageTitle>
      <form
        class="filters"
        role="search"
        aria-label={t('audit.filters')}
        onSubmit={(e) => {
          e.preventDefault();
          setTrail([]);
          setFilters(draft);
        }}
      >
        <Field label={t('sessions.from')}>
          {(p) => <input {...p} type="date" value={draft.from} onInput={(e) => setDraft({ ...draft, from: e.currentTarget.value })} />}
        </Field>
        <Field label={t('sessions.to')}>
          {(p) => <input {...p} type="date" value={draft.to} onInput={(e) => setDraft({ ...draft, to: e.currentTarget.value })} />}
        </Field>
        <Field label={t('audit.action')}>
          {(p) => (
            <select {...p} value={draft.action} onChange={(e) => setDraft({ ...draft, action: e.currentTarget.value })}>
              <option value="">{t('audit.anyAction')}</option>
              {AUDIT_ACTIONS.map((a) => (
                <option value={a} key={a}>
                  {a}
                </option>
              ))}
            </select>
          )}
        </Field>
        <div class="filter-actions">
          <button type="submit" class="primary">
            {t('sessions.apply')}
          </button>
        </div>
      </form>
      <LoadState loaded={page}>
        {() => (
          <>
            {page.data!.entries.length === 0 ? (
              <p class="empty-state">{t('audit.none')}</p>
            ) : (
              <TableWrap label={t('audit.title')}>
                <table class="audit">
                  <caption class="visually-hidden">{t('audit.title')}</caption>
                  <thead>
                    <tr>
                      <th scope="col">{t('audit.time')}</th>
                      <th scope="col">{t('audit.action')}</th>
                      <th scope="col">{t('audit.actor')}</th>
                      <th scope="col">{t('audit.target')}</th>
                      <th scope="col">{t('audit.ip')}</th>
                      <th scope="col">{t('audit.details')}</th>
                    </tr>
                  </thead>
                  <tbody>
                    {page.data!.entries.map((entry) => (
                      <tr key={entry.id}>
                        <td class="nowrap">{formatDateTime(entry.timestamp)}</td>
                        <td class="nowrap">
                          <code>{entry.action}</code>
                        </td>
                        <td>{entry.actorEmail ?? entry.actorUserId ?? '—'}</td>
                        <td>{entry.target ?? '—'}</td>
                        <td>{entry.ipAddress ?? '—'}</td>
                        <td class="details-cell">{describeDetails(entry.details)}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </TableWrap>
            )}
            <nav class="pager" aria-label={t('pager.label')}>
              <button type="button" class="secondary" disabled={trail.length === 0} onClick={() => setTrail(trail.slice(0, -1))}>
                {t('pager.previous')}
              </button>
              <button
                type="button"
                class="secondary"
                disabled={!page.data!.hasMore || !page.data!.cursor}
                onClick={() => setTrail([...trail, page.data!.cursor!])}
              >
                {t('pager.next')}
              </button>
            </nav>
          </>
        )}
      </LoadState>
    </section>
  );
}
