import { pgEnum } from 'drizzle-orm/pg-core';

// The kinds of stack component. Database and code use snake_case; GraphQL uses UPPER_CASE,
// the CLI uses dashes.
export const COMPONENT_TYPES = [
  'orchestrator',
  'artifact_store',
  'container_registry',
  'step_operator',
  'experiment_tracker',
  'model_deployer',
  'model_registry',
  'feature_store',
  'alerter',
  'annotator',
  'data_validator',
  'image_builder',
] as const;

export type ComponentType = (typeof COMPONENT_TYPES)[number];

/**
 * The database enum lives here rather than with the tables because the stack tables need it
 * while the component tables are still loading (they import each other through users).
 */
export const componentTypeEnum = pgEnum('component_type', COMPONENT_TYPES);

/** Every stack needs these two; they can be replaced but never removed. */
export const REQUIRED_COMPONENT_TYPES: readonly ComponentType[] = ['orchestrator', 'artifact_store'];

export const DEFAULT_NAME = 'default';
