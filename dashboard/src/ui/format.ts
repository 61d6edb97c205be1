// How the dashboard words the model's values: type and status names, times, sizes, JSON.
import type { ComponentType, RunStatus, StepAttemptStatus, StepStatus } from '../../../client/generated/graphql';
import type { UnstartedStepStatus } from '../../../client/unstarted-steps';

export { formatDuration } from '../../../client/format-duration';

/** Every component type, in the order the dashboard lists them, with its names. */
export const COMPONENT_TYPES: readonly { type: ComponentType; label: string; plural: string }[] = [
  { type: 'ORCHESTRATOR', label: 'Orchestrator', plural: 'Orchestrators' },
  { type: 'ARTIFACT_STORE', label: 'Artifact store', plural: 'Artifact stores' },
  { type: 'CONTAINER_REGISTRY', label: 'Container registry', plural: 'Container registries' },
  { type: 'STEP_OPERATOR', label: 'Step operator', plural: 'Step operators' },
  { type: 'EXPERIMENT_TRACKER', label: 'Experiment tracker', plural: 'Experiment trackers' },
  { type: 'MODEL_DEPLOYER', label: 'Model deployer', plural: 'Model deployers' },
  { type: 'MODEL_REGISTRY', label: 'Model registry', plural: 'Model registries' },
  { type: 'FEATURE_STORE', label: 'Feature store', plural: 'Feature stores' },
  { type: 'ALERTER', label: 'Alerter', plural: 'Alerters' },
  { type: 'ANNOTATOR', label: 'Annotator', plural: 'Annotators' },
  { type: 'DATA_VALIDATOR', label: 'Data validator', plural: 'Data validators' },
  { type: 'IMAGE_BUILDER', label: 'Image builder', plural: 'Image builders' },
];

export function componentTypeLabel(type: ComponentType): string {
  return COMPONENT_TYPES.find((entry) => entry.type === type)?.label ?? type;
}

export const RUN_STATUSES: readonly RunStatus[] = ['INITIALIZING', 'RUNNING', 'COMPLETED', 'CACHED', 'FAILED', 'STOPPED'];

export function statusLabel(status: RunStatus | StepStatus | StepAttemptStatus | UnstartedStepStatus): string {
  return status.charAt(0) + status.slice(1).toLowerCase();
}

export function formatDateTime(iso: string | null | undefined): string {
  if (!iso) return '-';
  return new Date(iso).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'medium' });
}

const relative = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' });
const UNITS: [Intl.RelativeTimeFormatUnit, number][] = [
  ['day', 86_400_000],
  ['hour', 3_600_000],
  ['minute', 60_000],
  ['second', 1000],
];

export function formatRelative(iso: string, now = Date.now()): string {
  const delta = Date.parse(iso) - now;
  const [unit, ms] = UNITS.find(([, size]) => Math.abs(delta) >= size) ?? UNITS[UNITS.length - 1];
  return relative.format(Math.round(delta / ms), unit);
}

export function formatBytes(bytes: number | null | undefined): string {
  if (bytes === null || bytes === undefined) return '-';
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}

/** A configuration or metadata value: strings as they are, everything else as JSON. */
export function formatValue(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}
