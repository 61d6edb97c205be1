// Every table and relation, for drizzle-kit and the relational query builder. The tables
// themselves live with the domain module that owns them.
import { defineRelations } from 'drizzle-orm';
import * as tables from './tables';

export * from './tables';

export const relations = defineRelations(
  tables,
  (r) => ({
    stacks: {
      components: r.many.stackComponents({
        from: r.stacks.id.through(r.stackComponentAssignments.stackId),
        to: r.stackComponents.id.through(r.stackComponentAssignments.componentId),
      }),
      runs: r.many.pipelineRuns({ from: r.stacks.id, to: r.pipelineRuns.stackId }),
      creator: r.one.users({ from: r.stacks.createdBy, to: r.users.id }),
    },
    stackComponents: {
      stacks: r.many.stacks({
        from: r.stackComponents.id.through(r.stackComponentAssignments.componentId),
        to: r.stacks.id.through(r.stackComponentAssignments.stackId),
      }),
      runs: r.many.pipelineRuns({
        from: r.stackComponents.id.through(r.pipelineRunComponents.componentId),
        to: r.pipelineRuns.id.through(r.pipelineRunComponents.runId),
      }),
      creator: r.one.users({ from: r.stackComponents.createdBy, to: r.users.id }),
    },
    users: {
      activeStack: r.one.stacks({ from: r.users.activeStackId, to: r.stacks.id }),
      tokens: r.many.apiTokens({ from: r.users.id, to: r.apiTokens.userId }),
    },
    apiTokens: {
      user: r.one.users({ from: r.apiTokens.userId, to: r.users.id, optional: false }),
    },
    pipelines: {
      runs: r.many.pipelineRuns({ from: r.pipelines.id, to: r.pipelineRuns.pipelineId }),
    },
    pipelineRuns: {
      pipeline: r.one.pipelines({ from: r.pipelineRuns.pipelineId, to: r.pipelines.id, optional: false }),
      stack: r.one.stacks({ from: r.pipelineRuns.stackId, to: r.stacks.id }),
      steps: r.many.stepRuns({ from: r.pipelineRuns.id, to: r.stepRuns.runId }),
      creator: r.one.users({ from: r.pipelineRuns.userId, to: r.users.id }),
    },
    stepRuns: {
      run: r.one.pipelineRuns({ from: r.stepRuns.runId, to: r.pipelineRuns.id, optional: false }),
      inputs: r.many.stepRunInputs({ from: r.stepRuns.id, to: r.stepRunInputs.stepRunId }),
      outputs: r.many.stepRunOutputs({ from: r.stepRuns.id, to: r.stepRunOutputs.stepRunId }),
      originalStepRun: r.one.stepRuns({ from: r.stepRuns.originalStepRunId, to: r.stepRuns.id }),
    },
    workers: {
      currentSteps: r.many.stepRuns({
        from: r.workers.id.through(r.workerCurrentSteps.workerId),
        to: r.stepRuns.id.through(r.workerCurrentSteps.stepRunId),
      }),
    },
    stepRunInputs: {
      stepRun: r.one.stepRuns({ from: r.stepRunInputs.stepRunId, to: r.stepRuns.id, optional: false }),
      artifactVersion: r.one.artifactVersions({ from: r.stepRunInputs.artifactVersionId, to: r.artifactVersions.id, optional: false }),
    },
    stepRunOutputs: {
      stepRun: r.one.stepRuns({ from: r.stepRunOutputs.stepRunId, to: r.stepRuns.id, optional: false }),
      artifactVersion: r.one.artifactVersions({ from: r.stepRunOutputs.artifactVersionId, to: r.artifactVersions.id, optional: false }),
    },
    artifacts: {
      versions: r.many.artifactVersions({ from: r.artifacts.id, to: r.artifactVersions.artifactId }),
    },
    artifactVersions: {
      artifact: r.one.artifacts({ from: r.artifactVersions.artifactId, to: r.artifacts.id, optional: false }),
      producer: r.one.stepRuns({ from: r.artifactVersions.producerStepRunId, to: r.stepRuns.id }),
      consumers: r.many.stepRuns({
        from: r.artifactVersions.id.through(r.stepRunInputs.artifactVersionId),
        to: r.stepRuns.id.through(r.stepRunInputs.stepRunId),
      }),
      artifactStore: r.one.stackComponents({ from: r.artifactVersions.artifactStoreId, to: r.stackComponents.id }),
    },
  }),
);
