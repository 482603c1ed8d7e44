import { useMemo, useState } from 'preact/hooks';
import { api, query } from '../api';
import { csvRow } from '../../../src/client/writers/csv-text.js';
import { LineChart, SERIES_STYLES, type ChartSeries } from '../charts';
import { formatNumber, t, type MessageKey } from '../i18n';
import { useMe } from '../session-context';
import type { Metrics, Stats, StatsRow, TimeAxis } from '../types';
import { Field, LoadState, PageTitle, downloadText, useLoad, TableWrap } from '../ui';
import { WindowFields } from '../window-fields';

type Interval = 'week' | 'month';

/** The table's columns, in order: what the CSV download writes too. */
const COLUMNS: Array<{ key: keyof Metrics; label: MessageKey; format?: (m: Metrics) => string }> = [
  { key: 'sessions', label: 'metric.sessions' },
  { key: 'shared', label: 'metric.shared' },
  { key: 'agentConfirmed', label: 'metric.agentConfirmed' },
  { key: 'bothConfirmed', label: 'metric.bothConfirmed' },
  {
    key: 'acknowledgementRate',
    label: 'metric.acknowledgementRate',
    format: (m) => (m.acknowledgementRate === null ? '—' : `${formatNumber(m.acknowledgementRate * 100, 1)}%`),
  },
  { key: 'medianHoursToAcknowledge', label: 'metric.medianHoursToAcknowledge', format: (m) => formatNumber(m.medianHoursToAcknowledge, 1) },
  { key: 'coachingPoints', label: 'metric.coachingPoints' },
  { key: 'strengths', label: 'metric.strengths' },
  { key: 'opportunities', label: 'metric.opportunities' },
  { key: 'todos', label: 'metric.todos' },
  { key: 'todosCompleted', label: 'metric.todosCompleted' },
];

const day = (offset: number) => new Date(Date.now() + offset * 86_400_000).toISOString().slice(0, 10);

/** The first instant of a period key (`YYYY-MM-DD` Monday, or `YYYY-MM`), in seconds. */
function periodStart(key: string): number {
  return Date.parse(key.length === 7 ? `${key}-01T00:00:00Z` : `${key}T00:00:00Z`) / 1000;
}

const stats = (params: Record<string, string>, signal: AbortSignal) => api.get<Stats>(`/api/v1/coaching/stats${query(params)}`, { signal });

export function DashboardPage() {
  const me = useMe();
  const [draft, setDraft] = useState({ from: day(-181), to: day(0), timeAxis: 'meetingDate' as TimeAxis, interval: 'week' as Interval });
  const [applied, setApplied] = useState(draft);
  const loaded = useLoad(
    async (signal) => {
      const base = { from: applied.from, to: applied.to, timeAxis: applied.timeAxis };
      const [time, coach, agent] = await Promise.all([
        stats({ ...base, groupBy: applied.interval }, signal),
        stats({ ...base, groupBy: 'coach' }, signal),
        stats({ ...base, groupBy: 'agent' }, signal),
      ]);
      return { time, coach, agent };
    },
    [applied],
  );
  const title = me.user.role === 'admin' ? t('dashboard.title') : t('dashboard.titleCoach');
  return (
    <section aria-busy={loaded.loading}>
      <PageTitle title={title}>{title}</PageTitle>
      <form
        class="filters"
        aria-label={t('dashboard.controls')}
        onSubmit={(e) => {
          e.preventDefault();
          setApplied(draft);
        }}
      >
        <WindowFields value={draft} onChange={setDraft} />
        <Field label={t('dashboard.interval')}>
          {(p) => (
            <select {...p} value={draft.interval} onChange={(e) => setDraft({ ...draft, interval: e.currentTarget.value as Interval })}>
              <option value="week">{t('dashboard.week')}</option>
              <option value="month">{t('dashboard.month')}</option>
            </select>
          )}
        </Field>
        <div class="filter-actions">
          <button type="submit" class="primary">
            {t('dashboard.show')}
          </button>
        </div>
      </form>
      <LoadState loaded={loaded}>{() => <DashboardBody {...loaded.data!} />}</LoadState>
    </section>
  );
}

