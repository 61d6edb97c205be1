// A layered layout for a run's step graph, by dagre (the Sugiyama layout most DAG viewers use):
// top to bottom or left to right, whichever shows the graph larger in the space it has.
import { Graph, layout } from '@dagrejs/dagre';

export interface GraphStep {
  name: string;
  parents: readonly string[];
}

export interface PlacedStep {
  name: string;
  /** Top-left corner. */
  x: number;
  y: number;
}

export interface PlacedEdge {
  from: string;
  to: string;
  /** SVG path data, from the parent's side to the child's. */
  path: string;
}

export type GraphDirection = 'TB' | 'LR';

export interface StepGraphLayout {
  direction: GraphDirection;
  steps: PlacedStep[];
  edges: PlacedEdge[];
  width: number;
  height: number;
}

export const NODE_WIDTH = 176;
export const NODE_HEIGHT = 52;
const MARGIN = 8;

/** A smooth line through dagre's edge points: straight to each midpoint, curving at the points. */
function smoothPath(points: readonly { x: number; y: number }[]): string {
  if (points.length < 3) return points.map((point, index) => `${index === 0 ? 'M' : 'L'} ${point.x} ${point.y}`).join(' ');
  let path = `M ${points[0].x} ${points[0].y}`;
  for (let index = 1; index < points.length - 1; index += 1) {
    const point = points[index];
    const next = points[index + 1];
    const end = index === points.length - 2 ? next : { x: (point.x + next.x) / 2, y: (point.y + next.y) / 2 };
    path += ` Q ${point.x} ${point.y} ${end.x} ${end.y}`;
  }
  return path;
}

export function layoutStepGraph(steps: readonly GraphStep[], direction: GraphDirection = 'TB'): StepGraphLayout {
  const graph = new Graph({ multigraph: false });
  graph.setGraph({ rankdir: direction, nodesep: direction === 'TB' ? 20 : 16, ranksep: direction === 'TB' ? 40 : 48, marginx: MARGIN, marginy: MARGIN });
  graph.setDefaultEdgeLabel(() => ({}));
  const names = new Set(steps.map((step) => step.name));
  for (const step of steps) graph.setNode(step.name, { width: NODE_WIDTH, height: NODE_HEIGHT });
  for (const step of steps) {
    // A parent the run does not know (or the step itself) draws no edge; dagre breaks any cycle.
    for (const parent of new Set(step.parents)) if (names.has(parent) && parent !== step.name) graph.setEdge(parent, step.name);
  }
  layout(graph);
  const placed = steps.map((step) => {
    const node = graph.node(step.name);
    return { name: step.name, x: node.x - NODE_WIDTH / 2, y: node.y - NODE_HEIGHT / 2 };
  });
  const edges = graph.edges().map((edge) => ({ from: edge.v, to: edge.w, path: smoothPath(graph.edge(edge).points ?? []) }));
  const label = graph.graph();
  return { direction, steps: placed, edges, width: label.width ?? 0, height: label.height ?? 0 };
}

/** The scale at which the layout fits a frame `width` wide and at most `maxHeight` high, never above 1. */
export function fitScale(layout: Pick<StepGraphLayout, 'width' | 'height'>, width: number, maxHeight: number): number {
  return Math.min(1, width / Math.max(1, layout.width), maxHeight / Math.max(1, layout.height));
}

/**
 * The layout to show in a frame of this size: top to bottom unless left to right shows the steps
 * larger (a wide fan-out on a narrow screen), so the whole graph fits as legibly as it can.
 */
export function bestLayout(steps: readonly GraphStep[], width: number, maxHeight: number): StepGraphLayout {
  const down = layoutStepGraph(steps, 'TB');
  const across = layoutStepGraph(steps, 'LR');
  return fitScale(across, width, maxHeight) > fitScale(down, width, maxHeight) + 0.01 ? across : down;
}
