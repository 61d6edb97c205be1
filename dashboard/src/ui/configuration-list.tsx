// A component's settings. Secret settings never come back from the API: the server says only
// which of them hold a value, shown as "•••• set".
import { formatValue } from './format';

export function ConfigurationList({
  configuration,
  secretsSet = [],
  label,
  empty = 'No settings',
}: {
  configuration: Record<string, unknown>;
  secretsSet?: readonly string[];
  label: string;
  empty?: string;
}) {
  const entries = Object.entries(configuration);
  if (entries.length === 0 && secretsSet.length === 0) return <p className="muted">{empty}</p>;
  return (
    <dl className="configuration" aria-label={label}>
      {entries.map(([key, value]) => (
        <div key={key}>
          <dt>{key}</dt>
          <dd>
            <code>{formatValue(value)}</code>
          </dd>
        </div>
      ))}
      {/* A URL with a secret password is shown above, masked; only wholly secret settings are listed here. */}
      {secretsSet.filter((key) => !(key in configuration)).map((key) => (
        <div key={key}>
          <dt>{key}</dt>
          <dd className="secret">•••• set</dd>
        </div>
      ))}
    </dl>
  );
}
