// The built-in flavors. A flavor belongs to one component type and declares its configuration
// as JSON Schema; settings with `writeOnly: true` are secrets, stored but never returned, and a
// URL setting with `writeOnlyPart: 'password'` keeps its password secret (see url-passwords.ts).
import { ValidationError } from '../errors';
import { assertValid, compileOnFirstUse, CONTROL_CHARACTER_RANGE, type Validator } from '../validation';
import type { ComponentType } from './component-types';
import { MASKED_PASSWORD, maskUrlPassword, urlPassword } from './url-passwords';

export interface JsonSchemaObject {
  type: 'object';
  properties: Record<string, Record<string, unknown>>;
  required?: string[];
  additionalProperties: false;
}

export interface Flavor {
  type: ComponentType;
  name: string;
  description: string;
  configSchema: JsonSchemaObject;
  /** Whether Stackyard's own SDK can run with it; other flavors are for code that runs elsewhere. */
  local: boolean;
  /** An orchestrator that runs steps on other machines than the one that submits the run. */
  runsStepsOnOtherMachines: boolean;
  /** An artifact store only the machine that wrote an artifact can read. */
  readableOnlyWhereWritten: boolean;
}

const string = (description: string, extra: Record<string, unknown> = {}) => ({ type: 'string', description, ...extra });
const secret = (description: string) => ({ type: 'string', description, writeOnly: true });
const uri = (description: string) =>
  string(description, { pattern: '^[a-zA-Z][a-zA-Z0-9+.-]*://', errorMessage: { pattern: 'must be a URL, such as https://host' } });
