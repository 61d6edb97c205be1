// Materializers turn a step's output value into bytes for the artifact store and back.
// The built-ins cover bytes, strings, JSON values, and files and directories (streamed);
// users add their own per step.
import type { Readable } from 'node:stream';
import { TextDecoder } from 'node:util';
import { directoryMaterializer, fileMaterializer } from './path-materializers';

export interface Materializer<T = unknown> {
  /** Recorded on each artifact version, so a later step or run knows how to load it. */
  readonly name: string;
  /** The file the value is stored in, inside the output's directory in the store. */
  readonly fileName: string;
  canHandle(value: unknown): value is T;
  /** What the value is, as shown in the dashboard: json, string, bytes, or a class name. */
  dataType(value: T): string;
  /** The bytes to store; a stream for values too big to hold in memory. */
  save(value: T): Uint8Array | Readable | Promise<Uint8Array | Readable>;
  load(data: Uint8Array): T | Promise<T>;
  /**
   * Loads from the stored bytes as they stream, instead of load() on them all in memory. The
   * stream fails at its end when the bytes do not match their recorded size and hash.
   */
  loadStream?(stream: Readable): Promise<T>;
  /** Facts about the value worth recording on its artifact version. */
  metadata?(value: T): Record<string, unknown>;
}

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** True for values that survive JSON.stringify and JSON.parse unchanged. */
export function isJsonValue(value: unknown, seen = new Set<object>()): value is JsonValue {
  if (value === null || typeof value === 'boolean' || typeof value === 'string') return true;
  if (typeof value === 'number') return Number.isFinite(value);
  if (typeof value !== 'object' || seen.has(value)) return false;
  const prototype = Object.getPrototypeOf(value);
  if (!Array.isArray(value) && prototype !== Object.prototype && prototype !== null) return false;
  seen.add(value);
  const items = Array.isArray(value) ? value : Object.values(value);
  const ok = items.every((item) => isJsonValue(item, seen));
  seen.delete(value);
  return ok;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

export const bytesMaterializer: Materializer<Uint8Array> = {
  name: 'stackyard.bytes',
  fileName: 'data.bin',
  canHandle: (value): value is Uint8Array => value instanceof Uint8Array,
  dataType: () => 'bytes',
  save: (value) => value,
  load: (data) => data,
};

export const stringMaterializer: Materializer<string> = {
  name: 'stackyard.string',
  fileName: 'data.txt',
  canHandle: (value): value is string => typeof value === 'string',
  dataType: () => 'string',
  save: (value) => Buffer.from(value, 'utf8'),
  load: (data) => utf8.decode(data),
  metadata: (value) => ({ length: value.length }),
};

export const jsonMaterializer: Materializer<JsonValue> = {
  name: 'stackyard.json',
  fileName: 'data.json',
  canHandle: (value): value is JsonValue => isJsonValue(value),
  dataType: (value) => (Array.isArray(value) ? 'json-array' : value === null ? 'json-null' : `json-${typeof value}`),
  save: (value) => Buffer.from(JSON.stringify(value), 'utf8'),
  load: (data) => JSON.parse(utf8.decode(data)) as JsonValue,
  metadata: (value) => (Array.isArray(value) ? { length: value.length } : {}),
};

export const BUILT_IN_MATERIALIZERS: readonly Materializer[] = [bytesMaterializer, stringMaterializer, jsonMaterializer, fileMaterializer, directoryMaterializer] as Materializer[];

function describe(value: unknown): string {
  if (value === undefined) return 'undefined';
  if (typeof value !== 'object' || value === null) return typeof value;
  return (value as object).constructor?.name ?? 'object';
}

/** The first materializer, the step's own before the built-ins, that handles the value. */
export function materializerFor(value: unknown, own: readonly Materializer[], where: string): Materializer {
  const found = [...own, ...BUILT_IN_MATERIALIZERS].find((materializer) => materializer.canHandle(value));
  if (!found) {
    throw new Error(
      `${where} returned a ${describe(value)}, which no materializer can store; ` +
        'return JSON values, strings, bytes or a LocalPath, or give the step a materializer for it',
    );
  }
  return found;
}
