// The typed client over graphql-request: one method per thing a pipeline script or the
// CLI does. Error members of result unions are thrown as StackyardError; `request`
// gives the raw typed union to callers who prefer to switch on __typename. Generated
// operations go out as their persisted id, so a server in allow-list mode runs them.
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { Kind, print, type DocumentNode } from 'graphql';
import { ClientError, GraphQLClient, type RequestMiddleware } from 'graphql-request';
import pRetry from 'p-retry';
import { resolveConnectionSettings, type ConnectionOptions } from './connection-settings';
import { persistedId, persistedQueryExtensions, serverWantsText } from './persisted-operations';
import { StackyardError, expectMember } from './stackyard-error';

export { expectMember };
import * as ops from './generated/graphql';
import { ArtifactHandle } from './sdk/artifact-versions';
import type { Materializer } from './sdk/materializers';

type Variables = Record<string, unknown>;
type Typed = { __typename?: string };

export interface StackyardClientOptions extends ConnectionOptions {
  /** Retries for idempotent requests when the server cannot be reached; default 4. */
  retries?: number;
  fetch?: typeof fetch;
}

export interface RequestOptions {
  /** Retry on connection failures; only for requests that are safe to repeat. */
  retry?: boolean;
}

/** The member of a result union with this __typename. */
export type Member<T, Name extends string> = Extract<T, { __typename: Name }>;

export interface PageOptions {
  /** Items per request; the server caps it at serverLimits.maxPageSize. */
  pageSize?: number;
}

interface Page<Node> {
  pageInfo: { hasNextPage: boolean; endCursor?: string | null };
  edges: { node: Node }[];
}

/** Walks a connection page by page, fetching the next page only when the caller reads on. */
export async function* allPages<Node>(fetchPage: (after: string | undefined) => Promise<Page<Node>>): AsyncGenerator<Node> {
  let after: string | undefined;
  for (;;) {
    const page = await fetchPage(after);
    for (const edge of page.edges) yield edge.node;
    if (!page.pageInfo.hasNextPage || !page.pageInfo.endCursor) return;
    after = page.pageInfo.endCursor;
  }
}

function connectionFailure(error: unknown, url: string): StackyardError {
  if (error instanceof StackyardError) return error;
  if (error instanceof ClientError) {
    const messages = error.response.errors?.map((item) => item.message).filter(Boolean) ?? [];
    if (messages.length > 0) return new StackyardError('ServerError', messages.join('; '), null, null, { cause: error });
    return new StackyardError('ConnectionError', `${url} answered HTTP ${error.response.status}`, null, null, { cause: error });
  }
  const reason = error instanceof Error ? ((error.cause as Error | undefined)?.message ?? error.message) : String(error);
  return new StackyardError('ConnectionError', `Cannot reach the Stackyard server at ${url}: ${reason}; start one with \`npm start\` or set STACKYARD_URL`, null, null, {
    cause: error,
  });
}

/** Replaces the document text with its persisted id, in the persisted-query protocol's field. */
function sendPersistedId(id: string, operationName: string | undefined): RequestMiddleware {
  return (request) => {
    const { query: _text, ...body } = JSON.parse(String(request.body)) as Record<string, unknown>;
    return { ...request, body: JSON.stringify({ ...body, operationName, extensions: persistedQueryExtensions(id) }) };
  };
}

/**
 * A generated document's text and operation name, worked out once: given the document itself,
 * graphql-request prints it on every request (half a millisecond of a worker's CPU per step).
 */
const documentTexts = new WeakMap<DocumentNode, { text: string; operationName: string | undefined }>();
function documentText(document: DocumentNode) {
  let found = documentTexts.get(document);
  if (!found) {
    const operation = document.definitions.find((definition) => definition.kind === Kind.OPERATION_DEFINITION);
    found = { text: print(document), operationName: operation?.name?.value };
    documentTexts.set(document, found);
  }
  return found;
}

/** The server refused the persisted id before running anything: see serverWantsText. */
function isUnknownPersistedId(error: unknown): boolean {
  return error instanceof ClientError && !error.response.data && serverWantsText(error.response.errors);
}

function isTransient(error: unknown): boolean {
  if (error instanceof ClientError) return [502, 503, 504].includes(error.response.status);
  return error instanceof TypeError; // fetch's network failures
}

export class StackyardClient {
  readonly url: string;
  private readonly config: ConstructorParameters<typeof GraphQLClient>[1];
  private readonly graphql: GraphQLClient;
  private readonly retries: number;

  constructor(options: StackyardClientOptions = {}) {
    const settings = resolveConnectionSettings(options);
    this.url = settings.url;
    this.retries = options.retries ?? 4;
    this.config = {
      headers: settings.token ? { authorization: `Bearer ${settings.token}` } : {},
      ...(options.fetch ? { fetch: options.fetch } : {}),
    };
    this.graphql = new GraphQLClient(settings.url, this.config);
  }

