// GraphQL operations that report runs, as the SDK does, for the run and history tests.
import { expect } from 'vitest';
import type { TestServer } from './harness';
import { RESULT_FIELDS } from './registry-operations';

export const RUN_FIELDS = `id name status statusReason tags createdAt startedAt endedAt durationMs
  pipeline { name } stack { name } stackSnapshot { name components { type name flavor configuration } }
  expectedSteps { name parents }`;

export async function startRun(server: TestServer, variables: Record<string, unknown>) {
  const data = await server.gql(
    `mutation($pipeline: String!, $stack: String, $name: String, $steps: [ExpectedStepInput!], $tags: [String!], $config: JSONObject, $idempotencyKey: String) {
      startRun(pipeline: $pipeline, stack: $stack, name: $name, steps: $steps, tags: $tags, config: $config, idempotencyKey: $idempotencyKey) {
        ${RESULT_FIELDS} ... on PipelineRun { ${RUN_FIELDS} }
      }
    }`,
    variables,
  );
  return data.startRun;
}

export async function startStep(server: TestServer, variables: Record<string, unknown>) {
  const data = await server.gql(
    `mutation($runId: ID!, $name: String!, $parents: [String!], $cacheKey: String, $inputs: [StepInputInput!], $id: ID) {
      startStep(runId: $runId, name: $name, parents: $parents, cacheKey: $cacheKey, inputs: $inputs, id: $id) {
        ${RESULT_FIELDS} ... on StepRun { id name status parents cacheKey run { status } }
      }
    }`,
    variables,
  );
  return data.startStep;
}

export async function finishStep(server: TestServer, variables: Record<string, unknown>) {
  const data = await server.gql(
    `mutation($stepRunId: ID!, $status: StepFinishStatus!, $errorMessage: String, $originalStepRunId: ID) {
      finishStep(stepRunId: $stepRunId, status: $status, errorMessage: $errorMessage, originalStepRunId: $originalStepRunId) {
        ${RESULT_FIELDS} ... on StepRun { id name status errorMessage originalStepRun { id } run { status statusReason endedAt } }
      }
    }`,
    variables,
  );
  return data.finishStep;
}

export async function reportOutputs(server: TestServer, stepRunId: string, outputs: Record<string, unknown>[]) {
  const data = await server.gql(
    `mutation($stepRunId: ID!, $outputs: [StepOutputInput!]!) {
      reportStepOutputs(stepRunId: $stepRunId, outputs: $outputs) {
        ${RESULT_FIELDS}
        ... on LimitExceededError { limit }
        ... on ReportStepOutputsPayload { outputs { name artifactVersion { id name version uri type artifactStore { name } } } }
      }
    }`,
    { stepRunId, outputs },
  );
  return data.reportStepOutputs;
}

export async function finishRun(server: TestServer, variables: Record<string, unknown>) {
  const data = await server.gql(
    `mutation($runId: ID!, $status: RunFinishStatus, $reason: String) {
      finishRun(runId: $runId, status: $status, reason: $reason) { ${RESULT_FIELDS} ... on PipelineRun { status statusReason endedAt durationMs } }
    }`,
    variables,
  );
  return data.finishRun;
}

/** Runs a whole pipeline run: every step completes, each with one output. Answers the run id. */
export async function completeRun(
  server: TestServer,
  options: { pipeline: string; stack?: string; steps?: string[]; tags?: string[]; name?: string },
): Promise<string> {
  const steps = options.steps ?? ['load', 'train'];
  const run = await startRun(server, {
    pipeline: options.pipeline,
    stack: options.stack,
    name: options.name,
    tags: options.tags,
    steps: steps.map((name, index) => ({ name, parents: index === 0 ? [] : [steps[index - 1]] })),
  });
  expect(run.__typename, JSON.stringify(run)).toBe('PipelineRun');
  for (const name of steps) {
    const step = await startStep(server, { runId: run.id, name });
    await reportOutputs(server, step.id, [{ name: 'output', uri: `/tmp/${run.name}/${name}/output` }]);
    await finishStep(server, { stepRunId: step.id, status: 'COMPLETED' });
  }
  return run.id;
}
