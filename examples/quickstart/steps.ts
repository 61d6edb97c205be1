// The quickstart's three steps: load a small labelled data set, train a nearest-centroid
// classifier on part of it, and evaluate it on the rest. Each output goes to the artifact store.
import { step } from 'stackyard';

export interface Dataset {
  features: number[][];
  labels: string[];
}

export interface Model {
  kind: 'nearest-centroid';
  centroids: Record<string, number[]>;
}

/** Two well-separated clusters per class, from a seeded generator so every run sees the same data. */
export const loadData = step('load_data', ({ samples, seed }: { samples: number; seed: number }): Dataset => {
  let state = seed;
  const random = () => {
    state = (state * 1103515245 + 12345) % 2147483648;
    return state / 2147483648;
  };
  const centres: Record<string, number[]> = { setosa: [1, 1], versicolor: [4, 4], virginica: [7, 1] };
  const features: number[][] = [];
  const labels: string[] = [];
  for (let i = 0; i < samples; i += 1) {
    const label = Object.keys(centres)[i % 3];
    features.push(centres[label].map((value) => value + (random() - 0.5) * 2));
    labels.push(label);
  }
  return { features, labels };
});

export const train = step(
  'train',
  async ({ dataset, trainFraction }: { dataset: Dataset; trainFraction: number }, context): Promise<Model> => {
    const count = Math.floor(dataset.features.length * trainFraction);
    const sums: Record<string, { total: number[]; n: number }> = {};
    for (let i = 0; i < count; i += 1) {
      const entry = (sums[dataset.labels[i]] ??= { total: dataset.features[i].map(() => 0), n: 0 });
      dataset.features[i].forEach((value, axis) => (entry.total[axis] += value));
      entry.n += 1;
    }
    const centroids = Object.fromEntries(Object.entries(sums).map(([label, { total, n }]) => [label, total.map((value) => value / n)]));
    await context.logMetadata({ trainingSamples: count });
    return { kind: 'nearest-centroid', centroids };
  },
  { artifacts: { output: { name: 'quickstart_model', type: 'model' } } },
);

export const evaluate = step(
  'evaluate',
  async ({ model, dataset, trainFraction }: { model: Model; dataset: Dataset; trainFraction: number }, context) => {
    const start = Math.floor(dataset.features.length * trainFraction);
    let correct = 0;
    for (let i = start; i < dataset.features.length; i += 1) {
      const point = dataset.features[i];
      const distance = (centroid: number[]) => centroid.reduce((sum, value, axis) => sum + (value - point[axis]) ** 2, 0);
      const [predicted] = Object.entries(model.centroids).sort(([, a], [, b]) => distance(a) - distance(b))[0];
      if (predicted === dataset.labels[i]) correct += 1;
    }
    const accuracy = correct / (dataset.features.length - start);
    await context.logMetadata({ accuracy });
    return { accuracy, testSamples: dataset.features.length - start };
  },
  { artifacts: { output: { name: 'quickstart_metrics', type: 'statistics' } } },
);
