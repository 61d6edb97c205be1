// The typed client over graphql-request: one method per thing a pipeline script or the
// CLI does. Error members of result unions are thrown as StackyardError; `request`
// gives the raw typed union to callers who prefer to switch on __typename. Generated
// operations go out as their persisted id, so a server in allow-list mode runs them.
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { Kind, print, type DocumentNode } from 'graphql';
import DataLoader from 'dataloader';
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
  /**
   * Retries for step reports (startStep, finishStep, reportStepOutputs), 2 s apart at most;
   * default `retries`. A worker sets many, so that what its steps did outlives a server restart.
   */
  reportRetries?: number;
  fetch?: typeof fetch;
  /**
   * Most step reports (startStep, finishStep, reportStepOutputs) one request carries. Reports
   * made while one request of them is in flight wait for it and then go together, as one JSON
   * array of operations (the server's serverLimits.maxBatchedOperations, 16): a process running
   * many steps at once, a worker or the local orchestrator, sends far fewer requests. 1 sends
   * each alone. Default 16.
   */
  maxBatchedReports?: number;
}

export interface RequestOptions {
  /** Retry on connection failures; only for requests that are safe to repeat. */
  retry?: boolean;
  /** How many times; the client's `retries` when absent. */
  retries?: number;
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
    const errors = error.response.errors ?? [];
    const messages = errors.map((item) => item.message).filter(Boolean);
    // The server names what another request deleted while it read the answer.
    const deleted = errors.length > 0 && errors.every((item) => item.extensions?.code === 'NOT_FOUND');
    if (deleted) return new StackyardError('NotFoundError', messages.join('; '), null, null, { cause: error });
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

/** An operation waiting to go out in a batch of step reports. */
interface BatchedOperation {
  document: TypedDocumentNode<unknown, Variables>;
  variables: Variables;
}

const DEFAULT_MAX_BATCHED_REPORTS = 16;

/** One operation's answer in a batched request's answer. */
interface BatchAnswer {
  data?: unknown;
  errors?: ClientError['response']['errors'];
}

/** The answers of a batched request's body, when it holds one per operation. */
function batchAnswers(body: string | undefined, count: number): BatchAnswer[] | undefined {
  try {
    const parsed: unknown = JSON.parse(body ?? '');
    return Array.isArray(parsed) && parsed.length === count ? (parsed as BatchAnswer[]) : undefined;
  } catch {
    return undefined;
  }
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
  private readonly reportRetries: number;
  private readonly reports: DataLoader<BatchedOperation, unknown>;
  /** Settles when the batch of reports in flight has been answered. */
  private reportsInFlight: Promise<unknown> = Promise.resolve();
  /** Set once the server refuses batched requests (one older than batching): reports go alone. */
  private batchingRefused = false;

  constructor(options: StackyardClientOptions = {}) {
    const settings = resolveConnectionSettings(options);
    this.url = settings.url;
    this.retries = options.retries ?? 4;
    this.reportRetries = options.reportRetries ?? this.retries;
    this.config = {
      headers: settings.token ? { authorization: `Bearer ${settings.token}` } : {},
      ...(options.fetch ? { fetch: options.fetch } : {}),
    };
    this.graphql = new GraphQLClient(settings.url, this.config);
    this.reports = new DataLoader((operations) => this.sendReports(operations), {
      cache: false,
      maxBatchSize: Math.max(1, options.maxBatchedReports ?? DEFAULT_MAX_BATCHED_REPORTS),
      // A batch goes once the one in flight is answered: a lone report goes at once, and reports
      // made while the server works on earlier ones go together instead of queueing there.
      batchScheduleFn: (dispatch) => void this.reportsInFlight.then(dispatch),
    });
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
      retries: options.retries ?? this.retries,
      minTimeout: 200,
      maxTimeout: 2000,
      shouldRetry: ({ error }) => isTransient(error),
    }).catch((error: unknown) => Promise.reject(connectionFailure(error, this.url)));
  }

  /**
   * A step report, an idempotent mutation: sent as `request` with retries would send it, batched
   * with the reports made while others are in flight.
   */
  private report<Result, Vars extends Variables>(document: TypedDocumentNode<Result, Vars>, variables: Vars): Promise<Result> {
    return this.reports.load({ document: document as TypedDocumentNode<unknown, Variables>, variables }) as Promise<Result>;
  }

  /** DataLoader's batch function: answers each operation's data, or its error, in order. */
  private sendReports(operations: readonly BatchedOperation[]): Promise<unknown[]> {
    const alone = (operation: BatchedOperation) =>
      this.request(operation.document, operation.variables, { retry: true, retries: this.reportRetries }).catch((error: unknown) => error as Error);
    const sent = operations.length === 1 || this.batchingRefused ? Promise.all(operations.map(alone)) : this.sendBatch(operations, alone);
    this.reportsInFlight = sent.catch(() => undefined);
    return sent;
  }

  /**
   * Sends the operations in one request, a JSON array of them (each as its persisted id), and
   * answers each one's data or error as if it had gone alone. Transient failures of the request
   * are retried as a whole: only idempotent operations are batched.
   */
  private async sendBatch(operations: readonly BatchedOperation[], alone: (operation: BatchedOperation) => Promise<unknown>): Promise<unknown[]> {
    const body = JSON.stringify(
      operations.map(({ document, variables }) => {
        const id = persistedId(document);
        const { text, operationName } = documentText(document);
        return id === undefined ? { query: text, operationName, variables } : { operationName, variables, extensions: persistedQueryExtensions(id) };
      }),
    );
    // graphql-request sends the batch and reads the answers; its body (document texts) is
    // replaced by the operations as persisted ids.
    const client = new GraphQLClient(this.url, { ...this.config, errorPolicy: 'all', requestMiddleware: (request) => ({ ...request, body }) });
    let answers: BatchAnswer[] | undefined;
    try {
      answers = await pRetry(() => client.batchRequests(operations.map(({ document, variables }) => ({ document: documentText(document).text, variables }))), {
        retries: this.reportRetries,
        minTimeout: 200,
        maxTimeout: 2000,
        shouldRetry: ({ error }) => isTransient(error),
      });
    } catch (error) {
      if (!(error instanceof ClientError) || isTransient(error)) return operations.map(() => connectionFailure(error, this.url));
      // An answer with an error status can still answer each operation (one refused with 401);
      // otherwise the request was refused before any of it ran, and each operation goes alone.
      // A server that does not take batches at all (400) gets no more of them; one that found
      // this request too large (413) still gets the next ones.
      answers = batchAnswers(error.response.body, operations.length);
      if (!answers) {
        if (error.response.status === 400) this.batchingRefused = true;
        return Promise.all(operations.map(alone));
      }
    }
    const answered = answers;
    return Promise.all(
      operations.map((operation, index) => {
        const answer = answered[index];
        if (!answer) return connectionFailure(new Error('The server answered fewer operations than the request carried'), this.url);
        if (!answer.errors?.length) return answer.data;
        // A server without the persisted operation runs it as text, as `send` does.
        if (serverWantsText(answer.errors)) return alone(operation);
        return connectionFailure(new ClientError({ data: answer.data, errors: answer.errors, status: 200, headers: new Headers(), body: '' }, { query: documentText(operation.document).text, variables: operation.variables }), this.url);
      }),
    );
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

  /** The component with this id; null when there is none (deleted, or the id names something else). */
  async componentById(id: string) {
    const found = (await this.request(ops.ComponentByIdDocument, { id }, { retry: true })).node;
    return found?.__typename === 'StackComponent' ? found : null;
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
    return expectMember((await this.report(ops.StartStepDocument, variables)).startStep, 'StepRun');
  }

  async finishStep(variables: ops.FinishStepMutationVariables) {
    return expectMember((await this.report(ops.FinishStepDocument, variables)).finishStep, 'StepRun');
  }

  async reportStepOutputs(stepRunId: string, outputs: ops.StepOutputInput[]) {
    const result = (await this.report(ops.ReportStepOutputsDocument, { stepRunId, outputs })).reportStepOutputs;
    return expectMember(result, 'ReportStepOutputsPayload').outputs;
  }

  async finishRun(variables: ops.FinishRunMutationVariables) {
    return expectMember((await this.request(ops.FinishRunDocument, variables, { retry: true })).finishRun, 'PipelineRun');
  }

  /** Stops a run that has not ended, as its user; one that has ended is refused (IllegalOperationError). Not retried: a repeat would be refused as the run has ended. */
  async stopRun(runId: string, reason?: string) {
    return expectMember((await this.request(ops.StopRunDocument, { runId, reason })).stopRun, 'PipelineRun');
  }

  /**
   * Tells the server the run waits in its orchestrator's queue with no driver following it
   * (run({ wait: false })): it is not failed for silence while its steps only wait. Retried: a
   * repeat keeps the first time.
   */
  async detachRun(runId: string) {
    return expectMember((await this.request(ops.DetachRunDocument, { runId }, { retry: true })).detachRun, 'PipelineRun');
  }

  /** Keeps the run alive on the server; answers its status and, once it has ended, endedAt. */
  async heartbeat(runId: string) {
    return expectMember((await this.request(ops.HeartbeatDocument, { runId }, { retry: true })).heartbeat, 'PipelineRun');
  }

  /** A worker process of a remote orchestrator tells the server it is alive and what it runs. */
  async workerHeartbeat(input: ops.WorkerHeartbeatInput) {
    return expectMember((await this.request(ops.WorkerHeartbeatDocument, { input }, { retry: true })).workerHeartbeat, 'Worker');
  }

  /** Workers seen within the last `seenWithinSeconds` (300 by default), by name. */
  /** Workers seen within the last `seenWithinSeconds` (300 by default); stopped ones only with includeStopped. */
  async workers(seenWithinSeconds?: number, options: { includeStopped?: boolean } = {}) {
    return (await this.request(ops.WorkersDocument, { seenWithinSeconds, includeStopped: options.includeStopped ?? false }, { retry: true })).workers;
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

  /** findRun's run with every attempt of its steps: where each ran, how long it queued, how it ended. */
  async describeRun(reference: string) {
    return expectMember((await this.request(ops.RunDescriptionDocument, { reference }, { retry: true })).runByReference, 'PipelineRun');
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
