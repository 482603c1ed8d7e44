import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import { lang } from './i18n';

export interface ChartSeries {
  label: string;
  values: Array<number | null>;
  /** Every line differs by dash and marker size as well as colour, so it reads without colour. */
  style: { stroke: string; dash?: number[]; marker: number };
}

/** Colours with at least 3:1 contrast against white (WCAG 1.4.11 for graphical objects). */
export const SERIES_STYLES: ChartSeries['style'][] = [
  { stroke: '#1f4e79', marker: 6 },
  { stroke: '#b45309', dash: [10, 5], marker: 5 },
  { stroke: '#166534', dash: [2, 4], marker: 7 },
  { stroke: '#7e22ce', dash: [12, 4, 2, 4], marker: 4 },
];

interface Props {
  /** Instants in seconds, one per period. */
  x: number[];
  series: ChartSeries[];
  description: string;
  yLabel: string;
  percent?: boolean;
}

/** A line chart drawn by uPlot on a canvas; `description` is its text alternative. */
export function LineChart({ x, series, description, yLabel, percent }: Props) {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const dayLabel = new Intl.DateTimeFormat(lang() === 'ko' ? 'ko-KR' : 'en-GB', { month: 'short', day: 'numeric', timeZone: 'UTC' });
    const el = box.current;
    if (!el) return;
    const width = Math.max(320, el.clientWidth || 600);
    const chart = new uPlot(
      {
        width,
        height: 260,
        legend: { show: true, live: false },
        cursor: { show: true, drag: { x: false, y: false } },
        scales: { x: { time: true } },
        // Periods are UTC weeks and months; the browser's own time zone would shift them.
        tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), 'Etc/UTC'),
        axes: [
          { stroke: '#1f2933', grid: { stroke: '#e4e7eb' }, values: (_u, ticks) => ticks.map((v) => dayLabel.format(new Date(v * 1000))) },
          {
            stroke: '#1f2933',
            label: yLabel,
            grid: { stroke: '#e4e7eb' },
            values: percent ? (_u, ticks) => ticks.map((v) => `${Math.round(v * 100)}%`) : undefined,
          },
        ],
        series: [
          {},
          ...series.map((s) => ({
            label: s.label,
            stroke: s.style.stroke,
            width: 2,
            dash: s.style.dash,
            points: { show: true, size: s.style.marker, fill: '#ffffff' },
            spanGaps: false,
          })),
        ],
      },
      [x, ...series.map((s) => s.values)] as uPlot.AlignedData,
      el,
    );
    const resize = new ResizeObserver(() => chart.setSize({ width: Math.max(320, el.clientWidth), height: 260 }));
    resize.observe(el);
    return () => {
      resize.disconnect();
      chart.destroy();
    };
  }, [x, series, yLabel, percent]);
  return <div class="chart" ref={box} role="img" aria-label={description} />;
}
