// The GraphQL schema: every domain module registers its types on the builder when imported.
import { lexicographicSortSchema } from 'graphql';
import { builder } from './builder';
import './json-depth-plugin';
import './errors';
import './components/component-schema';
import './stacks/stack-schema';
import './runs/run-schema';
import './metrics/metric-schema';
import './runs/run-reference';
import './artifacts/artifact-schema';
import './artifacts/artifact-preview';
import './search/search-schema';
import './logs/step-log-schema';
import './users/user-schema';
import './workers/worker-schema';

export const schema = lexicographicSortSchema(builder.toSchema());
