// A run's steps as a graph drawn from their parents, fitted whole into its frame, with pan and
// zoom (d3-zoom: drag to pan, Ctrl or ⌘ with the wheel or a pinch to zoom, and buttons). Each
// step links to its details below the graph; steps the run expects but has not started are
// drawn dashed, as pending or skipped; a running step's elapsed time ticks.
import { select } from 'd3-selection';
import { zoom, zoomIdentity, type ZoomBehavior, type ZoomTransform } from 'd3-zoom';
import { useEffect, useLayoutEffect, useMemo, useRef, useState } from 'react';
import { useNow } from './elapsed';
import { formatDuration, statusLabel } from './format';
import type { ShownStatus } from './status-badge';
import { bestLayout, fitScale, NODE_HEIGHT, NODE_WIDTH, type StepGraphLayout } from './step-graph-layout';

export interface StepNode {
  name: string;
  parents: readonly string[];
  status: ShownStatus;
  durationMs?: number | null;
  /** When a running step started: its elapsed time is shown, ticking. */
  startedAt?: string | null;
  isCached?: boolean;
}

const MAX_NAME = 22;
/** The frame is never taller than this share of the window, so the page around it stays in view. */
const MAX_HEIGHT_SHARE = 0.8;
const MIN_FRAME_HEIGHT = 120;
const ZOOM_STEP = 1.25;
const MAX_ZOOM = 2.5;

export function stepAnchor(name: string): string {
  return `step-${encodeURIComponent(name)}`;
}

/** The transform that shows the whole layout centred in the frame. */
function fitted(layout: StepGraphLayout, width: number, height: number): ZoomTransform {
  const scale = fitScale(layout, width, height);
  return zoomIdentity.translate((width - layout.width * scale) / 2, (height - layout.height * scale) / 2).scale(scale);
}

export function StepGraph({ steps, label }: { steps: readonly StepNode[]; label: string }) {
  const frame = useRef<HTMLDivElement>(null);
  const svg = useRef<SVGSVGElement>(null);
  const behavior = useRef<ZoomBehavior<SVGSVGElement, unknown> | null>(null);
  const [width, setWidth] = useState(0);
  const [transform, setTransform] = useState<ZoomTransform>(zoomIdentity);
  const now = useNow(steps.some((step) => step.status === 'RUNNING' && step.startedAt));

  useLayoutEffect(() => {
    const element = frame.current!;
    setWidth(element.clientWidth);
    const observer = new ResizeObserver(() => setWidth(element.clientWidth));
    observer.observe(element);
    return () => observer.disconnect();
  }, []);

  // The shape of the graph, not its statuses, decides the layout: a step finishing moves nothing.
  const shape = JSON.stringify(steps.map((step) => [step.name, step.parents]));
  const maxHeight = Math.max(MIN_FRAME_HEIGHT * 2, Math.round(window.innerHeight * MAX_HEIGHT_SHARE));
  const layout = useMemo(() => bestLayout(steps, Math.max(1, width), maxHeight), [shape, width, maxHeight]); // eslint-disable-line react-hooks/exhaustive-deps
  const height = Math.max(MIN_FRAME_HEIGHT, Math.ceil(layout.height * fitScale(layout, Math.max(1, width), maxHeight)));
  const fit = useMemo(() => fitted(layout, Math.max(1, width), height), [layout, width, height]);

  useEffect(() => {
    const zoomBehavior = zoom<SVGSVGElement, unknown>()
      // The wheel scrolls the page unless Ctrl or ⌘ is held (a trackpad's pinch sends Ctrl).
      .filter((event: Event) => (event.type === 'wheel' ? (event as WheelEvent).ctrlKey || (event as WheelEvent).metaKey : !(event as MouseEvent).button))
      .on('zoom', (event: { transform: ZoomTransform }) => setTransform(event.transform));
    behavior.current = zoomBehavior;
    select(svg.current!).call(zoomBehavior).on('dblclick.zoom', null);
    return () => {
      select(svg.current!).on('.zoom', null);
    };
  }, []);

  // Fitted again whenever the graph's shape or the frame's size changes.
  useEffect(() => {
    if (!behavior.current || width === 0) return;
    behavior.current.scaleExtent([Math.min(fit.k, 1) / 2, MAX_ZOOM]);
    select(svg.current!).call(behavior.current.transform, fit);
  }, [fit, width]);

  const zoomBy = (factor: number) => behavior.current && select(svg.current!).call(behavior.current.scaleBy, factor);
  const byName = new Map(steps.map((step) => [step.name, step]));
  return (
    <div className="graph-frame" ref={frame} data-zoom={transform.k.toFixed(3)} data-direction={layout.direction}>
      <div className="graph-controls" role="group" aria-label="Zoom">
        <button type="button" className="secondary" onClick={() => zoomBy(ZOOM_STEP)} aria-label="Zoom in">
          +
        </button>
        <button type="button" className="secondary" onClick={() => zoomBy(1 / ZOOM_STEP)} aria-label="Zoom out">
          −
        </button>
        <button type="button" className="secondary" onClick={() => behavior.current && select(svg.current!).call(behavior.current.transform, fit)}>
          Fit
        </button>
      </div>
      <svg className="step-graph" ref={svg} height={height} role="group" aria-label={label}>
        <defs>
          <marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="6" markerHeight="6" orient="auto-start-reverse">
            <path d="M 0 0 L 10 5 L 0 10 z" className="edge-arrow" />
          </marker>
        </defs>
        <g transform={transform.toString()}>
          {layout.edges.map((edge) => (
            <path key={`${edge.from}->${edge.to}`} d={edge.path} className="edge" markerEnd="url(#arrow)" />
          ))}
          {layout.steps.map((placed) => {
            const step = byName.get(placed.name)!;
            const name = step.name.length > MAX_NAME ? `${step.name.slice(0, MAX_NAME - 1)}…` : step.name;
            const elapsed = step.status === 'RUNNING' && step.startedAt ? Math.max(0, now - Date.parse(step.startedAt)) : step.durationMs;
            const detail = [statusLabel(step.status), elapsed != null ? formatDuration(elapsed) : null, step.isCached && step.status !== 'CACHED' ? 'cache hit' : null]
              .filter(Boolean)
              .join(' · ');
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
        </g>
      </svg>
    </div>
  );
}
