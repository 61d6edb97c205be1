// Parsers for what people type beyond commander's declared options: labels, and flavor settings
// given as `--KEY=VALUE` or `--KEY VALUE`, named in kebab-, snake- or camelCase.
import { InvalidArgumentError } from 'commander';

/** The largest GraphQL Int, which every count the CLI sends must fit. */
const MAX_GRAPHQL_INT = 2_147_483_647;

/**
 * Commander parser for a whole number from `min` to `max`, written in decimal digits: Number()
 * would also take 1e2, 0x10 or 1.0, which nobody means as a count.
 */
export function wholeNumberIn(min: number, max: number): (text: string) => number {
  return (text) => {
    const value = /^\s*\d+\s*$/.test(text) ? Number(text) : Number.NaN;
    if (!(value >= min && value <= max)) throw new InvalidArgumentError(`Expected a whole number from ${min} to ${max}.`);
    return value;
  };
}

/** Commander parser for a whole number from 1 to `max`. */
export function positiveIntegerUpTo(max: number): (text: string) => number {
  return wholeNumberIn(1, max);
}

/** Commander parser for a count such as `--limit` or `--seen-within`. */
export const positiveInteger = positiveIntegerUpTo(MAX_GRAPHQL_INT);

/** Commander collector for a repeatable `--label key=value`. */
export function collectLabel(text: string, labels: Record<string, string>): Record<string, string> {
  const index = text.indexOf('=');
  if (index <= 0) throw new InvalidArgumentError('Expected key=value.');
  return { ...labels, [text.slice(0, index)]: text.slice(index + 1) };
}

/** Commander collector for a repeatable option such as `--remove-attr KEY`. */
export function collectValues(text: string, values: string[]): string[] {
  return [...values, text];
}

/** A flavor setting as typed; `true` for a bare `--flag` with no value. */
export interface SettingArg {
  flag: string;
  text: string | true;
}

/**
 * Splits what commander leaves over when a command allows unknown options (its operands and the
 * options it did not know) into operands and settings. `--key` takes the next argument as its
 * value unless that is another long option, so `--offset -5` works and a bare `--flag` is true.
 */
export function splitSettingArgs(args: string[]): { operands: string[]; settings: SettingArg[] } {
  const operands: string[] = [];
  const settings: SettingArg[] = [];
  for (let index = 0; index < args.length; index++) {
    const arg = args[index];
    if (arg === '--') {
      operands.push(...args.slice(index + 1));
      break;
    }
    if (arg.startsWith('--')) {
      const body = arg.slice(2);
      const equals = body.indexOf('=');
      if (equals > 0) settings.push({ flag: body.slice(0, equals), text: body.slice(equals + 1) });
      else if (index + 1 < args.length && !args[index + 1].startsWith('--')) settings.push({ flag: body, text: args[++index] });
      else settings.push({ flag: body, text: true });
    } else if (arg.startsWith('-') && arg.length > 1) {
      throw new Error(`Unknown option ${arg}; flavor settings are given as --KEY=VALUE`);
    } else {
      operands.push(arg);
    }
  }
  return { operands, settings };
}

type SchemaProperties = Record<string, { type?: unknown }>;

function schemaProperties(configSchema: Record<string, unknown> | undefined): SchemaProperties {
  return (configSchema?.properties ?? {}) as SchemaProperties;
}

/**
 * The flavor's name for a setting typed on the command line: `endpoint-url` and `endpoint_url`
 * become `endpointUrl` when the flavor has that setting. Anything else is kept as typed, so the
 * server's "not a known setting" error names what the person wrote.
 */
export function settingKey(flag: string, configSchema: Record<string, unknown> | undefined): string {
  const properties = schemaProperties(configSchema);
  if (Object.hasOwn(properties, flag)) return flag;
  const camel = flag.replace(/[-_]+([^-_])/g, (_, letter: string) => letter.toUpperCase());
  return Object.hasOwn(properties, camel) ? camel : flag;
}

/**
 * A configuration from settings. Values are JSON when they parse as JSON (numbers, booleans,
 * objects, arrays), else text; a setting the flavor declares as a string always keeps the text,
 * so `--namespace 2024` stays "2024".
 */
export function flavorConfiguration(settings: SettingArg[], configSchema: Record<string, unknown> | undefined): Record<string, unknown> {
  const properties = schemaProperties(configSchema);
  const configuration: Record<string, unknown> = {};
  for (const { flag, text } of settings) {
    const key = settingKey(flag, configSchema);
    configuration[key] = text === true || properties[key]?.type === 'string' ? text : parseJsonOrText(text);
  }
  return configuration;
}

function parseJsonOrText(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
