// The dashboard's one way to ask the server: a generated document and its variables in, typed
// data out. A document goes as its persisted id, so a server in allow-list mode runs it, and
// as text to a server that does not know the id (the protocol client/stackyard-client.ts speaks).
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { print, type DocumentNode, type OperationDefinitionNode } from 'graphql';
import { persistedId, persistedQueryExtensions, serverWantsText } from '../../../client/persisted-operations';
import { StackyardError } from '../../../client/stackyard-error';
import { authorizationHeader } from './token';

export const GRAPHQL_URL = '/graphql';

/** The server wants a token, or refused the one sent: the dashboard shows its sign-in screen. */
export class UnauthenticatedError extends Error {
  override readonly name = 'UnauthenticatedError';
}

interface GraphQLErrorBody {
  message: string;
  extensions?: { code?: unknown };
}

interface ResponseBody<Result> {
  data?: Result | null;
  errors?: GraphQLErrorBody[];
}

export interface ExecuteOptions {
  /** Sign in with this token instead of the stored one (the sign-in screen's check). */
  token?: string | null;
}

export function operationName(document: DocumentNode): string {
  const operation = document.definitions.find((definition): definition is OperationDefinitionNode => definition.kind === 'OperationDefinition');
  return operation?.name?.value ?? 'anonymous';
}

export function isUnauthenticated(status: number, errors: readonly GraphQLErrorBody[] | undefined): boolean {
  return status === 401 || (errors ?? []).some((error) => error.extensions?.code === 'UNAUTHENTICATED');
}

export async function execute<Result, Variables extends Record<string, unknown>>(
  document: TypedDocumentNode<Result, Variables>,
  variables: Variables,
  options: ExecuteOptions = {},
): Promise<Result> {
  const headers = authorizationHeader(options.token);
  const id = persistedId(document);
  const asText = { query: print(document), variables };
  let answer = await post<Result>(id ? { variables, extensions: persistedQueryExtensions(id) } : asText, headers);
  if (id && !answer.body.data && serverWantsText(answer.body.errors)) {
    answer = await post<Result>(asText, headers);
  }
  const { status, body } = answer;
  const message = (body.errors ?? []).map((error) => error.message).join('; ');
  if (isUnauthenticated(status, body.errors)) throw new UnauthenticatedError(message || 'The server wants an API token');
  if (message) throw new StackyardError('ServerError', message);
  if (!body.data) throw new StackyardError('ConnectionError', `The server answered HTTP ${status} without data`);
  return body.data;
}

async function post<Result>(body: unknown, headers: Record<string, string>): Promise<{ status: number; body: ResponseBody<Result> }> {
  let response: Response;
  try {
    response = await fetch(GRAPHQL_URL, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json, application/json', ...headers },
      body: JSON.stringify(body),
    });
  } catch (error) {
    throw new StackyardError('ConnectionError', 'Cannot reach the Stackyard server', null, null, { cause: error });
  }
  const parsed = (await response.json().catch(() => null)) as ResponseBody<Result> | null;
  if (parsed === null) {
    if (response.status === 401) return { status: 401, body: {} };
    throw new StackyardError('ConnectionError', `The server answered HTTP ${response.status}, not GraphQL`);
  }
  return { status: response.status, body: parsed };
}
