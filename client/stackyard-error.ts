// The one error the client throws: a typed error member of a result union, or a
// transport failure, each named by `type`.

/** Error members of the schema's result unions, plus the client's own failures. */
export type StackyardErrorType =
  | 'ValidationError'
  | 'NotFoundError'
  | 'NameTakenError'
  | 'IllegalOperationError'
  | 'LimitExceededError'
  | 'InvalidCursorError'
  | 'IdempotencyConflictError'
  /** A reference (a UUID prefix) names several objects; the message lists candidates. */
  | 'AmbiguousReferenceError'
  /** The server could not be reached, or answered something that is not GraphQL. */
  | 'ConnectionError'
  /** The server answered with GraphQL errors (a malformed request or an internal error). */
  | 'ServerError';

export class StackyardError extends Error {
  override readonly name = 'StackyardError';

  constructor(
    readonly type: StackyardErrorType,
    message: string,
    /** The input field at fault, as a dotted path, where one applies. */
    readonly field: string | null = null,
    /** For LimitExceededError: the limit that was exceeded. */
    readonly limit: number | null = null,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export interface ErrorMember {
  __typename: string;
  message: string;
  field?: string | null;
  limit?: number;
}

export function isErrorMember(value: { __typename?: string }): value is ErrorMember {
  return typeof value.__typename === 'string' && value.__typename.endsWith('Error') && 'message' in value;
}

export function stackyardErrorFrom(member: ErrorMember): StackyardError {
  return new StackyardError(member.__typename as StackyardErrorType, member.message, member.field ?? null, member.limit ?? null);
}

/** Throws the error member as a StackyardError, or answers the expected member. */
export function expectMember<T extends { __typename?: string }, Name extends string>(result: T, typename: Name): Extract<T, { __typename: Name }> {
  if (result.__typename === typename) return result as Extract<T, { __typename: Name }>;
  if (isErrorMember(result)) throw stackyardErrorFrom(result);
  throw new StackyardError('ServerError', `Expected ${typename}, got ${result.__typename ?? 'nothing'}`);
}