  /** The headers every request carries (the token's), for requests outside graphql-request such as subscriptions. */
  get headers(): Record<string, string> {
    return { ...(this.config?.headers as Record<string, string> | undefined) };
  }

  /** Sends one operation and answers its typed data, result unions untouched. */
  async request<Result, Vars extends Variables>(
    document: TypedDocumentNode<Result, Vars>,
    variables: Vars,
    options: RequestOptions = {},
  ): Promise<Result> {
    const send = () => this.send(document, variables);
    if (!options.retry) return send().catch((error: unknown) => Promise.reject(connectionFailure(error, this.url)));
    return pRetry(send, {
      retries: this.retries,
      minTimeout: 200,
      maxTimeout: 2000,
      shouldRetry: ({ error }) => isTransient(error),
    }).catch((error: unknown) => Promise.reject(connectionFailure(error, this.url)));
  }

  /** Sends a generated document as its persisted id, and as text to a server that lacks the id. */
  private async send<Result, Vars extends Variables>(document: TypedDocumentNode<Result, Vars>, variables: Vars): Promise<Result> {
    const sendWith = (client: GraphQLClient): Promise<Result> => (client.request as (doc: TypedDocumentNode<Result, Vars>, vars: Vars) => Promise<Result>)(document, variables);
    const id = persistedId(document);
    if (id === undefined) return sendWith(this.graphql);
    try {
      const { text, operationName } = documentText(document);
      const client = new GraphQLClient(this.url, { ...this.config, excludeOperationName: true, requestMiddleware: sendPersistedId(id, operationName) });
      return await (client.request as (doc: string, vars: Vars) => Promise<Result>)(text, variables);
    } catch (error) {
      if (!isUnknownPersistedId(error)) throw error;
      return sendWith(this.graphql);
    }
  }

  // Components

  async flavors(type?: ops.ComponentType) {
    return (await this.request(ops.FlavorsDocument, { type }, { retry: true })).flavors;
  }

  /** Every component, by type and then name, fetched page by page. */
  components(filter: Omit<ops.ComponentsQueryVariables, 'first' | 'after'> = {}, options: PageOptions = {}) {
    return allPages(async (after) =>
      expectMember((await this.request(ops.ComponentsDocument, { ...filter, first: options.pageSize, after }, { retry: true })).components, 'QueryComponentsConnection'),
    );
  }

  async getComponent(type: ops.ComponentType, name: string) {
    return (await this.request(ops.ComponentDocument, { type, name }, { retry: true })).component ?? null;
  }

  async registerComponent(variables: ops.RegisterComponentMutationVariables) {
    return expectMember((await this.request(ops.RegisterComponentDocument, variables)).registerComponent, 'StackComponent');
  }

  /** Merges settings and labels into the current ones; a key set to null is removed. */
  async updateComponent(variables: ops.UpdateComponentMutationVariables) {
    return expectMember((await this.request(ops.UpdateComponentDocument, variables)).updateComponent, 'StackComponent');
  }

  async renameComponent(variables: ops.RenameComponentMutationVariables) {
    return expectMember((await this.request(ops.RenameComponentDocument, variables)).renameComponent, 'StackComponent');
  }

  async deleteComponent(variables: ops.DeleteComponentMutationVariables) {
    return expectMember((await this.request(ops.DeleteComponentDocument, variables)).deleteComponent, 'DeleteComponentPayload');
  }

  /**
   * A component's decrypted secret settings, for the process that runs steps with it. Only
   * editor, admin and service-account tokens may read them; never log what this answers.
   */
  async componentSecrets(id: string): Promise<Record<string, unknown>> {
    return ((await this.request(ops.ComponentSecretsDocument, { id }, { retry: true })).componentSecrets as Record<string, unknown> | null) ?? {};
  }

  // Stacks

  stacks(filter: Omit<ops.StacksQueryVariables, 'first' | 'after'> = {}, options: PageOptions = {}) {
    return allPages(async (after) =>
      expectMember((await this.request(ops.StacksDocument, { ...filter, first: options.pageSize, after }, { retry: true })).stacks, 'QueryStacksConnection'),
    );
  }

  async getStack(name: string) {
    return (await this.request(ops.StackDocument, { name }, { retry: true })).stack ?? null;
  }

  async getActiveStack() {
    return (await this.request(ops.ActiveStackDocument, {}, { retry: true })).activeStack;
  }

  async setActiveStack(name: string) {
    return expectMember((await this.request(ops.SetActiveStackDocument, { name }, { retry: true })).setActiveStack, 'Stack');
  }

