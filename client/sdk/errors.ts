// Errors the SDK throws for stacks and stores it cannot use.

/** Thrown when the stack cannot run pipelines from this process. */
export class UnsupportedStackError extends Error {
  override readonly name = 'UnsupportedStackError';
}

/**
 * An artifact store refused or could not be reached, or an object in it is not what was
 * recorded. The message names the store, and the setting or the URI at fault; never a secret.
 */
export class ArtifactStoreError extends Error {
  override readonly name = 'ArtifactStoreError';
}

/**
 * The orchestrator could not hand the run's steps over (its queue refused them); the run is
 * failed with this reason, whether or not the caller waits for it.
 */
export class RunSubmissionError extends Error {
  override readonly name = 'RunSubmissionError';
}

/** context.logMetric got a value that is not a finite number. */
export class MetricValueError extends Error {
  override readonly name = 'MetricValueError';
}
