// A layered layout for a run's step graph, top to bottom: a step sits one layer below its
// deepest parent, and each layer is ordered by where its parents sit (one barycenter pass
// downwards), which keeps edges from crossing in the pipelines people write.

export interface GraphStep {
  name: string;
  parents: readonly string[];
}

export interface PlacedStep {
  name: string;
  layer: number;
  x: number;
  y: number;
}

export interface PlacedEdge {
  from: string;
  to: string;
  /** SVG path data, from the bottom of the parent to the top of the child. */
  path: string;
}

export interface StepGraphLayout {
  steps: PlacedStep[];
  edges: PlacedEdge[];
  width: number;
  height: number;
}

export const NODE_WIDTH = 176;
export const NODE_HEIGHT = 52;
const GAP_X = 24;
const GAP_Y = 40;
const MARGIN = 8;

export function layoutStepGraph(steps: readonly GraphStep[]): StepGraphLayout {
  const byName = new Map(steps.map((step) => [step.name, step]));
  const parentsOf = (name: string) => (byName.get(name)?.parents ?? []).filter((parent) => byName.has(parent) && parent !== name);

  const layers = new Map<string, number>();
  const visiting = new Set<string>();
  const layerOf = (name: string): number => {
    const known = layers.get(name);
    if (known !== undefined) return known;
    // A cycle cannot come from a real run; if one does, it is cut where it closes.
    if (visiting.has(name)) return 0;
    visiting.add(name);
    const layer = Math.max(-1, ...parentsOf(name).map(layerOf)) + 1;
    visiting.delete(name);
    layers.set(name, layer);
    return layer;
  };

  const rows: string[][] = [];
  for (const step of steps) (rows[layerOf(step.name)] ??= []).push(step.name);
  const position = new Map<string, number>();
  rows.forEach((row, layer) => {
    if (layer > 0) {
      const barycenter = (name: string) => {
        const parents = parentsOf(name);
        return parents.length ? parents.reduce((sum, parent) => sum + (position.get(parent) ?? 0), 0) / parents.length : Infinity;
      };
      // Array.prototype.sort is stable, so steps without parents keep their run order.
      row.sort((a, b) => barycenter(a) - barycenter(b));
    }
    row.forEach((name, index) => position.set(name, index));
  });

  const widest = Math.max(1, ...rows.map((row) => row.length));
  const width = MARGIN * 2 + widest * NODE_WIDTH + (widest - 1) * GAP_X;
  const placed: PlacedStep[] = rows.flatMap((row, layer) => {
    // Each row is centred, so a single step below a wide layer sits in the middle.
    const rowWidth = row.length * NODE_WIDTH + (row.length - 1) * GAP_X;
    const left = (width - rowWidth) / 2;
    return row.map((name, index) => ({ name, layer, x: left + index * (NODE_WIDTH + GAP_X), y: MARGIN + layer * (NODE_HEIGHT + GAP_Y) }));
  });
  const at = new Map(placed.map((step) => [step.name, step]));
  const edges: PlacedEdge[] = placed.flatMap((child) =>
    parentsOf(child.name).map((parentName) => {
      const parent = at.get(parentName)!;
      const x1 = parent.x + NODE_WIDTH / 2;
      const y1 = parent.y + NODE_HEIGHT;
      const x2 = child.x + NODE_WIDTH / 2;
      const y2 = child.y;
      const bend = (y2 - y1) / 2;
      return { from: parentName, to: child.name, path: `M ${x1} ${y1} C ${x1} ${y1 + bend}, ${x2} ${y2 - bend}, ${x2} ${y2}` };
    }),
  );
  return { steps: placed, edges, width, height: MARGIN * 2 + rows.length * NODE_HEIGHT + Math.max(0, rows.length - 1) * GAP_Y };
}