  async registerStack(variables: ops.RegisterStackMutationVariables) {
    return expectMember((await this.request(ops.RegisterStackDocument, variables)).registerStack, 'Stack');
  }

  async updateStack(variables: ops.UpdateStackMutationVariables) {
    return expectMember((await this.request(ops.UpdateStackDocument, variables)).updateStack, 'Stack');
  }

  async removeStackComponents(name: string, types: ops.ComponentType[]) {
    return expectMember((await this.request(ops.RemoveStackComponentsDocument, { name, types })).removeStackComponents, 'Stack');
  }

  async renameStack(name: string, newName: string) {
    return expectMember((await this.request(ops.RenameStackDocument, { name, newName })).renameStack, 'Stack');
  }

  async copyStack(name: string, newName: string) {
    return expectMember((await this.request(ops.CopyStackDocument, { name, newName })).copyStack, 'Stack');
  }

  async deleteStack(name: string, options: { recursive?: boolean } = {}) {
    return expectMember((await this.request(ops.DeleteStackDocument, { name, recursive: options.recursive ?? false })).deleteStack, 'DeleteStackPayload');
  }

  /** The stack and its components as YAML, without secrets. */
  async exportStack(name: string): Promise<string> {
    return expectMember((await this.request(ops.ExportStackDocument, { name }, { retry: true })).exportStack, 'ExportStackPayload').yaml;
  }

  async importStack(yaml: string, name?: string) {
    return expectMember((await this.request(ops.ImportStackDocument, { yaml, name })).importStack, 'ImportStackPayload');
  }

  // Users and tokens

  /** The caller, as the server sees its token. */
  async me() {
    return (await this.request(ops.MeDocument, {}, { retry: true })).me;
  }

  async users() {
    return (await this.request(ops.UsersDocument, {}, { retry: true })).users;
  }

  async createUser(name: string, role: ops.UserRole) {
    return expectMember((await this.request(ops.CreateUserDocument, { name, role })).createUser, 'User');
  }

  async deleteUser(name: string) {
    return expectMember((await this.request(ops.DeleteUserDocument, { name })).deleteUser, 'DeleteUserPayload');
  }

  /** The caller's tokens, or another user's (admins only). */
  async apiTokens(userName?: string) {
    return (await this.request(ops.ApiTokensDocument, { userName }, { retry: true })).apiTokens;
  }

  /** A new token, for the caller or (admins only) another user; the token text is shown only here. */
  async createApiToken(variables: ops.CreateApiTokenMutationVariables) {
    return expectMember((await this.request(ops.CreateApiTokenDocument, variables)).createApiToken, 'CreatedApiToken');
  }

  async revokeApiToken(id: string) {
    return expectMember((await this.request(ops.RevokeApiTokenDocument, { id }, { retry: true })).revokeApiToken, 'ApiToken');
  }

  // Runs. Every reporting mutation is idempotent on the server, so each is retried.

  async serverLimits() {
    return (await this.request(ops.ServerLimitsDocument, {}, { retry: true })).serverLimits;
  }

  async startRun(variables: ops.StartRunMutationVariables) {
    const retry = Boolean(variables.idempotencyKey);
    return expectMember((await this.request(ops.StartRunDocument, variables, { retry })).startRun, 'PipelineRun');
  }

  async startStep(variables: ops.StartStepMutationVariables) {
    return expectMember((await this.request(ops.StartStepDocument, variables, { retry: true })).startStep, 'StepRun');
  }

  async finishStep(variables: ops.FinishStepMutationVariables) {
    return expectMember((await this.request(ops.FinishStepDocument, variables, { retry: true })).finishStep, 'StepRun');
  }

  async reportStepOutputs(stepRunId: string, outputs: ops.StepOutputInput[]) {
    const result = (await this.request(ops.ReportStepOutputsDocument, { stepRunId, outputs }, { retry: true })).reportStepOutputs;
    return expectMember(result, 'ReportStepOutputsPayload').outputs;
  }

  async finishRun(variables: ops.FinishRunMutationVariables) {
    return expectMember((await this.request(ops.FinishRunDocument, variables, { retry: true })).finishRun, 'PipelineRun');
  }

  async heartbeat(runId: string) {
    return expectMember((await this.request(ops.HeartbeatDocument, { runId }, { retry: true })).heartbeat, 'PipelineRun');
  }

  /** A worker process of a remote orchestrator tells the server it is alive and what it runs. */
  async workerHeartbeat(input: ops.WorkerHeartbeatInput) {
    return expectMember((await this.request(ops.WorkerHeartbeatDocument, { input }, { retry: true })).workerHeartbeat, 'Worker');
  }

