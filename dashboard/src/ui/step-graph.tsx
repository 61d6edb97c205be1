// A run's steps as a graph drawn from their parents. Each step links to its details below
// the graph; steps the run expects but has not started are drawn dashed, as pending or skipped.
import { formatDuration, statusLabel } from './format';
import type { ShownStatus } from './status-badge';
import { NODE_HEIGHT, NODE_WIDTH, layoutStepGraph } from './step-graph-layout';

export interface StepNode {
  name: string;
  parents: readonly string[];
  status: ShownStatus;
  durationMs?: number | null;
  isCached?: boolean;
}

const MAX_NAME = 22;

export function stepAnchor(name: string): string {
  return `step-${encodeURIComponent(name)}`;
}

export function StepGraph({ steps, label }: { steps: readonly StepNode[]; label: string }) {
  const layout = layoutStepGraph(steps);
  const byName = new Map(steps.map((step) => [step.name, step]));
  return (
    <div className="graph-scroll">
      <svg className="step-graph" viewBox={`0 0 ${layout.width} ${layout.height}`} width={layout.width} height={layout.height} role="group" aria-label={label}>
        <defs>
          <marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="6" markerHeight="6" orient="auto-start-reverse">
            <path d="M 0 0 L 10 5 L 0 10 z" className="edge-arrow" />
          </marker>
        </defs>
        {layout.edges.map((edge) => (
          <path key={`${edge.from}->${edge.to}`} d={edge.path} className="edge" markerEnd="url(#arrow)" />
        ))}
        {layout.steps.map((placed) => {
          const step = byName.get(placed.name)!;
          const name = step.name.length > MAX_NAME ? `${step.name.slice(0, MAX_NAME - 1)}…` : step.name;
          const detail = [statusLabel(step.status), step.durationMs != null ? formatDuration(step.durationMs) : null, step.isCached && step.status !== 'CACHED' ? 'cache hit' : null].filter(Boolean).join(' · ');
          return (
            <a key={step.name} href={`#${stepAnchor(step.name)}`} aria-label={`${step.name}: ${detail}`} className={`node node-${step.status.toLowerCase()}`}>
              <title>{`${step.name}: ${detail}`}</title>
              <rect x={placed.x} y={placed.y} width={NODE_WIDTH} height={NODE_HEIGHT} rx={8} />
              <text x={placed.x + 12} y={placed.y + 21} className="node-name">
                {name}
              </text>
              <text x={placed.x + 12} y={placed.y + 39} className="node-detail">
                {detail}
              </text>
            </a>
          );
        })}
      </svg>
    </div>
  );
}
