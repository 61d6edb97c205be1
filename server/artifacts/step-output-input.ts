// The input that reports a step's output, taken by reportStepOutputs and by finishStep (which
// reports a step's last outputs as it ends it): in its own module, so both schemas import it.
import { builder } from '../builder';
import { databaseId } from '../ids';
import type { ReportedOutput } from './artifact-service';

export const StepOutputInput = builder.inputType('StepOutputInput', {
  fields: (t) => ({
    name: t.string({ required: true, description: "The step's output name." }),
    artifactName: t.string({ description: 'Defaults to {pipeline}::{step}::{output}.' }),
    uri: t.string({ required: true }),
    artifactStoreId: t.id({ description: "Defaults to the artifact store of the run's stack." }),
    type: t.string({ description: 'data (default), model, schema, statistics, service, ...' }),
    dataType: t.string(),
    materializer: t.string(),
    contentHash: t.string(),
    sizeBytes: t.float(),
    metadata: t.field({ type: 'JSONObject' }),
    tags: t.stringList(),
  }),
});

/** The outputs as the service takes them, with database ids. */
export function storedOutputArguments(outputs: (typeof StepOutputInput.$inferInput)[]): ReportedOutput[] {
  return outputs.map((output, index) => ({
    ...output,
    artifactStoreId: output.artifactStoreId == null ? null : databaseId(output.artifactStoreId, 'StackComponent', `outputs.${index}.artifactStoreId`),
  }));
}
