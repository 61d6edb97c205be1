// Which artifact store implementation each flavor gets: the one place a new flavor is added.
import type { ArtifactStore } from './artifact-store';
import type { AzureSettings } from './azure-artifact-store';
import { UnsupportedStackError } from './errors';
import { LocalArtifactStore } from './local-artifact-store';
import type { S3Settings } from './s3-artifact-store';

/** A registered artifact store component, with its secret settings when it has any. */
export interface ArtifactStoreComponent {
  id: string;
  name: string;
  flavorName: string;
  configuration: Record<string, unknown>;
}

type StoreFactory = (component: ArtifactStoreComponent, settings: Record<string, unknown>) => Promise<ArtifactStore>;

// The cloud SDKs load only when a stack uses them: they would double a CLI command's start-up.
const STORE_FLAVORS: Record<string, StoreFactory> = {
  local: async (component, settings) => new LocalArtifactStore(component.id, component.name, String(settings.path)),
  s3: async (component, settings) => {
    const { S3ArtifactStore } = await import('./s3-artifact-store');
    return new S3ArtifactStore(component.id, component.name, settings as unknown as S3Settings);
  },
  azure: async (component, settings) => {
    const { AzureArtifactStore } = await import('./azure-artifact-store');
    return new AzureArtifactStore(component.id, component.name, settings as unknown as AzureSettings);
  },
};

/** Why a registrable flavor cannot run here. */
const REFUSED_FLAVORS: Record<string, string> = {
  gcs:
    'no Google Cloud Storage emulator runs where Stackyard is tested, so the SDK does not ship a gcs store it cannot test; ' +
    'use an s3 store (Google Cloud Storage speaks the S3 API through its interoperability endpoint)',
};

/** The store for a component; its secrets come from the server (see StackyardClient.componentSecrets). */
export async function openArtifactStore(component: ArtifactStoreComponent, secrets: Record<string, unknown> = {}): Promise<ArtifactStore> {
  const factory = STORE_FLAVORS[component.flavorName];
  if (!factory) {
    const why = REFUSED_FLAVORS[component.flavorName] ?? 'this SDK has no store of that flavor';
    throw new UnsupportedStackError(`The artifact store "${component.name}" has the flavor ${component.flavorName}, which this SDK cannot run: ${why}`);
  }
  return factory(component, { ...component.configuration, ...secrets });
}
