// Rules shared by every domain module: names, labels, and JSON Schema checks with readable,
// field-naming errors. Ajv is the project's one validation library.
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import ajvErrors from 'ajv-errors';
import { ValidationError } from './errors';
import { normalizeName } from './name-arguments';

export { normalizeName };

let ajv: Ajv | undefined;

/** Checks values against a JSON Schema; answers the compiled check, compiled on first use. */
export type Validator = () => ValidateFunction;

/**
 * A check of `schema` that Ajv compiles the first time it runs: compiling every schema when the
 * modules load cost the server's start-up a noticeable share (`npm run bench:start`).
 */
export function compileOnFirstUse(schema: object): Validator {
  let validate: ValidateFunction | undefined;
  return () => (validate ??= sharedAjv().compile(schema));
}

function sharedAjv(): Ajv {
  if (!ajv) {
    ajv = new Ajv({ allErrors: true, strict: true });
    // Lets a schema say in words what a failed `not` or `pattern` means, through `errorMessage`.
    ajvErrors(ajv);
    // Annotations of flavor settings (server/components/flavors.ts): a URL whose password is secret.
    ajv.addVocabulary(['writeOnlyPart']);
  }
  return ajv;
}

export const MAX_NAME_LENGTH = 255;
// Control characters (C0, DEL, C1) and the bidirectional overrides and isolates (U+202A-U+202E,
// U+2066-U+2069) make names that print differently from what they are.
export const CONTROL_CHARACTER_RANGE = '\\u0000-\\u001f\\u007f-\\u009f\\u202a-\\u202e\\u2066-\\u2069';
const CONTROL_CHARACTERS = new RegExp(`[${CONTROL_CHARACTER_RANGE}]`);
const CONTROL_CHARACTERS_MESSAGE = 'must not contain control characters such as tab, newline or a direction override';
// A lone UTF-16 surrogate (a JSON \\ud800 escape) is not text; U+FFFD is what bytes that were not
// text became on the way in. Either would be stored as something other than what was sent.
const NOT_TEXT_RANGE = '\\ud800-\\udfff\\ufffd';
const NOT_TEXT = new RegExp(`[${NOT_TEXT_RANGE}]`, 'u');
const NOT_TEXT_MESSAGE = 'must be text: no lone surrogate or U+FFFD replacement character';
/** JSON Schema of a string holding only text (Ajv compiles patterns with the u flag). */
const textSchema = { pattern: `^[^${NOT_TEXT_RANGE}]*$`, errorMessage: { pattern: NOT_TEXT_MESSAGE } };

/** JSON Schema of a tag: 1–255 characters of text, without the control characters names may not hold either. */
export const tagSchema = {
  type: 'string',
  minLength: 1,
  maxLength: MAX_NAME_LENGTH,
  allOf: [
    { type: 'string', pattern: `^[^${CONTROL_CHARACTER_RANGE}]*$`, errorMessage: { pattern: CONTROL_CHARACTERS_MESSAGE } },
    { type: 'string', ...textSchema },
  ],
};

/** Text matched literally inside a LIKE pattern: its own %, _ and \ lose their meaning. */
export function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (character) => `\\${character}`);
}

/** Normalises a name and checks the model's rules: 1–255 characters of text, no control characters. */
export function validateName(value: string, field = 'name'): string {
  const name = normalizeName(value);
  if (name.length === 0) throw new ValidationError(`${field} must not be empty`, field);
  if ([...name].length > MAX_NAME_LENGTH) {
    throw new ValidationError(`${field} must be at most ${MAX_NAME_LENGTH} characters`, field);
  }
  if (CONTROL_CHARACTERS.test(name)) {
    throw new ValidationError(`${field} ${CONTROL_CHARACTERS_MESSAGE}`, field);
  }
  if (NOT_TEXT.test(name)) throw new ValidationError(`${field} ${NOT_TEXT_MESSAGE}`, field);
  return name;
}

const labelsSchema = {
  type: 'object',
  propertyNames: { minLength: 1, maxLength: 255, ...textSchema },
  additionalProperties: { type: 'string', maxLength: 1000, ...textSchema },
};
const validateLabelsSchema = compileOnFirstUse(labelsSchema);

/**
 * Deepest nesting of objects and lists in a JSON value (labels, configuration, run config,
 * parameters, metadata), published as serverLimits.maxJsonDepth. Deeper values only ever come
 * from a mistake or an attack, and every recursive step that handles them (JSON.stringify,
 * jsonb) has to survive them.
 */
export const MAX_JSON_DEPTH = 32;

/**
 * Whether objects and lists in `value` nest deeper than `limit` levels (`{}` is one level,
 * `{"a": []}` two). A list, not recursion: the value may be deeper than the call stack.
 */
export function nestsDeeperThan(value: unknown, limit: number): boolean {
  const pending: [unknown, number][] = [[value, 0]];
  for (let item = pending.pop(); item; item = pending.pop()) {
    const [current, depth] = item;
    if (current === null || typeof current !== 'object') continue;
    if (depth === limit) return true;
    for (const child of Object.values(current)) pending.push([child, depth + 1]);
  }
  return false;
}

/** Throws a ValidationError naming `field` if a JSON value nests deeper than MAX_JSON_DEPTH. */
export function validateJsonDepth(value: unknown, field: string): void {
  if (nestsDeeperThan(value, MAX_JSON_DEPTH)) {
    throw new ValidationError(`${field} nests deeper than ${MAX_JSON_DEPTH} levels`, field);
  }
}

/** Labels are a string → string map. */
export function validateLabels(labels: unknown, field = 'labels'): Record<string, string> {
  assertValid(validateLabelsSchema, labels, field);
  return labels as Record<string, string>;
}

/** Throws a ValidationError naming the first offending field of `value`. */
export function assertValid(validator: Validator, value: unknown, field: string): void {
  const validate = validator();
  if (validate(value)) return;
  const error = pickError(validate.errors ?? []);
  throw new ValidationError(...describeError(error, field));
}

// Unknown keys and missing keys say the most about what the caller got wrong, so they go first.
function pickError(errors: ErrorObject[]): ErrorObject {
  return (
    errors.find((e) => e.keyword === 'additionalProperties') ??
    errors.find((e) => e.keyword === 'required') ??
    errors[0]
  );
}

function describeError(error: ErrorObject | undefined, root: string): [string, string] {
  if (!error) return [`${root} is invalid`, root];
  const path = [root, ...error.instancePath.split('/').slice(1).map(unescapePointer)].join('.');
  switch (error.keyword) {
    case 'additionalProperties': {
      const key = `${path}.${error.params.additionalProperty}`;
      return [`${key} is not a known setting`, key];
    }
    case 'required': {
      const key = `${path}.${error.params.missingProperty}`;
      return [`${key} is required`, key];
    }
    case 'propertyName':
      return [`${path} has an invalid key "${error.params.propertyName}"`, path];
    default:
      return [`${path} ${error.message ?? 'is invalid'}`, path];
  }
}

function unescapePointer(segment: string): string {
  return segment.replace(/~1/g, '/').replace(/~0/g, '~');
}