function DashboardBody({ time, coach, agent }: { time: Stats; coach: Stats; agent: Stats }) {
  const totals = time.totals;
  return (
    <>
      <ul class="kpis" aria-label={t('dashboard.totals')}>
        <li>
          <span class="kpi-value">{formatNumber(totals.sessions, 0)}</span>
          <span class="kpi-label">{t('metric.sessions')}</span>
        </li>
        <li>
          <span class="kpi-value">
            {totals.acknowledgementRate === null ? '—' : `${formatNumber(totals.acknowledgementRate * 100, 1)}%`}
          </span>
          <span class="kpi-label">{t('metric.acknowledgementRate')}</span>
        </li>
        <li>
          <span class="kpi-value">{formatNumber(totals.medianHoursToAcknowledge, 1)}</span>
          <span class="kpi-label">{t('metric.medianHoursToAcknowledge')}</span>
        </li>
        <li>
          <span class="kpi-value">
            {formatNumber(totals.strengths, 0)} / {formatNumber(totals.opportunities, 0)}
          </span>
          <span class="kpi-label">{t('dashboard.strengthsOpportunities')}</span>
        </li>
        <li>
          <span class="kpi-value">
            {formatNumber(totals.todosCompleted, 0)} / {formatNumber(totals.todos, 0)}
          </span>
          <span class="kpi-label">{t('dashboard.todosDone')}</span>
        </li>
      </ul>
      <OverTime stats={time} />
      <MetricsTable id="by-coach" title={t('dashboard.byCoach')} who={t('session.coach')} stats={coach} />
      <MetricsTable id="by-agent" title={t('dashboard.byAgent')} who={t('session.agent')} stats={agent} />
    </>
  );
}

function OverTime({ stats }: { stats: Stats }) {
  const rows = stats.rows.filter((r) => r.key !== null);
  const x = useMemo(() => rows.map((r) => periodStart(r.key!)), [stats]);
  const charts = useMemo(() => {
    const line = (label: MessageKey, pick: (r: StatsRow) => number | null, i: number): ChartSeries => ({
      label: t(label),
      values: rows.map(pick),
      style: SERIES_STYLES[i]!,
    });
    return {
      flow: [
        line('metric.sessions', (r) => r.sessions, 0),
        line('metric.shared', (r) => r.shared, 1),
        line('metric.agentConfirmed', (r) => r.agentConfirmed, 2),
        line('metric.bothConfirmed', (r) => r.bothConfirmed, 3),
      ],
      rate: [line('metric.acknowledgementRate', (r) => r.acknowledgementRate, 0)],
      content: [
        line('metric.strengths', (r) => r.strengths, 0),
        line('metric.opportunities', (r) => r.opportunities, 1),
        line('metric.todos', (r) => r.todos, 2),
        line('metric.todosCompleted', (r) => r.todosCompleted, 3),
      ],
    };
  }, [stats]);
  if (rows.length === 0) return <p class="empty-state">{t('dashboard.noData')}</p>;
  const span = `${rows[0]!.label} – ${rows[rows.length - 1]!.label}`;
  const describe = (series: ChartSeries[]) =>
    t('dashboard.chartSummary', {
      span,
      periods: rows.length,
      series: series.map((s) => `${s.label} ${formatNumber(s.values.reduce<number>((a, v) => a + (v ?? 0), 0))}`).join(', '),
    });
  return (
    <section class="panel" aria-labelledby="over-time">
      <h2 id="over-time">{t('dashboard.overTime')}</h2>
      <div class="charts">
        <figure>
          <figcaption>{t('dashboard.chartFlow')}</figcaption>
          <LineChart x={x} series={charts.flow} yLabel={t('metric.sessions')} description={describe(charts.flow)} />
        </figure>
        <figure>
          <figcaption>{t('dashboard.chartRate')}</figcaption>
          <LineChart
            x={x}
            series={charts.rate}
            yLabel={t('metric.acknowledgementRate')}
            percent
            description={t('dashboard.rateSummary', {
              span,
              rate: stats.totals.acknowledgementRate === null ? '—' : `${formatNumber(stats.totals.acknowledgementRate * 100, 1)}%`,
            })}
          />
        </figure>
        <figure>
          <figcaption>{t('dashboard.chartContent')}</figcaption>
          <LineChart x={x} series={charts.content} yLabel={t('metric.coachingPoints')} description={describe(charts.content)} />
        </figure>
      </div>
      <details class="chart-data">
        <summary>{t('dashboard.chartTable')}</summary>
        <MetricsGrid rows={rows} who={t('dashboard.period')} caption={t('dashboard.overTime')} />
      </details>
    </section>
  );
}

