// The component types as the CLI names them: command groups with dashes (`artifact-store`),
// words for messages, the key in a stack's components input, and ZenML's short flags.
import type { ComponentType, StackComponentsInput } from '../generated/graphql';

export interface ComponentKind {
  type: ComponentType;
  /** Command group and long stack flag: `artifact-store`. */
  command: string;
  /** For messages: `artifact store`. */
  label: string;
  /** `artifact stores`, `container registries`. */
  plural: string;
  /** With its article: `an orchestrator`, `a model registry`. */
  one: string;
  /** Key in StackComponentsInput, which is also commander's name for the long flag. */
  inputKey: keyof StackComponentsInput;
  /** ZenML's short flag in `stack register` and friends: `-a`, or `-al` for the alerter. */
  zenmlFlag: string;
}

// A Record, so the compiler insists on every type the schema has. Its order (orchestrator and
// artifact store first) is the order of stack tables and help.
const ZENML_FLAGS: Record<ComponentType, string> = {
  ORCHESTRATOR: '-o',
  ARTIFACT_STORE: '-a',
  CONTAINER_REGISTRY: '-c',
  STEP_OPERATOR: '-s',
  EXPERIMENT_TRACKER: '-e',
  MODEL_DEPLOYER: '-d',
  MODEL_REGISTRY: '-r',
  FEATURE_STORE: '-f',
  ALERTER: '-al',
  ANNOTATOR: '-an',
  DATA_VALIDATOR: '-dv',
  IMAGE_BUILDER: '-i',
};

export const COMPONENT_KINDS: readonly ComponentKind[] = Object.entries(ZENML_FLAGS).map(([type, zenmlFlag]) => {
  const words = type.toLowerCase().split('_');
  const label = words.join(' ');
  return {
    type: type as ComponentType,
    command: words.join('-'),
    label,
    plural: label.endsWith('y') ? `${label.slice(0, -1)}ies` : `${label}s`,
    one: `${/^[aeiou]/.test(label) ? 'an' : 'a'} ${label}`,
    inputKey: words.map((word, index) => (index === 0 ? word : word[0].toUpperCase() + word.slice(1))).join('') as keyof StackComponentsInput,
    zenmlFlag,
  };
});

export function componentKind(type: ComponentType): ComponentKind {
  return COMPONENT_KINDS.find((kind) => kind.type === type)!;
}

/** `Artifact store`, for the start of a sentence. */
export function capitalized(text: string): string {
  return text[0].toUpperCase() + text.slice(1);
}

/**
 * Commander takes one-letter short flags only, and would read ZenML's `-al slack` as `-a l`
 * followed by a stray `slack`. In the stack commands that take component flags, the two-letter
 * ones become their long forms before parsing.
 */
export function expandZenmlStackFlags(args: string[]): string[] {
  const stackIndex = args.indexOf('stack');
  if (stackIndex < 0 || !['register', 'update', 'remove-component'].includes(args[stackIndex + 1])) return args;
  const longFlags = new Map(COMPONENT_KINDS.filter((kind) => kind.zenmlFlag.length > 2).map((kind) => [kind.zenmlFlag, `--${kind.command}`]));
  return args.map((arg, index) => (index > stackIndex + 1 ? (longFlags.get(arg) ?? arg) : arg));
}
