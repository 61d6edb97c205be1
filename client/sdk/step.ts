// Steps: typed async functions. Called inside a pipeline's definition, a step does not
// run; it adds itself to the pipeline's graph and answers references to its outputs,
// which later steps take as inputs.
import { fileURLToPath } from 'node:url';
import { callerModuleFile } from './code-reach';
import type { Materializer } from './materializers';
import { checkPriority } from './priority';

// Registered, so a reference made by another copy of the SDK is still one: a worker loads the
// user's pipelines through tsx, whose copy of 'stackyard' is not the worker's own.
const outputType: unique symbol = Symbol.for('stackyard.output');

/** A step output inside a pipeline definition; the step that takes it runs after its producer. */
export interface OutputRef<T> {
  readonly [outputType]?: T;
  readonly step: string;
  readonly output: string;
}

/** Inputs as a pipeline passes them: a value (a parameter) or another step's output. */
export type StepInputs<I> = { [K in keyof I]: I[K] | OutputRef<I[K]> };

export interface StepContext {
  readonly pipelineName: string;
  readonly runId: string;
  readonly runName: string;
  readonly stepName: string;
  readonly stepRunId: string;
  /** Which try of the step this is: 1, then 2, ... when an orchestrator with retries runs it again. */
  readonly attempt: number;
  /**
   * Aborts when the step should stop: its timeout passed, or its run ended elsewhere (a user ran
   * `stackyard run stop`). Whatever the step returns after that is not recorded; a long step
   * checks it (signal.throwIfAborted(), or passes it to fetch) to stop its work early.
   */
  readonly signal: AbortSignal;
  /** Merges keys into this step run's metadata on the server (metrics, notes, ...). */
  logMetadata(metadata: Record<string, unknown>): Promise<void>;
  /**
   * Records a metric's value at a step index (epoch, batch, ...), as MLflow's log_metric does;
   * without `step`, the one after the last logged for this name (0 first). Points are sent in
   * batches, every few seconds and when the step ends; the step fails if they cannot be recorded.
   * Throws MetricValueError for NaN or an infinite value.
   */
  logMetric(name: string, value: number, options?: { step?: number }): void;
}

export interface StepOutcomeInfo {
  stepName: string;
  stepRunId: string;
  status: 'completed' | 'cached' | 'failed';
  /** Output name → where it is stored; empty for a failed step. */
  outputs: Record<string, { uri: string; artifactVersionId: string; version: number }>;
  error?: Error;
}

export interface ArtifactConfig {
  /** The artifact's name; defaults to {pipeline}::{step}::{output}. */
  name?: string;
  /** data (default), model, schema, statistics, service, ... */
  type?: string;
  tags?: string[];
}

export interface StepOptions {
  /** Reuse a previous run's outputs when code, parameters and inputs are unchanged; default true. */
  enableCache?: boolean;
  /** Part of the cache key: change it to force a new run of a step whose code did not change. */
  cacheVersion?: string | number;
  /**
   * The file of the module that defines the step, whose imports the cache key covers. Found
   * from the call stack of `step()` unless given (as `import.meta.url` or a path).
   */
  module?: string;
  /** Tried before the built-in materializers, for this step's outputs and inputs. */
  materializers?: Materializer[];
  /** Per output name: the artifact's name, type and tags. A single output is named `output`. */
  artifacts?: Record<string, ArtifactConfig>;
  /** Runs after the step's outputs are stored and reported, before any step that takes them. */
  onSuccess?: (outcome: StepOutcomeInfo) => void | Promise<void>;
  /** Runs after the step failed and was reported. */
  onFailure?: (outcome: StepOutcomeInfo) => void | Promise<void>;
  /**
   * Added to the run's priority: among steps waiting for a remote orchestrator's workers, higher
   * goes first. An integer from -1000 to 1000; default 0.
   */
  priority?: number;
}

export type StepFunction<I, O> = (inputs: I, context: StepContext) => O | Promise<O>;

export interface StepDefinition {
  readonly name: string;
  readonly run: StepFunction<any, unknown>;
  /** Output names; a single-output step has one, `output`. */
  readonly outputNames: readonly string[];
  readonly multipleOutputs: boolean;
  readonly options: StepOptions;
  /** The file of the module that defined the step, if known: the code its cache key covers. */
  readonly moduleFile: string | undefined;
}

export interface InvocationOptions {
  /** This invocation's name in the run, when one step is used more than once. */
  id?: string;
}

type InvocationArgs<I> = {} extends I
  ? [inputs?: StepInputs<I>, options?: InvocationOptions]
  : [inputs: StepInputs<I>, options?: InvocationOptions];

export interface Step<I, O> {
  (...args: InvocationArgs<I>): OutputRef<O>;
  readonly definition: StepDefinition;
}

export interface MultiOutputStep<I, O extends Record<string, unknown>> {
  (...args: InvocationArgs<I>): { [K in keyof O]: OutputRef<O[K]> };
  readonly definition: StepDefinition;
}

