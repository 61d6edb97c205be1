// The GraphQL schema: every domain module registers its types on the builder when imported.
import { lexicographicSortSchema } from 'graphql';
import { builder } from './builder';
import './json-depth-plugin';
import './errors';
import './components/component-schema';
import './stacks/stack-schema';
import './runs/run-schema';
import './artifacts/artifact-schema';
import './logs/step-log-schema';
import './users/user-schema';

export const schema = lexicographicSortSchema(builder.toSchema());