  /** Workers seen within the last `seenWithinSeconds` (300 by default), by name. */
  async workers(seenWithinSeconds?: number) {
    return (await this.request(ops.WorkersDocument, { seenWithinSeconds }, { retry: true })).workers;
  }

  async logMetadata(id: string, metadata: Record<string, unknown>) {
    return expectMember((await this.request(ops.LogMetadataDocument, { id, metadata }, { retry: true })).logMetadata, 'LogMetadataPayload');
  }

  /** Records metric points of a run's step; safe to retry, the server keeps a point once. */
  async logMetrics(runId: string, stepRunId: string | null, points: ops.MetricPointInput[]) {
    return expectMember((await this.request(ops.LogMetricsDocument, { runId, stepRunId, points }, { retry: true })).logMetrics, 'LogMetricsPayload');
  }

  async compareRuns(ids: string[]) {
    return expectMember((await this.request(ops.CompareRunsDocument, { ids }, { retry: true })).compareRuns, 'RunComparison');
  }

  /** A page of a step run's log: from `offset` on, back from `before`, or the tail without either. */
  async stepLog(stepRunId: string, page: { offset?: number | null; before?: number | null; limit?: number | null } = {}) {
    return expectMember((await this.request(ops.StepLogDocument, { stepRunId, ...page }, { retry: true })).stepLog, 'StepLogPage');
  }

  async deleteRun(id: string) {
    return expectMember((await this.request(ops.DeleteRunDocument, { id }, { retry: true })).deleteRun, 'DeleteRunPayload');
  }

  /** Artifacts by name, fetched page by page as the caller reads. */
  artifacts(filter: Omit<ops.ArtifactsQueryVariables, 'first' | 'after'> = {}, options: PageOptions = {}) {
    return allPages(async (after) =>
      expectMember((await this.request(ops.ArtifactsDocument, { ...filter, first: options.pageSize, after }, { retry: true })).artifacts, 'QueryArtifactsConnection'),
    );
  }

  /** Versions of artifacts (of one, given its name), newest first. */
  artifactVersions(filter: Omit<ops.ArtifactVersionsQueryVariables, 'first' | 'after'> = {}, options: PageOptions = {}) {
    return allPages(async (after) =>
      expectMember(
        (await this.request(ops.ArtifactVersionsDocument, { ...filter, first: options.pageSize, after }, { retry: true })).artifactVersions,
        'QueryArtifactVersionsConnection',
      ),
    );
  }

  /** One version of the artifact of this name; the latest when version is null. */
  async artifactVersion(name: string, version: number | null = null) {
    return (await this.request(ops.ArtifactVersionByNameDocument, { name, version }, { retry: true })).artifactVersion ?? null;
  }

  /**
   * A named artifact, to load from any script through the store that wrote it:
   * `client.artifact('churn_model').latest().load()` or `.version(3).load()`.
   */
  artifact(name: string, options: { materializers?: Materializer[] } = {}): ArtifactHandle {
    return new ArtifactHandle(this, name, options.materializers);
  }

  async cachedStepRun(cacheKey: string) {
    return (await this.request(ops.CachedStepRunDocument, { cacheKey }, { retry: true })).cachedStepRun ?? null;
  }

  async getRun(id: string) {
    return (await this.request(ops.RunDocument, { id }, { retry: true })).run ?? null;
  }

  /** The run with this name, global id, UUID or unique UUID prefix; throws NotFoundError or AmbiguousReferenceError. */
  async findRun(reference: string) {
    return expectMember((await this.request(ops.RunByReferenceDocument, { reference }, { retry: true })).runByReference, 'PipelineRun');
  }

  /** One page of pipelines by name, each with its run counts per status. */
  async pipelinesPage(variables: ops.PipelineListQueryVariables = {}) {
    return expectMember((await this.request(ops.PipelineListDocument, variables, { retry: true })).pipelines, 'QueryPipelinesConnection');
  }

  /** A pipeline with its run counts per status and its newest runs; null when there is none of that name. */
  async describePipeline(name: string, lastRuns: number) {
    const found = (await this.request(ops.PipelineDescriptionDocument, { name, lastRuns }, { retry: true })).pipeline;
    return found ? { ...found, runs: expectMember(found.runs, 'PipelineRunConnection').edges.map((edge) => edge.node) } : null;
  }

  /** One page of run history, newest first unless ordered otherwise. */
  async runsPage(variables: ops.RunsQueryVariables = {}) {
    return expectMember((await this.request(ops.RunsDocument, variables, { retry: true })).runs, 'PipelineRunConnection');
  }

  /** All runs matching the filter, fetched page by page as the caller reads. */
  runs(query: Omit<ops.RunsQueryVariables, 'first' | 'after'> = {}, options: PageOptions = {}) {
    return allPages((after) => this.runsPage({ ...query, first: options.pageSize, after }));
  }
}
