// The one orchestrator interface pipeline.run() talks to, whatever the flavor: `local` runs the
// steps in this process, `bullmq` hands them to `stackyard worker` processes through Redis.
import type { StepInvocation } from './step';
import type { StepResult, StepRunSettings } from './step-execution';

/** A recorded run, ready for its steps: what run() hands the orchestrator. */
export interface RecordedRun extends StepRunSettings {
  /** The stack the run was recorded on. */
  stackName: string;
  invocations: readonly StepInvocation[];
  /** The run's parameters, as given to run(): workers compose the pipeline again from them. */
  parameters: unknown;
  /** Whether `progress` shows anything (run() was not given `progress: false`). */
  showsProgress: boolean;
  /** run()'s priority, 0 by default: what a queue takes first (priority.ts). */
  priority: number;
}

export interface Orchestrator {
  /** The orchestrator component's name, for messages. */
  readonly name: string;
  /**
   * Checks the settings and whatever the orchestrator needs to reach, before a run is recorded:
   * bad settings or an unreachable service fail here and no run is left behind.
   */
  verify(): Promise<void>;
  /** Runs every step of the run; answers each step's result. Rejects only when they cannot be recorded. */
  execute(run: RecordedRun): Promise<Map<string, StepResult>>;
  /**
   * Hands the run over and answers at once, for run({ wait: false }); the run then finishes
   * without this process. Absent when the steps can only run in this process.
   */
  submit?(run: RecordedRun): Promise<void>;
  /** Releases connections; the process can exit afterwards. */
  close(): Promise<void>;
}
