// A JSON value shown as what it is rather than as JSON text: a number formatted, a series of
// numbers as a sparkline, a small object as a table of its keys. Anything else falls back to
// its JSON, in code type.
import './metric-views.css';
import { formatNumber } from './format-number';
import { Sparkline } from './sparkline';

/** Objects with more keys, or deeper, are shown as JSON: a table of them would not be small. */
const MAX_TABLE_KEYS = 12;
const MAX_TABLE_DEPTH = 2;

export function isSeries(value: unknown): value is number[] {
  return Array.isArray(value) && value.length >= 2 && value.every((item) => typeof item === 'number' && Number.isFinite(item));
}

function isSmallObject(value: unknown, depth: number): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const entries = Object.entries(value);
  return entries.length > 0 && entries.length <= MAX_TABLE_KEYS && depth < MAX_TABLE_DEPTH;
}

export function ValueView({ value, label, depth = 0 }: { value: unknown; label: string; depth?: number }) {
  if (typeof value === 'number') return <span className="number">{formatNumber(value)}</span>;
  if (typeof value === 'string') return <span>{value}</span>;
  if (typeof value === 'boolean') return <span>{value ? 'yes' : 'no'}</span>;
  if (value === null || value === undefined) return <span className="muted">-</span>;
  if (isSeries(value)) {
    return (
      <span className="series">
        <Sparkline values={value} label={label} /> <span className="number">{formatNumber(value[value.length - 1])}</span>
      </span>
    );
  }
  if (isSmallObject(value, depth)) {
    return (
      <table className="value-table" aria-label={label}>
        <tbody>
          {Object.entries(value).map(([key, inner]) => (
            <tr key={key}>
              <th scope="row">{key}</th>
              <td>
                <ValueView value={inner} label={`${label} ${key}`} depth={depth + 1} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    );
  }
  return <code>{JSON.stringify(value)}</code>;
}

/** Keys and values, each value shown by ValueView; `empty` when there are none. */
export function ValueList({ values, label, empty }: { values: Record<string, unknown>; label: string; empty: string }) {
  const entries = Object.entries(values);
  if (entries.length === 0) return <p className="muted">{empty}</p>;
  return (
    <dl className="configuration value-list" aria-label={label}>
      {entries.map(([key, value]) => (
        <div key={key}>
          <dt>{key}</dt>
          <dd>
            <ValueView value={value} label={key} />
          </dd>
        </div>
      ))}
    </dl>
  );
}