const remotePath = (scheme: string, description: string) =>
  string(description, {
    pattern: `^(${scheme})://`,
    minLength: 1,
    errorMessage: { pattern: `must start with ${scheme.split('|').map((name) => `${name}://`).join(' or ')}` },
  });

/** A URL of one of `schemes` whose password (redis://:password@host) is secret. */
const urlWithSecretPassword = (schemes: string, description: string) => ({
  ...remotePath(schemes, description),
  writeOnlyPart: 'password',
});

/**
 * BullMQ keeps a queue under keys that join its name with ':', so a name holding one would mix
 * with other keys; it refuses such names when it opens the queue, after the run was recorded.
 */
const QUEUE_NAME_PATTERN = `^[^:\\s${CONTROL_CHARACTER_RANGE}](?:[^:${CONTROL_CHARACTER_RANGE}]{0,98}[^:\\s${CONTROL_CHARACTER_RANGE}])?$`;

/** The longest timer Node keeps: a longer one fires at once (TimeoutOverflowWarning). */
const MAX_TIMER_SECONDS = Math.floor((2 ** 31 - 1) / 1000);

function schema(properties: JsonSchemaObject['properties'], required: string[] = []): JsonSchemaObject {
  return { type: 'object', properties, ...(required.length ? { required } : {}), additionalProperties: false };
}

const definitions: Omit<Flavor, 'local' | 'runsStepsOnOtherMachines' | 'readableOnlyWhereWritten'>[] = [
  { type: 'orchestrator', name: 'local', description: 'Runs the steps in the calling process.', configSchema: schema({}) },
  {
    type: 'orchestrator',
    name: 'bullmq',
    description: 'Runs each step as a BullMQ job on a Redis queue, taken by `stackyard worker` processes on any number of machines.',
    configSchema: schema(
      {
        redisUrl: {
          ...urlWithSecretPassword('redis|rediss', 'Redis the queue lives in, as redis://[user:password@]host[:port][/db]; its password is secret.'),
          // A host, and a database number if any: ioredis would take redis:// for the local
          // Redis of each machine, and fail a run on a database that is not a number.
          pattern: '^(redis|rediss)://[^/?#]+(/[0-9]*)?([?#].*)?$',
          errorMessage: { pattern: 'must be redis://[user:password@]host[:port][/db] or rediss://..., with db a number' },
        },
        queue: string('Name of the BullMQ queue the steps go to: up to 100 characters, no ":" (BullMQ joins its keys with it).', {
          pattern: QUEUE_NAME_PATTERN,
          default: 'stackyard',
          errorMessage: { pattern: 'must be 1 to 100 characters without ":" (BullMQ refuses it in queue names) or control characters, not starting or ending with a space' },
        }),
        attempts: { type: 'integer', minimum: 1, maximum: 100, default: 3, description: 'Times a step runs before its failure fails the run.' },
        backoffSeconds: {
          type: 'number',
          minimum: 0,
          maximum: 86400,
          default: 5,
          description: 'Wait before the first retry of a failed step, doubled for each later one; at most a day.',
        },
        stepTimeoutSeconds: {
          type: 'number',
          exclusiveMinimum: 0,
          maximum: MAX_TIMER_SECONDS,
          description: `A step running longer fails with a timeout; no limit when absent. At most ${MAX_TIMER_SECONDS} s (24.8 days), the longest timer Node keeps.`,
        },
      },
      ['redisUrl'],
    ),
  },
  {
    type: 'orchestrator',
    name: 'kubernetes',
    description: 'Runs each step as a pod in a Kubernetes cluster.',
    configSchema: schema({
      namespace: string('Namespace the step pods run in.', { default: 'stackyard' }),
      context: string('Name of the kubeconfig context to use.'),
      serviceAccountName: string('Service account the pods run as.'),
    }),
  },
  {
    type: 'orchestrator',
    name: 'airflow',
    description: 'Runs the pipeline as an Airflow DAG.',
    configSchema: schema({
      dagOutputDir: string('Directory the generated DAG files are written to.'),
      operator: string('Airflow operator that runs each step.', { enum: ['docker', 'kubernetes_pod'] }),
    }),
  },
  {
    type: 'artifact_store',
    name: 'local',
    description: 'Keeps artifacts in a directory on the machine that runs the steps.',
    configSchema: schema(
      {
        // A local store must not point at a remote scheme: that is what the remote flavors are for.
        path: string('Local directory; `~` means the home directory of the process that runs the steps.', {
          minLength: 1,
          not: { pattern: '^[a-zA-Z][a-zA-Z0-9+.-]*://' },
          errorMessage: { not: 'must be a local directory, not a URL; remote stores use the s3, gcs or azure flavor' },
        }),
      },
      ['path'],
    ),
  },
  {
    type: 'artifact_store',
    name: 's3',
    description: 'Keeps artifacts in an S3 (or S3-compatible) bucket.',
    configSchema: schema(
      {
        path: remotePath('s3', 'Bucket and prefix, as s3://bucket/prefix.'),
        region: string('AWS region of the bucket.'),
        endpointUrl: uri('Endpoint of an S3-compatible service such as MinIO.'),
        forcePathStyle: { type: 'boolean', description: 'Address the bucket in the path (http://host/bucket) rather than the host name, as MinIO and most S3-compatible services want.' },
        awsAccessKeyId: secret('Access key id. With no credentials set, the AWS SDK\'s default chain applies (environment, profile, instance role).'),
        awsSecretAccessKey: secret('Secret access key.'),
        awsSessionToken: secret('Session token for temporary credentials.'),
      },
      ['path'],
    ),
  },
  {
    type: 'artifact_store',
    name: 'gcs',
    description: 'Keeps artifacts in a Google Cloud Storage bucket.',
    configSchema: schema(
      {
        path: remotePath('gs', 'Bucket and prefix, as gs://bucket/prefix.'),
        project: string('Google Cloud project.'),
        serviceAccountJson: secret('Service account key, as JSON text.'),
      },
      ['path'],
    ),
  },
  {
    type: 'artifact_store',
    name: 'azure',
    description: 'Keeps artifacts in Azure Blob Storage.',
    configSchema: schema(
      {
        path: remotePath('az|abfs', 'Container and prefix, as az://container/prefix or abfs://container/prefix.'),
        accountName: string('Storage account name.'),
        accountKey: secret('Storage account key.'),
        sasToken: secret('Shared access signature token.'),
        connectionString: secret('Storage connection string.'),
      },
      ['path'],
    ),
  },
  {
    type: 'container_registry',
    name: 'default',
    description: 'Any registry reachable by URI.',
    configSchema: schema({ uri: string('Registry URI, such as localhost:5000.', { minLength: 1 }) }, ['uri']),
  },
  {
    type: 'container_registry',
    name: 'dockerhub',
    description: 'Docker Hub.',
    configSchema: schema(
      {
        uri: string('Registry URI, such as docker.io/myorg.', { minLength: 1 }),
        username: string('Docker Hub user.'),
        password: secret('Docker Hub password or access token.'),
      },
      ['uri'],
    ),
  },
  {
    type: 'step_operator',
    name: 'kubernetes',
    description: 'Runs single steps as Kubernetes pods.',
    configSchema: schema({ namespace: string('Namespace of the step pods.'), context: string('Kubeconfig context.') }),
  },
  {
    type: 'step_operator',
    name: 'sagemaker',
    description: 'Runs single steps as SageMaker training jobs.',
    configSchema: schema({ role: string('IAM role the jobs assume.'), instanceType: string('Instance type.') }, ['role']),
  },
  {
    type: 'experiment_tracker',
    name: 'mlflow',
    description: 'Logs parameters and metrics to an MLflow tracking server.',
    configSchema: schema(
      {
        trackingUri: string('MLflow tracking URI.', { minLength: 1 }),
        trackingUsername: string('User for a protected tracking server.'),
        trackingPassword: secret('Password for a protected tracking server.'),
        trackingToken: secret('Token for a protected tracking server.'),
      },
      ['trackingUri'],
    ),
  },
  {
    type: 'experiment_tracker',
    name: 'wandb',
    description: 'Logs runs to Weights & Biases.',
    configSchema: schema({
      entity: string('Team or user the runs belong to.'),
      projectName: string('Project the runs belong to.'),
      apiKey: secret('Weights & Biases API key.'),
    }),
  },
  {
    type: 'model_deployer',
    name: 'mlflow',
    description: 'Serves models with MLflow on the machine that deploys them.',
    configSchema: schema({ servicePath: string('Directory for the model servers.') }),
  },
  {
    type: 'model_deployer',
    name: 'seldon',
    description: 'Serves models with Seldon Core on Kubernetes.',
    configSchema: schema(
      {
        kubernetesNamespace: string('Namespace the models are deployed to.'),
        baseUrl: uri('Ingress URL of the Seldon deployment.'),
        kubernetesContext: string('Kubeconfig context.'),
      },
      ['baseUrl'],
    ),
  },
  {
    type: 'model_registry',
    name: 'mlflow',
    description: 'Registers models in an MLflow model registry.',
    configSchema: schema({ trackingUri: string('MLflow tracking URI.') }),
  },
  {
    type: 'feature_store',
    name: 'feast',
    description: 'Reads features from a Feast feature store.',
    configSchema: schema({ featureRepo: string('Path of the Feast repository.', { minLength: 1 }) }, ['featureRepo']),
  },
  {
    type: 'alerter',
    name: 'slack',
    description: 'Posts messages to a Slack channel.',
    configSchema: schema({
      defaultChannelId: string('Channel messages go to unless a step says otherwise.'),
      slackToken: secret('Slack bot token.'),
    }),
  },
  {
    type: 'annotator',
    name: 'label_studio',
    description: 'Labels data with Label Studio.',
    configSchema: schema({ instanceUrl: uri('Label Studio URL.'), apiKey: secret('Label Studio API key.') }, ['instanceUrl']),
  },
  {
    type: 'data_validator',
    name: 'great_expectations',
    description: 'Validates data with Great Expectations.',
    configSchema: schema({ contextRootDir: string('Great Expectations project directory.') }),
  },
  {
    type: 'data_validator',
    name: 'evidently',
    description: 'Profiles data and detects drift with Evidently.',
    configSchema: schema({}),
  },
  { type: 'image_builder', name: 'local', description: 'Builds images with the local Docker client.', configSchema: schema({}) },
  {
    type: 'image_builder',
    name: 'kaniko',
    description: 'Builds images inside Kubernetes with Kaniko.',
    configSchema: schema({ kubernetesContext: string('Kubeconfig context.', { minLength: 1 }) }, ['kubernetesContext']),
  },
];

const LOCAL_FLAVORS = new Set(['orchestrator/local', 'orchestrator/bullmq', 'artifact_store/local', 'artifact_store/s3', 'artifact_store/azure']);
const DISTRIBUTED_ORCHESTRATORS = new Set(['orchestrator/bullmq', 'orchestrator/kubernetes', 'orchestrator/airflow']);
const MACHINE_LOCAL_STORES = new Set(['artifact_store/local']);

export const FLAVORS: readonly Flavor[] = definitions.map((definition) => {
  const key = `${definition.type}/${definition.name}`;
  return {
    ...definition,
    local: LOCAL_FLAVORS.has(key),
    runsStepsOnOtherMachines: DISTRIBUTED_ORCHESTRATORS.has(key),
    readableOnlyWhereWritten: MACHINE_LOCAL_STORES.has(key),
  };
});

const validators = new Map<Flavor, Validator>(FLAVORS.map((flavor) => [flavor, compileOnFirstUse(flavor.configSchema)]));

export function listFlavors(type?: ComponentType | null): Flavor[] {
  return FLAVORS.filter((flavor) => !type || flavor.type === type);
}

export function findFlavor(type: ComponentType, name: string): Flavor | undefined {
  return FLAVORS.find((flavor) => flavor.type === type && flavor.name === name);
}

/** Settings that are URLs with a secret password. */
function secretPasswordFields(flavor: Flavor): string[] {
  return Object.entries(flavor.configSchema.properties)
    .filter(([, property]) => property.writeOnlyPart === 'password')
    .map(([key]) => key);
}

export function secretFields(flavor: Flavor): string[] {
  return Object.entries(flavor.configSchema.properties)
    .filter(([, property]) => property.writeOnly === true)
    .map(([key]) => key);
}

export function requireFlavor(type: ComponentType, name: string, field = 'flavor'): Flavor {
  const flavor = findFlavor(type, name);
  if (!flavor) {
    const known = listFlavors(type).map((f) => f.name).join(', ');
    throw new ValidationError(`${field} "${name}" is not a flavor of ${type}; known: ${known}`, field);
  }
  return flavor;
}

/**
 * Checks a whole configuration (secrets included) against the flavor's schema and splits it
 * into the part that may be shown and the secret part. A URL with a secret password is shown
 * with the password masked and kept whole among the secrets, which a run's process merges over
 * the configuration.
 */
export function validateConfiguration(
  flavor: Flavor,
  configuration: Record<string, unknown>,
  field = 'configuration',
  options: { keepMaskedPasswords?: boolean } = {},
): { configuration: Record<string, unknown>; secrets: Record<string, unknown>; maskedPasswords: string[] } {
  assertValid(validators.get(flavor)!, configuration, field);
  const secretKeys = new Set(secretFields(flavor));
  const passwordKeys = new Set(secretPasswordFields(flavor));
  const visible: Record<string, unknown> = {};
  const secrets: Record<string, unknown> = {};
  const maskedPasswords: string[] = [];
  for (const [key, value] of Object.entries(configuration)) {
    if (passwordKeys.has(key) && typeof value === 'string') {
      const password = urlPassword(value, `${field}.${key}`);
      if (password === MASKED_PASSWORD) {
        // The masked form is what listings and exports show; storing it would lose the real
        // password. An import may keep it to find the component it was exported from.
        if (!options.keepMaskedPasswords) {
          throw new ValidationError(`${field}.${key} holds the masked password ${MASKED_PASSWORD}; give the real password`, `${field}.${key}`);
        }
        maskedPasswords.push(key);
      }
      visible[key] = password ? maskUrlPassword(value) : value;
      if (password && password !== MASKED_PASSWORD) secrets[key] = value;
    } else {
      (secretKeys.has(key) ? secrets : visible)[key] = value;
    }
  }
  return { configuration: visible, secrets, maskedPasswords };
}
