// The pipeline SDK: define steps and pipelines, run them on the active stack.
export { step, type Step, type MultiOutputStep, type StepOptions, type StepContext, type OutputRef, type ArtifactConfig, type StepOutcomeInfo } from './step';
export { pipeline, PipelineRunFailedError, PipelineRunStoppedError, type Pipeline, type PipelineOptions, type RunOptions, type PipelineRunResult } from './pipeline';
export type { StepResult, StoredOutput } from './step-execution';
export { bytesMaterializer, stringMaterializer, jsonMaterializer, isJsonValue, type Materializer, type JsonValue } from './materializers';
export { formatProgress, terminalProgress, type ProgressEvent, type ProgressListener } from './progress';
export { UnsupportedStackError, ArtifactStoreError, MetricValueError, RunSubmissionError, RunEndedError } from './errors';
export { LocalPath } from './path-materializers';
export { ArtifactHandle, ArtifactVersionHandle } from './artifact-versions';
export type { ArtifactStore, StoredArtifact, ArtifactSource } from './artifact-store';
