// Which orchestrator implementation each flavor gets: the one place a new flavor is added.
import type { StackyardClient } from '../stackyard-client';
import { secretSettings } from './artifact-versions';
import type { BullmqSettings } from './bullmq-orchestrator';
import { UnsupportedStackError } from './errors';
import { LocalOrchestrator } from './local-orchestrator';
import type { Orchestrator } from './orchestrator';

/** A registered orchestrator component, with its secret settings when it has any. */
export interface OrchestratorComponent {
  id: string;
  name: string;
  flavorName: string;
  configuration: Record<string, unknown>;
}

type OrchestratorFactory = (component: OrchestratorComponent, settings: Record<string, unknown>) => Promise<Orchestrator>;

// BullMQ and its Redis client load only when a stack uses them.
const ORCHESTRATOR_FLAVORS: Record<string, OrchestratorFactory> = {
  local: async (component) => new LocalOrchestrator(component.name),
  bullmq: async (component, settings) => {
    const { BullmqOrchestrator } = await import('./bullmq-orchestrator');
    return new BullmqOrchestrator(component.name, settings as unknown as BullmqSettings);
  },
};

/** The orchestrator for a component; its secrets come from the server (see StackyardClient.componentSecrets). */
export async function openOrchestrator(component: OrchestratorComponent, secrets: Record<string, unknown> = {}): Promise<Orchestrator> {
  const factory = ORCHESTRATOR_FLAVORS[component.flavorName];
  if (!factory) {
    throw new UnsupportedStackError(
      `The orchestrator "${component.name}" has the flavor ${component.flavorName}, which this SDK cannot run: it runs pipelines with the local and bullmq orchestrators`,
    );
  }
  return factory(component, { ...component.configuration, ...secrets });
}

/** The orchestrator for a component, with its secret settings (a password in redisUrl, ...) read from the server. */
export async function orchestratorForComponent(client: StackyardClient, component: OrchestratorComponent & { secretsSet?: readonly string[] }): Promise<Orchestrator> {
  const secrets = await secretSettings(client, component, `orchestrator "${component.name}"`, (message) => new UnsupportedStackError(message));
  return openOrchestrator(component, secrets);
}
