// Every table and enum of the database, re-exported from the domain modules that own them.
export * from '../artifacts/artifact-tables';
export * from '../components/component-tables';
export * from '../metrics/metric-tables';
export * from '../runs/run-tables';
export * from '../stacks/stack-tables';
export * from '../users/user-tables';
export * from '../workers/worker-tables';
