import { pipeline } from 'stackyard';
import { evaluate, loadData, train } from './steps';

export const quickstart = pipeline('quickstart', ({ samples, trainFraction }: { samples: number; trainFraction: number }) => {
  const dataset = loadData({ samples, seed: 42 });
  const model = train({ dataset, trainFraction });
  evaluate({ model, dataset, trainFraction });
});
