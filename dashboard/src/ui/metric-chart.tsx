// Series of one metric from several runs overlaid on one chart, value against step: the
// MLflow-style plot for comparing runs. The same numbers as a table for screen readers.
import { scaleLinear } from 'd3-scale';
import { line } from 'd3-shape';
import './metric-views.css';
import { formatNumber } from './format-number';
import { ScrollingTable } from './scrolling-table';

export interface ChartSeries {
  label: string;
  points: readonly { step: number; value: number }[];
}

/** Ten colours told apart on light and dark backgrounds (Tableau 10), one per compared run. */
export const SERIES_COLOURS = ['#4e79a7', '#f28e2b', '#e15759', '#76b7b2', '#59a14f', '#edc948', '#b07aa1', '#ff9da7', '#9c755f', '#bab0ac'];

const WIDTH = 640;
const HEIGHT = 240;
const MARGIN = { top: 12, right: 16, bottom: 28, left: 56 };

export function MetricChart({ title, series }: { title: string; series: readonly ChartSeries[] }) {
  const points = series.flatMap((item) => item.points);
  const steps = points.map((point) => point.step);
  const values = points.map((point) => point.value);
  const x = scaleLinear()
    .domain([Math.min(0, ...steps), Math.max(1, ...steps)])
    .range([MARGIN.left, WIDTH - MARGIN.right]);
  const low = Math.min(...values);
  const high = Math.max(...values);
  const y = scaleLinear()
    .domain(low === high ? [low - 1, high + 1] : [low, high])
    .nice()
    .range([HEIGHT - MARGIN.bottom, MARGIN.top]);
  const path = line<{ step: number; value: number }>().x((point) => x(point.step)).y((point) => y(point.value));
  const summary = `${title}: ${series.map((item) => `${item.label} ${item.points.length ? `ends at ${formatNumber(item.points[item.points.length - 1].value)} (step ${item.points[item.points.length - 1].step})` : 'has no values'}`).join('; ')}`;
  return (
    <figure className="chart metric-chart">
      <svg viewBox={`0 0 ${WIDTH} ${HEIGHT}`} role="img" aria-label={summary} preserveAspectRatio="xMinYMin meet">
        {y.ticks(5).map((tick) => (
          <g key={`y${tick}`}>
            <line className="grid" x1={MARGIN.left} x2={WIDTH - MARGIN.right} y1={y(tick)} y2={y(tick)} />
            <text className="axis-label" x={MARGIN.left - 6} y={y(tick) + 4} textAnchor="end">
              {formatNumber(tick)}
            </text>
          </g>
        ))}
        {x.ticks(6).filter(Number.isInteger).map((tick) => (
          <text key={`x${tick}`} className="axis-label" x={x(tick)} y={HEIGHT - 8} textAnchor="middle">
            {tick}
          </text>
        ))}
        {series.map((item, index) =>
          item.points.length === 1 ? (
            <circle key={item.label} cx={x(item.points[0].step)} cy={y(item.points[0].value)} r={3} fill={SERIES_COLOURS[index % SERIES_COLOURS.length]} />
          ) : (
            <path key={item.label} className="line" d={path(item.points as { step: number; value: number }[]) ?? ''} stroke={SERIES_COLOURS[index % SERIES_COLOURS.length]} data-series={item.label} />
          ),
        )}
      </svg>
      <figcaption>
        {title} <span className="muted">(value by step)</span>
        <ul className="legend" aria-label={`Legend of ${title}`}>
          {series.map((item, index) => (
            <li key={item.label}>
              <span className="swatch-line" style={{ background: SERIES_COLOURS[index % SERIES_COLOURS.length] }} aria-hidden="true" /> {item.label}
            </li>
          ))}
        </ul>
      </figcaption>
      <details>
        <summary>{title} as a table</summary>
        <ScrollingTable label={`${title} values`} columns={['Step', ...series.map((item) => item.label)]}>
          {[...new Set(steps)]
            .sort((a, b) => a - b)
            .slice(0, 200)
            .map((step) => (
              <tr key={step}>
                <th scope="row">{step}</th>
                {series.map((item) => {
                  const point = item.points.findLast((candidate) => candidate.step === step);
                  return <td key={item.label}>{point ? formatNumber(point.value) : '-'}</td>;
                })}
              </tr>
            ))}
        </ScrollingTable>
      </details>
    </figure>
  );
}