/** One use of a step inside a pipeline definition. */
export interface StepInvocation {
  readonly name: string;
  readonly definition: StepDefinition;
  /** Input name → a parameter value or a reference to another invocation's output. */
  readonly inputs: Record<string, unknown>;
  readonly parents: readonly string[];
}

const stepModuleFile = fileURLToPath(import.meta.url);

export function isOutputRef(value: unknown): value is OutputRef<unknown> {
  return typeof value === 'object' && value !== null && (value as { [outputType]?: true })[outputType] === true;
}

function outputRef(step: string, output: string): OutputRef<unknown> {
  return Object.freeze({ [outputType]: true, step, output }) as unknown as OutputRef<unknown>;
}

/** Collects invocations while a pipeline's definition runs; steps called outside one fail loudly. */
export class Composition {
  private static current: Composition | null = null;
  readonly invocations: StepInvocation[] = [];
  /** The invocations by name: a pipeline of thousands of steps composes in linear time. */
  private readonly byName = new Map<string, StepInvocation>();
  /** Per step, the suffix its next unnamed call tries first; names are only ever added, so the ones below are taken. */
  private readonly nextSuffix = new Map<string, number>();

  static collect(define: () => void): StepInvocation[] {
    if (Composition.current) throw new Error('A pipeline definition cannot run another pipeline definition');
    const composition = new Composition();
    Composition.current = composition;
    try {
      define();
    } finally {
      Composition.current = null;
    }
    if (composition.invocations.length === 0) throw new Error('The pipeline calls no steps');
    return composition.invocations;
  }

  static add(definition: StepDefinition, inputs: Record<string, unknown> = {}, options: InvocationOptions = {}): StepInvocation {
    const composition = Composition.current;
    if (!composition) {
      throw new Error(`The step "${definition.name}" was called outside a pipeline definition; call it inside pipeline(name, () => { ... })`);
    }
    const taken = composition.byName;
    let name = options.id ?? definition.name;
    if (options.id && taken.has(name)) throw new Error(`Two steps in this pipeline are named "${name}"`);
    if (!options.id && taken.has(name)) {
      let n = composition.nextSuffix.get(definition.name) ?? 2;
      while (taken.has(`${definition.name}_${n}`)) n += 1;
      name = `${definition.name}_${n}`;
      composition.nextSuffix.set(definition.name, n + 1);
    }
    const parents = new Set<string>();
    for (const [inputName, value] of Object.entries(inputs)) {
      if (!isOutputRef(value)) continue;
      const producer = taken.get(value.step);
      if (!producer || !producer.definition.outputNames.includes(value.output)) {
        throw new Error(`Input "${inputName}" of step "${name}" refers to an output this pipeline does not produce`);
      }
      parents.add(value.step);
    }
    const invocation: StepInvocation = { name, definition, inputs, parents: [...parents] };
    composition.invocations.push(invocation);
    taken.set(name, invocation);
    return invocation;
  }
}

const STEP_MODULE_FILES = Symbol.for('stackyard.stepModuleFiles');
/**
 * The modules that defined steps in this process: a worker reads their code as it loads them.
 * Kept on the global object: the worker's SDK and the one its pipelines module imports (through
 * tsx) are two instances of this module.
 */
export const stepModuleFiles: Set<string> = ((globalThis as { [STEP_MODULE_FILES]?: Set<string> })[STEP_MODULE_FILES] ??= new Set<string>());

export function step<I = {}, O = unknown>(name: string, run: StepFunction<I, O>, options?: StepOptions): Step<I, O>;
export function step<I, O extends Record<string, unknown>>(
  name: string,
  run: StepFunction<I, O>,
  options: StepOptions & { outputs: readonly (keyof O & string)[] },
): MultiOutputStep<I, O>;
/**
 * Defines a step. Its function takes one object of named inputs (other steps' outputs or
 * JSON parameters) and answers its output; with `outputs`, an object of several.
 */
export function step(name: string, run: StepFunction<any, unknown>, options: StepOptions & { outputs?: readonly string[] } = {}) {
  if (!name.trim()) throw new Error('A step needs a name');
  const outputNames = options.outputs ?? ['output'];
  if (outputNames.length === 0 || new Set(outputNames).size !== outputNames.length) {
    throw new Error(`Step "${name}": outputs must be distinct names, at least one`);
  }
  checkPriority(options.priority, `Step "${name}"`);
  const moduleFile = options.module?.startsWith('file:') ? fileURLToPath(options.module) : (options.module ?? callerModuleFile(stepModuleFile));
  const definition: StepDefinition = { name, run, outputNames, multipleOutputs: Boolean(options.outputs), options, moduleFile };
  if (moduleFile) stepModuleFiles.add(moduleFile);
  const invoke = (inputs?: Record<string, unknown>, invocationOptions?: InvocationOptions) => {
    const invocation = Composition.add(definition, inputs, invocationOptions);
    if (!definition.multipleOutputs) return outputRef(invocation.name, 'output');
    return Object.fromEntries(outputNames.map((output) => [output, outputRef(invocation.name, output)]));
  };
  return Object.assign(invoke, { definition });
}
