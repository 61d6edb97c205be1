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
 * The orchestrator could not take the run: its queue cannot be reached, which run() checks
 * before it records the run (none is left behind), or the queue refused the run's steps, and the
 * run is failed with this reason, whether or not the caller waits for it.
 */
export class RunSubmissionError extends Error {
  override readonly name = 'RunSubmissionError';
}

/** context.logMetric got a value that is not a finite number. */
export class MetricValueError extends Error {
  override readonly name = 'MetricValueError';
}

/**
 * The run ended while this process ran its steps: a user stopped it (`stackyard run stop`), or it
 * failed or was deleted elsewhere. It is the reason of the signal the aborted steps see; they
 * report nothing more.
 */
export class RunEndedError extends Error {
  override readonly name = 'RunEndedError';
}

/** `stackyard worker start` was given the name of a worker that is running. */
export class WorkerNameTakenError extends Error {
  override readonly name = 'WorkerNameTakenError';
}
