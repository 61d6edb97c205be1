// Errors a user can cause. Each is a class the resolvers throw and a GraphQL type clients match
// on; anything else that goes wrong is masked by the server.
import { builder } from './builder';

export abstract class UserError extends Error {
  /** The input field at fault, as a dotted path (`configuration.region`), where one applies. */
  readonly field: string | null;

  constructor(message: string, field?: string) {
    super(message);
    this.field = field ?? null;
  }
}

/** The input is malformed or breaks a rule of the model. */
export class ValidationError extends UserError {}

/** Something the input names does not exist. */
export class NotFoundError extends UserError {}

/** The name is already used by another object of the same kind. */
export class NameTakenError extends UserError {}

/** A request asked for more than the server's published limit allows. */
export class LimitExceededError extends UserError {
  constructor(message: string, field: string, readonly limit: number) {
    super(message, field);
  }
}

/** A page cursor was used with another filter or order than the one it came from, or is corrupt. */
export class InvalidCursorError extends UserError {}

/** The operation is never allowed on this object in its current state (the default stack, say). */
export class IllegalOperationError extends UserError {}

/**
 * A retry (the same idempotency key, or the same step or output again) carried other arguments
 * than the call it repeats; `field` names the first that differs. Nothing was changed.
 */
export class IdempotencyConflictError extends UserError {}

export const ErrorInterface = builder.interfaceRef<UserError>('Error').implement({
  description: 'A failure the caller caused. Nothing was changed.',
  fields: (t) => ({
    message: t.exposeString('message'),
    field: t.exposeString('field', {
      nullable: true,
      description: 'The input field at fault, as a dotted path, where one applies.',
    }),
  }),
});

for (const [errorClass, description] of [
  [ValidationError, 'The input is malformed or breaks a rule of the model.'],
  [NotFoundError, 'Something the input names does not exist.'],
  [NameTakenError, 'The name is already taken.'],
  [IllegalOperationError, 'The operation is not allowed on this object.'],
  [InvalidCursorError, 'The cursor belongs to another filter or order, or is corrupt.'],
  [IdempotencyConflictError, 'A retry carried other arguments than the call it repeats; field names the first that differs.'],
] as const) {
  builder.objectType(errorClass, {
    name: errorClass.name,
    description,
    interfaces: [ErrorInterface],
    isTypeOf: (value) => value instanceof errorClass,
  });
}

builder.objectType(LimitExceededError, {
  name: 'LimitExceededError',
  description: "The request asked for more than the server's published limit.",
  interfaces: [ErrorInterface],
  isTypeOf: (value) => value instanceof LimitExceededError,
  fields: (t) => ({ limit: t.exposeInt('limit') }),
});

/** The error types every mutation of the registry can answer with. */
export const REGISTRY_ERRORS = [ValidationError, NotFoundError, NameTakenError, IllegalOperationError];