type SortKey = 'label' | keyof Metrics;

function sortRows(rows: StatsRow[], key: SortKey, descending: boolean): StatsRow[] {
  const value = (r: StatsRow) => (key === 'label' ? (r.label ?? '') : (r[key] as number | null));
  return [...rows].sort((a, b) => {
    const va = value(a);
    const vb = value(b);
    if (va === vb) return 0;
    if (va === null) return 1;
    if (vb === null) return -1;
    const order = typeof va === 'string' ? va.localeCompare(vb as string) : va - (vb as number);
    return descending ? -order : order;
  });
}

function MetricsGrid({
  rows,
  who,
  caption,
  sort,
  onSort,
}: {
  rows: StatsRow[];
  who: string;
  caption: string;
  sort?: { key: SortKey; descending: boolean };
  onSort?: (key: SortKey) => void;
}) {
  const header = (key: SortKey, label: string) => {
    const active = sort?.key === key;
    return (
      <th scope="col" key={key} aria-sort={active ? (sort!.descending ? 'descending' : 'ascending') : undefined}>
        {onSort ? (
          <button type="button" class="sort" onClick={() => onSort(key)}>
            {label}
            <span aria-hidden="true" class="sort-mark">
              {active ? (sort!.descending ? ' ▼' : ' ▲') : ' ↕'}
            </span>
          </button>
        ) : (
          label
        )}
      </th>
    );
  };
  return (
    <TableWrap label={caption}>
      <table class="numbers">
        <caption class="visually-hidden">{caption}</caption>
        <thead>
          <tr>
            {header('label', who)}
            {COLUMNS.map((c) => header(c.key, t(c.label)))}
          </tr>
        </thead>
        <tbody>
          {rows.map((r) => (
            <tr key={r.key ?? 'none'}>
              <th scope="row">{r.label ?? '—'}</th>
              {COLUMNS.map((c) => (
                <td key={c.key}>{c.format ? c.format(r) : formatNumber(r[c.key] as number, 0)}</td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </TableWrap>
  );
}

/** The rows as the table shows them, as CSV: raw numbers, unrounded, with the table's headers. */
export function tableCsv(rows: StatsRow[], who: string): string {
  return (
    csvRow([who, ...COLUMNS.map((c) => t(c.label))]) +
    rows.map((r) => csvRow([r.label, ...COLUMNS.map((c) => r[c.key] as number | null)])).join('')
  );
}

function MetricsTable({ id, title, who, stats }: { id: string; title: string; who: string; stats: Stats }) {
  const [sort, setSort] = useState<{ key: SortKey; descending: boolean }>({ key: 'sessions', descending: true });
  const rows = sortRows(stats.rows, sort.key, sort.descending);
  return (
    <section class="panel" aria-labelledby={id}>
      <div class="page-head">
        <h2 id={id}>{title}</h2>
        <button
          type="button"
          class="secondary"
          onClick={() => downloadText(`coaching-stats-${stats.groupBy}-${stats.from}-${stats.to}.csv`, tableCsv(rows, who), 'text/csv')}
        >
          {t('dashboard.downloadCsv', { table: title })}
        </button>
      </div>
      {rows.length === 0 ? (
        <p class="muted">{t('dashboard.noData')}</p>
      ) : (
        <MetricsGrid
          rows={rows}
          who={who}
          caption={title}
          sort={sort}
          onSort={(key) => setSort({ key, descending: sort.key === key ? !sort.descending : key !== 'label' })}
        />
      )}
    </section>
  );
}
