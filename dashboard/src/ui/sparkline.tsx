// A series of numbers as a small line, for a value in a table cell. The label says what a
// screen reader cannot see: how many points, and the first, last, lowest and highest.
import { scaleLinear } from 'd3-scale';
import { line } from 'd3-shape';
import { formatNumber } from './format-number';

const WIDTH = 120;
const HEIGHT = 28;
const PAD = 2;

export function sparklineSummary(values: readonly number[]): string {
  if (values.length === 0) return 'no values';
  return `${values.length} values from ${formatNumber(values[0])} to ${formatNumber(values[values.length - 1])}, lowest ${formatNumber(Math.min(...values))}, highest ${formatNumber(Math.max(...values))}`;
}

export function Sparkline({ values, label }: { values: readonly number[]; label: string }) {
  const x = scaleLinear().domain([0, Math.max(1, values.length - 1)]).range([PAD, WIDTH - PAD]);
  const [low, high] = [Math.min(...values), Math.max(...values)];
  // A flat series sits mid-height rather than on an edge.
  const y = scaleLinear().domain(low === high ? [low - 1, high + 1] : [low, high]).range([HEIGHT - PAD, PAD]);
  const path = line<number>().x((_value, index) => x(index)).y((value) => y(value))(values as number[]) ?? '';
  const last = values[values.length - 1];
  return (
    <svg className="sparkline" viewBox={`0 0 ${WIDTH} ${HEIGHT}`} width={WIDTH} height={HEIGHT} role="img" aria-label={`${label}: ${sparklineSummary(values)}`}>
      <path d={path} />
      {last !== undefined && <circle cx={x(values.length - 1)} cy={y(last)} r={2} />}
    </svg>
  );
}
