// Malformed and hostile input against a running server over HTTP. Each case is data: an id, a
// sentence, and the request. Every answer must be a 4xx, or a 200 whose result is a typed error
// (or, where the case says so, an empty answer or the thing created, read back verbatim but in
// Unicode NFC, the one form of a name); never
// a 5xx, never a masked "Unexpected error.", never a stack trace or SQL. And the registry and the
// run history must be exactly as they were, except for what the succeeding cases created.
import { Buffer } from 'node:buffer';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StackyardClient } from '../client';
import { CSRF_HEADER } from '../server/plugins/use-csrf-prevention';
import { databaseTargets, uniqueName, useTestServer, type TestServer } from './harness';

/** Ids of real objects, so that cases can pass one type's id where another's is expected. */
interface Fixture {
  storeName: string;
  stackName: string;
  stackId: string;
  componentId: string;
  runId: string;
  stepRunId: string;
  artifactVersionId: string;
}

type BadRequest =
  /** A GraphQL operation, sent as the client sends one. */
  | { query: string; variables?: Record<string, unknown> }
  /** Bytes as given, with this content type. */
  | { contentType: string; body: string | Uint8Array }
  /** A GET of this document, with the CSRF header. */
  | { get: string };

/**
 * refused: a 4xx, or a 200 whose every field is an error member.
 * empty: a 200 with no errors whose fields find nothing (null, or no edges).
 * answered: a 200 with no errors.
 * created: a 200 whose field is the object created, named `name` exactly.
 */
type Outcome = { kind: 'refused' } | { kind: 'empty' } | { kind: 'answered' } | { kind: 'created'; name: string };

interface BadInputCase {
  id: string;
  sentence: string;
  request: (fixture: Fixture) => BadRequest;
  outcome?: Outcome;
}

const refused: Outcome = { kind: 'refused' };
const empty: Outcome = { kind: 'empty' };
const answered: Outcome = { kind: 'answered' };
const created = (name: string): Outcome => ({ kind: 'created', name });

const LIMIT = 1024 * 1024;
const base64 = (text: string | Uint8Array) => Buffer.from(text).toString('base64');
const MISSING_UUID = '00000000-0000-4000-8000-000000000000';

// Strings meant to break out of SQL, JSON or LIKE, used as names, labels, settings and filters.
const injections: { id: string; text: string }[] = [
  { id: 'sql-drop', text: "'; DROP TABLE stacks; --" },
  { id: 'sql-or', text: "x' OR '1'='1" },
  { id: 'sql-comment', text: 'name/* */--' },
  { id: 'sql-dollar', text: '$1 $$ $tag$' },
  { id: 'like-wildcards', text: '%_\\' },
  { id: 'like-percent', text: '%' },
  { id: 'like-underscore', text: '_' },
  { id: 'json-operator', text: '{"$ne":null}' },
  { id: 'json-path', text: "$.** ? (@ like_regex \".*\")" },
  { id: 'proto', text: '__proto__' },
];
// Characters no name, label, setting or filter may carry: text columns and jsonb refuse NUL.
const controlCharacters: { id: string; text: string }[] = [
  { id: 'nul', text: 'a\u0000b' },
  { id: 'newline', text: 'a\nb' },
  { id: 'escape', text: 'a\u001b[31mb' },
  // Shows as "invoice-exe.txt" while it is "invoice-txt.exe".
  { id: 'bidi-override', text: 'invoice-\u202etxt.exe' },
];
// Names that are valid and must come back exactly as sent.
// Strings that are not text: a lone surrogate (sent as a JSON \ud800 escape) and U+FFFD, which
// is what bytes that were not text became on the way in.
const notText: { id: string; text: string }[] = [
  { id: 'lone-high-surrogate', text: 'a\ud800b' },
  { id: 'lone-low-surrogate', text: 'a\udfff' },
  { id: 'replacement-character', text: 'a\ufffdb' },
];

// The default stack's and components' name behind whitespace that a trim removes.
const paddedDefaults: { id: string; text: string }[] = [
  { id: 'spaces', text: ' default ' },
  { id: 'no-break-space', text: 'default\u00a0' },
  { id: 'ideographic-space', text: '\u3000default' },
];

const unicodeNames: { id: string; text: string }[] = [
  { id: 'emoji', text: '🚀 launch 🧪' },
  { id: 'emoji-zwj', text: 'team-👩‍👩‍👧‍👦' },
  { id: 'rtl', text: 'מחסנית-ראשית' },
  { id: 'combining', text: 'cafe\u0301 n\u0303' },
  { id: 'cjk', text: '数据管道' },
  { id: 'max-length-emoji', text: '🦄'.repeat(255) },
];

const registerComponent = `mutation ($type: ComponentType!, $name: String!, $flavor: String!, $configuration: JSONObject, $labels: JSONObject) {
  registerComponent(type: $type, name: $name, flavor: $flavor, configuration: $configuration, labels: $labels) { __typename ... on StackComponent { name } ... on Error { message } }
}`;
const registerStack = `mutation ($name: String!, $components: StackComponentsInput!, $description: String, $labels: JSONObject) {
  registerStack(name: $name, components: $components, description: $description, labels: $labels) { __typename ... on Stack { name } ... on Error { message } }
}`;
const startRun = `mutation ($pipeline: String!, $name: String, $tags: [String!], $config: JSONObject, $stack: String) {
  startRun(pipeline: $pipeline, name: $name, tags: $tags, config: $config, stack: $stack) { __typename ... on Error { message } }
}`;
const resultOf = (field: string, args: string, vars: string) =>
  `mutation (${vars}) { ${field}(${args}) { __typename ... on Error { message field } } }`;

const store = (name: string, configuration: unknown, labels?: unknown) => ({
  query: registerComponent,
  variables: { type: 'ARTIFACT_STORE', name, flavor: 'local', configuration, labels },
});
const stack = (name: string, extra: Record<string, unknown> = {}) => ({
  query: registerStack,
  variables: { name, components: { orchestrator: 'default', artifactStore: 'default' }, ...extra },
});

/** Ids that name no object of the wanted type, by kind, given a real id of another type. */
const badIds: Record<string, (wrongType: string) => string> = {
  garbage: () => 'not an id',
  empty: () => '',
  'wrong-type': (wrongType) => wrongType,
  'base64-junk': () => base64('junk without a colon'),
  'base64-binary': () => base64(new Uint8Array([0xff, 0xfe, 0x00, 0x80])),
  'base64-no-uuid': () => base64('PipelineRun:1 OR 1=1'),
  sql: () => "'; DROP TABLE stacks; --",
  huge: () => 'A'.repeat(200_000),
};

interface IdArgument {
  /** The type the argument wants, for a well-formed id of a missing object. */
  wants: string;
  /** A real id of another type; none for node, which takes any type. */
  wrongType?: (f: Fixture) => string;
  /** The answer to a well-formed id of nothing, where it is not a refusal. */
  missing?: Outcome;
}

function idCases(): BadInputCase[] {
  const cases: BadInputCase[] = [];
  const each = (name: string, { wants, wrongType, missing }: IdArgument, request: (id: string, f: Fixture) => BadRequest, outcome: Outcome = refused) => {
    for (const [kind, badId] of Object.entries(badIds)) {
      if (kind === 'wrong-type' && !wrongType) continue;
      cases.push({ id: `id-${name}-${kind}`, sentence: `${name} with a ${kind} id`, request: (f) => request(badId(wrongType?.(f) ?? ''), f), outcome });
    }
    cases.push({
      id: `id-${name}-missing`,
      sentence: `${name} with a well-formed id of nothing`,
      request: (f) => request(base64(`${wants}:${MISSING_UUID}`), f),
      outcome: missing ?? outcome,
    });
  };
  const run: IdArgument = { wants: 'PipelineRun', wrongType: (f) => f.stepRunId };
  const step: IdArgument = { wants: 'StepRun', wrongType: (f) => f.runId };
  each('run', { wants: 'PipelineRun', wrongType: (f) => f.stackId }, (id) => ({ query: 'query ($id: ID!) { run(id: $id) { id } }', variables: { id } }), empty);
  each('node', { wants: 'PipelineRun' }, (id) => ({ query: 'query ($id: ID!) { node(id: $id) { id } }', variables: { id } }), empty);
  each('deleteRun', run, (id) => ({ query: resultOf('deleteRun', 'id: $id', '$id: ID!'), variables: { id } }));
  each('heartbeat', run, (id) => ({ query: resultOf('heartbeat', 'runId: $id', '$id: ID!'), variables: { id } }));
  each('finishRun', run, (id) => ({ query: resultOf('finishRun', 'runId: $id', '$id: ID!'), variables: { id } }));
  each('startStep', run, (id) => ({ query: resultOf('startStep', 'runId: $id, name: "s"', '$id: ID!'), variables: { id } }));
  each('finishStep', step, (id) => ({ query: resultOf('finishStep', 'stepRunId: $id, status: COMPLETED', '$id: ID!'), variables: { id } }));
  each('reportStepOutputs', step, (id) => ({
    query: resultOf('reportStepOutputs', 'stepRunId: $id, outputs: [{ name: "o", uri: "/tmp/o" }]', '$id: ID!'),
    variables: { id },
  }));
  each('finishStep-original', { wants: 'StepRun', wrongType: (f) => f.artifactVersionId }, (id, f) => ({
    query: resultOf('finishStep', 'stepRunId: $step, status: CACHED, originalStepRunId: $id', '$step: ID!, $id: ID!'),
    variables: { step: f.stepRunId, id },
  }));
  each('startStep-input', { wants: 'ArtifactVersion', wrongType: (f) => f.stepRunId }, (id, f) => ({
    query: resultOf('startStep', 'runId: $run, name: "consumer", inputs: [{ name: "data", artifactVersionId: $id }]', '$run: ID!, $id: ID!'),
    variables: { run: f.runId, id },
  }));
  each('logMetadata', { wants: 'PipelineRun', wrongType: (f) => f.stackId }, (id) => ({
    query: resultOf('logMetadata', 'id: $id, metadata: { injected: true }', '$id: ID!'),
    variables: { id },
  }));
  each('runs-stackId', { wants: 'Stack', wrongType: (f) => f.componentId, missing: empty }, (id) => ({
    query: 'query ($id: ID!) { runs(filter: { stackId: $id }) { __typename ... on PipelineRunConnection { totalCount } ... on Error { message } } }',
    variables: { id },
  }));
  return cases;
}

function nodesCases(): BadInputCase[] {
  return [
    {
      id: 'nodes-mixed',
      sentence: 'nodes with garbage, junk, empty and missing ids',
      request: () => ({ query: 'query ($ids: [ID!]!) { nodes(ids: $ids) { id } }', variables: { ids: ['garbage', base64('junk'), '', base64(`Stack:${MISSING_UUID}`), base64(`NoSuchType:${MISSING_UUID}`)] } }),
      outcome: empty,
    },
    {
      id: 'nodes-many',
      sentence: 'nodes with ten thousand ids',
      request: () => ({ query: 'query ($ids: [ID!]!) { nodes(ids: $ids) { id } }', variables: { ids: Array.from({ length: 10_000 }, (_, i) => base64(`PipelineRun:${i}`)) } }),
      outcome: empty,
    },
  ];
}

function httpCases(): BadInputCase[] {
  return [
    { id: 'json-truncated', sentence: 'a truncated JSON body', request: () => ({ contentType: 'application/json', body: '{"query": "{ activeStack { name } }"' }) },
    { id: 'json-trailing', sentence: 'JSON with a trailing comma', request: () => ({ contentType: 'application/json', body: '{"query": "{ __typename }",}' }) },
    // A JSON array is a batch of operations (test/batched-requests.test.ts); these are not.
    { id: 'json-array-empty', sentence: 'an empty JSON array body', request: () => ({ contentType: 'application/json', body: '[]' }) },
    { id: 'json-array-garbage', sentence: 'a JSON array of things that are not operations', request: () => ({ contentType: 'application/json', body: '[1, "x", null]' }) },
    { id: 'json-array-nested', sentence: 'a JSON array of arrays', request: () => ({ contentType: 'application/json', body: '[[{"query": "{ __typename }"}]]' }) },
    {
      id: 'json-array-over-limit',
      sentence: 'a batch of 10,000 operations',
      request: () => ({ contentType: 'application/json', body: JSON.stringify(Array.from({ length: 10_000 }, () => ({ query: '{ __typename }' }))) }),
    },
    { id: 'json-null', sentence: 'a JSON null body', request: () => ({ contentType: 'application/json', body: 'null' }) },
    { id: 'json-string', sentence: 'a JSON string body', request: () => ({ contentType: 'application/json', body: '"{ __typename }"' }) },
    { id: 'json-empty', sentence: 'an empty JSON body', request: () => ({ contentType: 'application/json', body: '' }) },
    { id: 'json-nul', sentence: 'a body of NUL bytes', request: () => ({ contentType: 'application/json', body: '\u0000'.repeat(64) }) },
    { id: 'json-invalid-utf8', sentence: 'a body that is not UTF-8', request: () => ({ contentType: 'application/json', body: new Uint8Array([0x7b, 0xff, 0xfe, 0x7d]) }) },
    { id: 'json-deep', sentence: 'JSON nested 100,000 levels deep', request: () => ({ contentType: 'application/json', body: '{"query":"{ __typename }","variables":' + '['.repeat(100_000) + ']'.repeat(100_000) + '}' }) },
    { id: 'query-number', sentence: 'a query that is a number', request: () => ({ contentType: 'application/json', body: '{"query": 42}' }) },
    { id: 'query-missing', sentence: 'no query at all', request: () => ({ contentType: 'application/json', body: '{"variables": {}}' }) },
    { id: 'variables-string', sentence: 'variables that are a string', request: () => ({ contentType: 'application/json', body: '{"query": "{ __typename }", "variables": "x"}' }) },
    { id: 'extra-parameter', sentence: 'an unknown top-level parameter', request: () => ({ contentType: 'application/json', body: '{"query": "{ __typename }", "documentId": "x"}' }) },
    { id: 'content-type-xml', sentence: 'an XML content type', request: () => ({ contentType: 'application/xml', body: '<query>{ __typename }</query>' }) },
    { id: 'content-type-garbage', sentence: 'a content type that is not one', request: () => ({ contentType: ';;;', body: '{"query": "{ __typename }"}' }) },
    { id: 'content-type-text', sentence: 'JSON sent as text/plain', request: () => ({ contentType: 'text/plain', body: '{"query": "{ __typename }"}' }) },
    { id: 'body-over-limit', sentence: 'a body one byte over the limit', request: () => ({ contentType: 'application/json', body: padded(LIMIT + 1) }) },
    { id: 'body-far-over-limit', sentence: 'a body of 8 MiB', request: () => ({ contentType: 'application/json', body: padded(8 * LIMIT) }) },
    { id: 'body-big-allowed', sentence: 'a body of exactly the limit', request: () => ({ contentType: 'application/json', body: padded(LIMIT) }), outcome: answered },
  ];
}

/** A JSON request of exactly `bytes` bytes, whose padding is a variable the operation ignores. */
function padded(bytes: number): string {
  const query = '{ __typename }';
  const envelope = JSON.stringify({ query, variables: { padding: '' } });
  return JSON.stringify({ query, variables: { padding: 'x'.repeat(bytes - envelope.length) } });
}

function queryShapeCases(): BadInputCase[] {
  let deep = 'name';
  for (let depth = 0; depth < 20; depth += 1) deep = `components { stacks { ${deep} } }`;
  const fragments = Array.from({ length: 50 }, (_, i) => `fragment F${i} on Query { ...F${i + 1} }`).join(' ');
  const doubling = Array.from({ length: 30 }, (_, i) => `fragment F${i} on Query { ...F${i + 1} ...F${i + 1} }`).join(' ');
  return [
    { id: 'query-deep', sentence: 'a query nested 40 levels deep', request: () => ({ query: `{ activeStack { ${deep} } }` }) },
    { id: 'query-alias-bomb', sentence: 'an alias bomb', request: () => ({ query: `{ ${Array.from({ length: 1000 }, (_, i) => `a${i}: stacks(first: 100) { ... on QueryStacksConnection { totalCount } }`).join(' ')} }` }) },
    { id: 'query-wide', sentence: 'a document of 50,000 fields', request: () => ({ query: `{ ${'__typename '.repeat(50_000)}}` }) },
    { id: 'query-fan-out', sentence: 'nested lists within the limits', request: () => ({ query: '{ stacks(first: 100) { ... on QueryStacksConnection { edges { node { components { stacks { components { stacks { components { stacks { name } } } } } } } } } } }' }), outcome: answered },
    { id: 'query-fragment-cycle', sentence: 'fragments that spread each other in a cycle', request: () => ({ query: `{ ...A } fragment A on Query { ...B } fragment B on Query { ...A }` }) },
    // Fragments cost what their fields cost, so a chain of them selecting one field is cheap.
    { id: 'query-fragment-chain', sentence: 'a chain of 50 fragments', request: () => ({ query: `{ ...F0 } ${fragments} fragment F50 on Query { __typename }` }), outcome: answered },
    { id: 'query-fragment-doubling', sentence: '30 fragments each spreading the next twice', request: () => ({ query: `{ ...F0 } ${doubling} fragment F30 on Query { stacks(first: 100) { __typename } }` }) },
    { id: 'query-directives', sentence: 'a field with 500 directives', request: () => ({ query: `{ __typename ${'@include(if: true) '.repeat(500)}}` }) },
    { id: 'query-syntax', sentence: 'a document that does not parse', request: () => ({ query: '{ stacks(first: ) {' }) },
    { id: 'query-unknown-field', sentence: 'a field the schema lacks', request: () => ({ query: '{ users { password } }' }) },
    { id: 'query-introspection-deep', sentence: 'a deep introspection query', request: () => ({ query: `{ __schema { types { fields { type { ofType { ofType { ofType { ofType { ofType { ofType { ofType { ofType { ofType { ofType { ofType { name } } } } } } } } } } } } } } }` }) },
    { id: 'page-size-huge', sentence: 'a page size of a billion', request: () => ({ query: '{ runs(first: 1000000000) { __typename ... on Error { message } } }' }) },
    { id: 'page-size-negative', sentence: 'a negative page size', request: () => ({ query: '{ runs(first: -1) { __typename ... on Error { message } } }' }) },
    { id: 'cursor-garbage', sentence: 'a cursor that is garbage', request: () => ({ query: '{ runs(after: "garbage") { __typename ... on Error { message } } }' }) },
    { id: 'cursor-forged', sentence: 'a cursor of base64 JSON with SQL in it', request: () => ({ query: `{ runs(after: "${base64('{"v":"\'; DROP TABLE stacks; --"}')}") { __typename ... on Error { message } } }` }) },
    { id: 'connection-cursor-garbage', sentence: 'a stacks cursor that is garbage', request: () => ({ query: '{ stacks(after: "garbage") { __typename ... on Error { message } } }' }) },
    { id: 'enum-wrong', sentence: 'an enum value the type lacks', request: () => ({ query: '{ flavors(type: NOT_A_TYPE) { name } }' }) },
    { id: 'variable-wrong-type', sentence: 'a variable of the wrong type', request: () => ({ query: 'query ($n: Int) { runs(first: $n) { __typename } }', variables: { n: 'ten' } }) },
    { id: 'int-overflow', sentence: 'an Int beyond 32 bits', request: () => ({ query: '{ runs(first: 99999999999) { __typename } }' }) },
    { id: 'datetime-garbage', sentence: 'a date that is not one', request: () => ({ query: '{ runs(filter: { createdAfter: "yesterday" }) { __typename } }' }) },
    { id: 'datetime-out-of-range', sentence: 'a date in year 300000', request: () => ({ query: '{ runs(filter: { createdAfter: "300000-01-01T00:00:00Z" }) { __typename ... on Error { message } } }' }) },
    { id: 'get-mutation', sentence: 'a mutation in a GET', request: () => ({ get: 'mutation { setActiveStack(name: "default") { __typename } }' }) },
  ];
}

// --- Request limits: nesting, aliases of __typename, bytes that are not UTF-8, forged cursors ---
const forgedCursors: [string, string][] = [
  ['stacks', 'DC:N:5'],
  ['components', 'DC:T:["S:not_a_type","S:x"]'],
  ['pipelines', 'DC:T:["S:a","S:b"]'],
  ['artifactVersions', `DC:T:["S:not a date","S:${MISSING_UUID}"]`],
  ['artifactVersions', 'DC:T:["S:2026-11-30 04:30:34.99+00","S:1 OR 1=1"]'],
];
function requestLimitCases(): BadInputCase[] {
  const braces = (levels: number) => `${'{ a '.repeat(levels)}${'}'.repeat(levels)}`;
  const deepJson = (levels: number) => `${'{"a":'.repeat(levels)}1${'}'.repeat(levels)}`;
  const nested = (levels: number) => JSON.parse(deepJson(levels)) as Record<string, unknown>;
  const withBytes = (bytes: number[]) => {
    const [before, after] = JSON.stringify({ query: 'query ($q: String) { stacks(nameContains: $q) { ... on QueryStacksConnection { totalCount } } }', variables: { q: '|' } }).split('|');
    return { contentType: 'application/json', body: new Uint8Array([...Buffer.from(before), ...bytes, ...Buffer.from(after)]) };
  };
  return [
    { id: 'limits-braces-5000', sentence: '5,000 nested braces', request: () => ({ query: braces(5_000) }) },
    { id: 'limits-braces-50000', sentence: '50,000 nested braces', request: () => ({ query: braces(50_000) }) },
    { id: 'limits-typename-aliases', sentence: '1,000 aliases of __typename', request: () => ({ query: `{ ${Array.from({ length: 1000 }, (_, i) => `t${i}: __typename`).join(' ')} }` }) },
    {
      id: 'limits-run-config-10000',
      sentence: 'a run config nested 10,000 levels',
      request: () => ({ contentType: 'application/json', body: `{"query": ${JSON.stringify(startRun)}, "variables": {"pipeline": "bad-input", "config": ${deepJson(10_000)}}}` }),
    },
    { id: 'limits-run-config-33', sentence: 'a run config nested 33 levels', request: () => ({ query: startRun, variables: { pipeline: 'bad-input', config: nested(33) } }) },
    { id: 'limits-labels-33', sentence: 'labels nested 33 levels', request: () => stack(uniqueName('deep'), { labels: nested(33) }) },
    { id: 'limits-configuration-33', sentence: 'a configuration nested 33 levels', request: () => store(uniqueName('deep'), { path: '/tmp/x', nested: nested(32) }) },
    { id: 'limits-metadata-33', sentence: 'metadata nested 33 levels', request: (f) => ({ query: resultOf('logMetadata', 'id: $id, metadata: $metadata', '$id: ID!, $metadata: JSONObject!'), variables: { id: f.runId, metadata: nested(33) } }) },
    { id: 'limits-variables-deep', sentence: 'an unused variable nested 100 levels, which nothing reads', request: () => ({ query: '{ __typename }', variables: { unused: nested(100) } }), outcome: answered },
    { id: 'limits-variable-config-100', sentence: 'a run config nested 100 levels, as a variable', request: () => ({ query: 'mutation ($config: JSONObject!) { startRun(pipeline: "bad-input", config: $config) { __typename ... on Error { message } } }', variables: { config: nested(100) } }) },
    { id: 'limits-utf8-ff-fe-c3', sentence: 'the bytes FF FE C3 in a body', request: () => withBytes([0xff, 0xfe, 0xc3]) },
    { id: 'limits-utf8-overlong', sentence: 'the overlong C0 AF in a body', request: () => withBytes([0xc0, 0xaf]) },
    ...forgedCursors.map(([connection, cursor]) => ({
      id: `limits-cursor-${connection}-${cursor}`,
      sentence: `${connection} after the forged cursor ${cursor}`,
      request: () => ({ query: `{ ${connection}(after: "${base64(cursor)}") { __typename ... on Error { message } } }` }),
    })),
  ];
}
// --- End of request limits -------------------------------------------------------------------

function nameCases(): BadInputCase[] {
  const cases: BadInputCase[] = [];
  const tooLong = 'a'.repeat(256);
  const tooLongEmoji = '🦄'.repeat(256);
  for (const [id, name] of [['256', tooLong], ['256-emoji', tooLongEmoji], ['empty', ''], ['blank', '   ']] as const) {
    cases.push(
      { id: `name-${id}-component`, sentence: `registerComponent with a ${id} name`, request: () => store(name, { path: '/tmp/x' }) },
      { id: `name-${id}-stack`, sentence: `registerStack with a ${id} name`, request: () => stack(name) },
      { id: `name-${id}-rename-stack`, sentence: `renameStack to a ${id} name`, request: (f) => ({ query: resultOf('renameStack', 'name: $name, newName: $newName', '$name: String!, $newName: String!'), variables: { name: f.stackName, newName: name } }) },
      { id: `name-${id}-copy-stack`, sentence: `copyStack to a ${id} name`, request: (f) => ({ query: resultOf('copyStack', 'name: $name, newName: $newName', '$name: String!, $newName: String!'), variables: { name: f.stackName, newName: name } }) },
      { id: `name-${id}-rename-component`, sentence: `renameComponent to a ${id} name`, request: (f) => ({ query: resultOf('renameComponent', 'type: ARTIFACT_STORE, name: $name, newName: $newName', '$name: String!, $newName: String!'), variables: { name: f.storeName, newName: name } }) },
      { id: `name-${id}-pipeline`, sentence: `startRun of a pipeline with a ${id} name`, request: () => ({ query: startRun, variables: { pipeline: name } }) },
      { id: `name-${id}-run`, sentence: `startRun with a ${id} run name`, request: () => ({ query: startRun, variables: { pipeline: 'bad-input', name } }) },
      { id: `name-${id}-step`, sentence: `startStep with a ${id} name`, request: (f) => ({ query: resultOf('startStep', 'runId: $id, name: $name', '$id: ID!, $name: String!'), variables: { id: f.runId, name } }) },
      { id: `name-${id}-output`, sentence: `reportStepOutputs with a ${id} output name`, request: (f) => ({ query: resultOf('reportStepOutputs', 'stepRunId: $id, outputs: [{ name: $name, uri: "/tmp/o" }]', '$id: ID!, $name: String!'), variables: { id: f.stepRunId, name } }) },
    );
  }
  for (const { id, text } of controlCharacters) {
    cases.push(
      { id: `control-${id}-component-name`, sentence: `a component name with ${id}`, request: () => store(text, { path: '/tmp/x' }) },
      { id: `control-${id}-stack-name`, sentence: `a stack name with ${id}`, request: () => stack(text) },
      { id: `control-${id}-run-tag`, sentence: `a run tag with ${id}`, request: () => ({ query: startRun, variables: { pipeline: 'bad-input', tags: [text] } }) },
      {
        id: `control-${id}-artifact-tag`,
        sentence: `an artifact tag with ${id}`,
        request: (f) => ({ query: resultOf('reportStepOutputs', 'stepRunId: $id, outputs: [{ name: "tagged", uri: "/tmp/o", tags: [$tag] }]', '$id: ID!, $tag: String!'), variables: { id: f.stepRunId, tag: text } }),
      },
    );
  }
  for (const { id, text } of notText) {
    cases.push(
      { id: `not-text-${id}-component-name`, sentence: `a component name with a ${id}`, request: () => store(text, { path: '/tmp/x' }) },
      { id: `not-text-${id}-stack-name`, sentence: `a stack name with a ${id}`, request: () => stack(text) },
      { id: `not-text-${id}-label-key`, sentence: `a label key with a ${id}`, request: () => stack(uniqueName('not-text'), { labels: { [text]: 'x' } }) },
      { id: `not-text-${id}-label-value`, sentence: `a label value with a ${id}`, request: () => store(uniqueName('not-text'), { path: '/tmp/x' }, { team: text }) },
      { id: `not-text-${id}-run-tag`, sentence: `a run tag with a ${id}`, request: () => ({ query: startRun, variables: { pipeline: 'bad-input', tags: [text] } }) },
      { id: `not-text-${id}-pipeline`, sentence: `a pipeline name with a ${id}`, request: () => ({ query: startRun, variables: { pipeline: text } }) },
      {
        id: `not-text-${id}-artifact-tag`,
        sentence: `an artifact tag with a ${id}`,
        request: (f) => ({ query: resultOf('reportStepOutputs', 'stepRunId: $id, outputs: [{ name: "tagged", uri: "/tmp/o", tags: [$tag] }]', '$id: ID!, $tag: String!'), variables: { id: f.stepRunId, tag: text } }),
      },
    );
  }
  for (const { id, text } of paddedDefaults) {
    const named = (field: string, args: string, extra: Record<string, unknown> = {}, vars = '') => ({
      query: resultOf(field, args, `$name: String!${vars}`),
      variables: { name: text, ...extra },
    });
    cases.push(
      { id: `padded-default-${id}-delete-stack`, sentence: `deleteStack of the default stack with ${id}`, request: () => named('deleteStack', 'name: $name, recursive: true') },
      { id: `padded-default-${id}-rename-stack`, sentence: `renameStack of the default stack with ${id}`, request: () => named('renameStack', 'name: $name, newName: $newName', { newName: uniqueName('hijack') }, ', $newName: String!') },
      { id: `padded-default-${id}-update-stack`, sentence: `updateStack of the default stack with ${id}`, request: () => named('updateStack', 'name: $name, description: "hijacked"') },
      {
        id: `padded-default-${id}-update-component`,
        sentence: `updateComponent of the default artifact store with ${id}`,
        request: () => named('updateComponent', 'type: ARTIFACT_STORE, name: $name, configuration: { path: "/tmp/hijacked" }'),
      },
      {
        id: `padded-default-${id}-rename-component`,
        sentence: `renameComponent of the default orchestrator with ${id}`,
        request: () => named('renameComponent', 'type: ORCHESTRATOR, name: $name, newName: $newName', { newName: uniqueName('hijack') }, ', $newName: String!'),
      },
      { id: `padded-default-${id}-register-stack`, sentence: `registerStack named default with ${id}`, request: () => stack(text) },
    );
  }
  cases.push(
    {
      id: 'control-nul-literal',
      sentence: 'NUL in a string literal of the document',
      request: () => ({ query: 'mutation { registerComponent(type: ARTIFACT_STORE, name: "nul-literal", flavor: "local", configuration: { path: "/tmp/a\\u0000b" }) { __typename } }' }),
    },
    { id: 'control-nul-label-value', sentence: 'a label value with NUL', request: () => store(uniqueName('nul'), { path: '/tmp/x' }, { team: 'a\u0000b' }) },
    { id: 'control-nul-label-key', sentence: 'a label key with NUL', request: () => store(uniqueName('nul'), { path: '/tmp/x' }, { 'a\u0000b': 'x' }) },
    { id: 'control-nul-setting', sentence: 'a setting with NUL', request: () => store(uniqueName('nul'), { path: '/tmp/a\u0000b' }) },
    { id: 'control-nul-description', sentence: 'a stack description with NUL', request: () => stack(uniqueName('nul'), { description: 'a\u0000b' }) },
    { id: 'control-nul-run-config', sentence: 'a run config with NUL', request: () => ({ query: startRun, variables: { pipeline: 'bad-input', config: { 'k\u0000': 'v\u0000' } } }) },
    { id: 'control-nul-metadata', sentence: 'metadata with NUL', request: (f) => ({ query: resultOf('logMetadata', 'id: $id, metadata: $metadata', '$id: ID!, $metadata: JSONObject!'), variables: { id: f.runId, metadata: { 'k\u0000': 'v\u0000' } } }) },
    { id: 'control-nul-error-message', sentence: 'a step error message with NUL', request: (f) => ({ query: resultOf('finishStep', 'stepRunId: $id, status: FAILED, errorMessage: $message', '$id: ID!, $message: String'), variables: { id: f.stepRunId, message: 'a\u0000b' } }) },
    { id: 'control-nul-stack-filter', sentence: 'a stack name filter with NUL', request: () => ({ query: 'query ($q: String) { stacks(nameContains: $q) { ... on QueryStacksConnection { totalCount } } }', variables: { q: 'a\u0000b' } }) },
    { id: 'control-nul-stack-lookup', sentence: 'a stack looked up by a name with NUL', request: () => ({ query: 'query ($q: String!) { stack(name: $q) { id } }', variables: { q: 'a\u0000b' } }) },
    { id: 'control-nul-run-filter', sentence: 'run filters with NUL', request: () => ({ query: 'query ($q: String) { runs(filter: { nameContains: $q, pipeline: $q, stackName: $q, tags: [$q] }) { __typename ... on PipelineRunConnection { totalCount } ... on Error { message } } }', variables: { q: 'a\u0000b' } }) },
    { id: 'control-nul-cache-key', sentence: 'a cache key with NUL', request: () => ({ query: 'query ($q: String!) { cachedStepRun(cacheKey: $q) { id } }', variables: { q: 'a\u0000b' } }) },
  );
  return cases;
}

function injectionCases(): BadInputCase[] {
  const cases: BadInputCase[] = [];
  for (const { id, text } of injections) {
    cases.push(
      { id: `inject-${id}-stack-filter`, sentence: `stacks(nameContains:) of ${id}`, request: () => ({ query: 'query ($q: String) { stacks(nameContains: $q) { ... on QueryStacksConnection { totalCount } } }', variables: { q: text } }), outcome: empty },
      { id: `inject-${id}-component-filter`, sentence: `components(nameContains:, flavor:) of ${id}`, request: () => ({ query: 'query ($q: String) { components(nameContains: $q, flavor: $q) { ... on QueryComponentsConnection { totalCount } } }', variables: { q: text } }), outcome: empty },
      {
        id: `inject-${id}-run-filter`,
        sentence: `runs(filter:) of ${id}`,
        request: () => ({ query: 'query ($q: String!) { runs(filter: { nameContains: $q, pipeline: $q, stackName: $q, tags: [$q], component: { type: ORCHESTRATOR, name: $q } }) { __typename ... on PipelineRunConnection { totalCount } ... on Error { message } } }', variables: { q: text } }),
        outcome: empty,
      },
      { id: `inject-${id}-artifact-filter`, sentence: `artifactVersions(name:, tags:) of ${id}`, request: () => ({ query: 'query ($q: String!) { artifactVersions(name: $q, type: $q, tags: [$q]) { ... on QueryArtifactVersionsConnection { totalCount } } }', variables: { q: text } }), outcome: empty },
      { id: `inject-${id}-stack-lookup`, sentence: `stack(name:) of ${id}`, request: () => ({ query: 'query ($q: String!) { stack(name: $q) { id } }', variables: { q: text } }), outcome: empty },
      { id: `inject-${id}-set-active`, sentence: `setActiveStack of ${id}`, request: () => ({ query: resultOf('setActiveStack', 'name: $q', '$q: String!'), variables: { q: text } }) },
      { id: `inject-${id}-delete-stack`, sentence: `deleteStack of ${id}`, request: () => ({ query: resultOf('deleteStack', 'name: $q, recursive: true', '$q: String!'), variables: { q: text } }) },
      { id: `inject-${id}-stack-component`, sentence: `registerStack with a component named ${id}`, request: () => ({ query: registerStack, variables: { name: uniqueName('inject'), components: { orchestrator: text, artifactStore: 'default' } } }) },
      { id: `inject-${id}-flavor`, sentence: `registerComponent of flavor ${id}`, request: () => ({ query: registerComponent, variables: { type: 'ARTIFACT_STORE', name: uniqueName('inject'), flavor: text } }) },
      { id: `inject-${id}-setting-key`, sentence: `a setting named ${id}`, request: () => store(uniqueName('inject'), { path: '/tmp/x', [text]: 'x' }) },
      { id: `inject-${id}-label-object`, sentence: `a label whose value is JSON, not a string, beside ${id}`, request: () => store(uniqueName('inject'), { path: '/tmp/x' }, { [text]: { $ne: null } }) },
      { id: `inject-${id}-import`, sentence: `importStack of YAML naming ${id}`, request: () => ({ query: resultOf('importStack', 'yaml: $yaml', '$yaml: String!'), variables: { yaml: `name: ${JSON.stringify(uniqueName('import'))}\ncomponents:\n  orchestrator: { name: ${JSON.stringify(text)}, flavor: nope }\n` } }) },
    );
  }
  return cases;
}

function configurationCases(): BadInputCase[] {
  const wrong: { id: string; flavor: string; type: string; configuration: unknown }[] = [
    { id: 'path-number', flavor: 'local', type: 'ARTIFACT_STORE', configuration: { path: 42 } },
    { id: 'path-boolean', flavor: 'local', type: 'ARTIFACT_STORE', configuration: { path: true } },
    { id: 'path-null', flavor: 'local', type: 'ARTIFACT_STORE', configuration: { path: null } },
    { id: 'path-array', flavor: 'local', type: 'ARTIFACT_STORE', configuration: { path: ['/tmp'] } },
    { id: 'path-object', flavor: 'local', type: 'ARTIFACT_STORE', configuration: { path: { $ne: null } } },
    { id: 'path-empty', flavor: 'local', type: 'ARTIFACT_STORE', configuration: { path: '' } },
    { id: 'path-url', flavor: 'local', type: 'ARTIFACT_STORE', configuration: { path: 's3://bucket' } },
    { id: 'path-missing', flavor: 'local', type: 'ARTIFACT_STORE', configuration: {} },
    { id: 'unknown-setting', flavor: 'local', type: 'ARTIFACT_STORE', configuration: { path: '/tmp', extra: 1 } },
    { id: 'prototype-setting', flavor: 'local', type: 'ARTIFACT_STORE', configuration: JSON.parse('{"path": "/tmp", "__proto__": {"admin": true}}') },
    { id: 's3-region-number', flavor: 's3', type: 'ARTIFACT_STORE', configuration: { path: 's3://b', region: 5 } },
    { id: 'kubernetes-namespace-array', flavor: 'kubernetes', type: 'ORCHESTRATOR', configuration: { namespace: ['a'] } },
    { id: 'airflow-operator-enum', flavor: 'airflow', type: 'ORCHESTRATOR', configuration: { operator: "docker'; --" } },
    { id: 'flavor-of-other-type', flavor: 'kubernetes', type: 'ARTIFACT_STORE', configuration: { path: '/tmp' } },
  ];
  const cases: BadInputCase[] = wrong.map(({ id, flavor, type, configuration }) => ({
    id: `configuration-${id}`,
    sentence: `registerComponent of ${type} ${flavor} with ${id}`,
    request: () => ({ query: registerComponent, variables: { type, name: uniqueName('config'), flavor, configuration } }),
  }));
  cases.push(
    {
      id: 'configuration-deep',
      sentence: 'a configuration nested 50,000 levels deep',
      request: () => ({
        contentType: 'application/json',
        body: `{"query": ${JSON.stringify(registerComponent)}, "variables": {"type": "ARTIFACT_STORE", "name": "deep", "flavor": "local", "configuration": {"path": "/tmp", "nested": ${'{"a":'.repeat(50_000)}1${'}'.repeat(50_000)}}}}`,
      }),
    },
    { id: 'configuration-array', sentence: 'a configuration that is an array', request: () => ({ query: registerComponent, variables: { type: 'ARTIFACT_STORE', name: uniqueName('config'), flavor: 'local', configuration: [{ path: '/tmp' }] } }) },
    { id: 'configuration-string', sentence: 'a configuration that is a string', request: () => ({ query: registerComponent, variables: { type: 'ARTIFACT_STORE', name: uniqueName('config'), flavor: 'local', configuration: '{"path":"/tmp"}' } }) },
    { id: 'labels-number', sentence: 'labels whose values are numbers', request: () => store(uniqueName('labels'), { path: '/tmp' }, { team: 1 }) },
    { id: 'labels-array', sentence: 'labels that are an array', request: () => store(uniqueName('labels'), { path: '/tmp' }, ['team']) },
    { id: 'labels-empty-key', sentence: 'a label with an empty key', request: () => store(uniqueName('labels'), { path: '/tmp' }, { '': 'x' }) },
    { id: 'update-wrong-type', sentence: 'updateComponent setting a path to a number', request: (f) => ({ query: resultOf('updateComponent', 'type: ARTIFACT_STORE, name: $name, configuration: { path: 42 }', '$name: String!'), variables: { name: f.storeName } }) },
    { id: 'update-remove-required', sentence: 'updateComponent removing the required path', request: (f) => ({ query: resultOf('updateComponent', 'type: ARTIFACT_STORE, name: $name, configuration: { path: null }', '$name: String!'), variables: { name: f.storeName } }) },
    { id: 'run-tags-too-many', sentence: 'a run with 1,000 tags', request: () => ({ query: startRun, variables: { pipeline: 'bad-input', tags: Array.from({ length: 1000 }, (_, i) => `t${i}`) } }) },
    { id: 'run-stack-missing', sentence: 'a run on a stack that does not exist', request: () => ({ query: startRun, variables: { pipeline: 'bad-input', stack: uniqueName('missing') } }) },
    { id: 'output-uri-huge', sentence: 'an output whose uri is 100,000 characters', request: (f) => ({ query: resultOf('reportStepOutputs', 'stepRunId: $id, outputs: [{ name: "o", uri: $uri }]', '$id: ID!, $uri: String!'), variables: { id: f.stepRunId, uri: `/tmp/${'u'.repeat(100_000)}` } }) },
    { id: 'output-size-negative', sentence: 'an output of negative size', request: (f) => ({ query: resultOf('reportStepOutputs', 'stepRunId: $id, outputs: [{ name: "o", uri: "/tmp/o", sizeBytes: -1 }]', '$id: ID!'), variables: { id: f.stepRunId } }) },
    { id: 'output-too-many', sentence: '101 outputs in one report', request: (f) => ({ query: resultOf('reportStepOutputs', 'stepRunId: $id, outputs: $outputs', '$id: ID!, $outputs: [StepOutputInput!]!'), variables: { id: f.stepRunId, outputs: Array.from({ length: 101 }, (_, i) => ({ name: `o${i}`, uri: `/tmp/${i}` })) } }) },
    { id: 'finish-cached-without-original', sentence: 'finishStep CACHED without the original step', request: (f) => ({ query: resultOf('finishStep', 'stepRunId: $id, status: CACHED', '$id: ID!'), variables: { id: f.stepRunId } }) },
    { id: 'finish-cached-from-itself', sentence: 'finishStep CACHED from itself', request: (f) => ({ query: resultOf('finishStep', 'stepRunId: $id, status: CACHED, originalStepRunId: $id', '$id: ID!'), variables: { id: f.stepRunId } }) },
    { id: 'import-yaml-bomb', sentence: 'importStack of a YAML alias bomb', request: () => ({ query: resultOf('importStack', 'yaml: $yaml', '$yaml: String!'), variables: { yaml: yamlBomb() } }) },
    { id: 'import-yaml-garbage', sentence: 'importStack of text that is not YAML', request: () => ({ query: resultOf('importStack', 'yaml: $yaml', '$yaml: String!'), variables: { yaml: '{{{ :: ]]' } }) },
  );
  return cases;
}

function yamlBomb(): string {
  const lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
  for (let level = 1; level < 9; level += 1) {
    const previous = String.fromCharCode(96 + level);
    const name = String.fromCharCode(97 + level);
    lines.push(`${name}: &${name} [${Array(9).fill(`*${previous}`).join(',')}]`);
  }
  return `${lines.join('\n')}\nname: bomb\ncomponents: *i\n`;
}

function succeedingCases(): BadInputCase[] {
  const cases: BadInputCase[] = [];
  for (const { id, text } of [...unicodeNames, ...injections]) {
    cases.push(
      { id: `valid-${id}-component`, sentence: `a component named ${id}`, request: () => store(text, { path: `/tmp/${text}` }, { [text]: text }), outcome: created(text.normalize('NFC')) },
      { id: `valid-${id}-stack`, sentence: `a stack named ${id}`, request: () => stack(text, { description: text, labels: { [text]: text } }), outcome: created(text.normalize('NFC')) },
    );
  }
  cases.push({ id: 'valid-255', sentence: 'a stack name of exactly 255 characters', request: () => stack('b'.repeat(255)), outcome: created('b'.repeat(255)) });
  return cases;
}

// One query per kind, each within the server's cost limit.
const snapshotQueries = {
  stacks: '{ stacks(first: 100) { ... on QueryStacksConnection { totalCount edges { node { id name description labels isDefault isActive createdAt updatedAt components { id name } } } } } }',
  components: '{ components(first: 100) { ... on QueryComponentsConnection { totalCount edges { node { id type name flavorName configuration labels secretsSet isDefault createdAt updatedAt } } } } }',
  pipelines: '{ pipelines(first: 100) { ... on QueryPipelinesConnection { totalCount edges { node { id name } } } } }',
  runs: `{ runs(first: 100) { ... on PipelineRunConnection { totalCount edges { node {
    id name status statusReason tags config metadata createdAt updatedAt endedAt lastHeartbeatAt stack { id } expectedSteps { name parents }
    steps { id name status errorMessage metadata parameters cacheKey endedAt } } } } } }`,
  artifactVersions: '{ artifactVersions(first: 100) { ... on QueryArtifactVersionsConnection { totalCount edges { node { id name version uri type metadata tags sizeBytes producer { id } } } } } }',
};

interface Snapshot {
  stacks: { name: string }[];
  components: { name: string }[];
  rest: unknown;
}

async function snapshot(server: TestServer): Promise<Snapshot> {
  const pages = await Promise.all(Object.entries(snapshotQueries).map(async ([kind, query]) => {
    const connection = (await server.gql(query))[kind] as { totalCount: number; edges: { node: any }[] };
    expect(connection.edges.length, 'the snapshot must fit in one page').toBe(connection.totalCount);
    return connection.edges.map((edge) => edge.node);
  }));
  const [stacks, components, pipelines, runs, artifactVersions] = pages;
  return { stacks, components, rest: { pipelines, runs, artifactVersions } };
}

interface Answer {
  status: number;
  text: string;
  json?: { data?: Record<string, unknown> | null; errors?: { message: string }[] };
}

async function send(server: TestServer, request: BadRequest): Promise<Answer> {
  const url = `${server.url}/graphql`;
  let response: Response;
  if ('query' in request) {
    response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json' },
      body: JSON.stringify(request),
    });
  } else if ('get' in request) {
    response = await fetch(`${url}?query=${encodeURIComponent(request.get)}`, { headers: { [CSRF_HEADER]: '1' } });
  } else {
    response = await fetch(url, { method: 'POST', headers: { 'content-type': request.contentType }, body: request.body as BodyInit });
  }
  const text = await response.text();
  let json: Answer['json'];
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: response.status, text, json };
}

// What must never reach a client: a masked internal error, stack frames, source paths, SQL.
const LEAKS = [
  /\bat [\w.<>$]+ \(/,
  /node_modules|\.ts:\d+|file:\/\//,
  /drizzle|pglite|postgres/i,
  /\b(relation|column) "/,
  /syntax error at/i,
  /violates .* constraint/i,
  /\bselect\b[^"]*\bfrom\b/i,
  /\binsert into\b/i,
  /Unexpected error/,
];

function expectHandled(answer: Answer, outcome: Outcome): void {
  expect(answer.status, answer.text.slice(0, 500)).toBeLessThan(500);
  for (const leak of LEAKS) expect(answer.text, `leaks ${leak}`).not.toMatch(leak);
  if (answer.status >= 400) {
    expect(outcome.kind, `refused with ${answer.status}: ${answer.text.slice(0, 300)}`).toBe('refused');
    // Yoga answers an unsupported media type (415) with no body; any other 4xx says why.
    if (answer.status !== 415) expect(answer.json?.errors?.length, 'a 4xx carries GraphQL errors').toBeGreaterThan(0);
    return;
  }
  expect(answer.status).toBe(200);
  expect(answer.json?.errors, answer.text.slice(0, 500)).toBeUndefined();
  const fields = Object.values(answer.json?.data ?? {});
  expect(fields.length).toBeGreaterThan(0);
  for (const field of fields) {
    const value = field as { __typename?: string; name?: string; totalCount?: number } | null;
    if (outcome.kind === 'refused') expect(value?.__typename, JSON.stringify(value)).toMatch(/Error$/);
    if (outcome.kind === 'empty') {
      if (Array.isArray(value)) expect(value.every((item) => item === null)).toBe(true);
      else if (value && 'totalCount' in value) expect(value.totalCount).toBe(0);
      else if (value?.__typename) expect(value.__typename).toMatch(/Error$|Connection$/);
      else expect(value).toBeNull();
    }
    if (outcome.kind === 'created') expect(value).toMatchObject({ name: outcome.name });
  }
}

const refusedCases = [...httpCases(), ...queryShapeCases(), ...idCases(), ...nodesCases(), ...nameCases(), ...injectionCases(), ...configurationCases(), ...requestLimitCases()];

describe.each(databaseTargets)('bad input on $name', (target) => {
  const testServer = useTestServer(target);
  let server: TestServer;
  let fixture: Fixture;
  let before: Snapshot;
  const configDir = mkdtempSync(join(tmpdir(), 'stackyard-bad-input-'));

  beforeAll(async () => {
    server = testServer();
    const client = new StackyardClient({ url: server.url, configDir, env: {} });
    const storeName = uniqueName('bad-input-store');
    const component = await client.registerComponent({ type: 'ARTIFACT_STORE', name: storeName, flavor: 'local', configuration: { path: '/tmp/bad-input' } });
    const stackName = uniqueName('bad-input-stack');
    const registered = await client.registerStack({ name: stackName, components: { orchestrator: 'default', artifactStore: storeName } });
    const run = await client.startRun({ pipeline: 'bad-input', stack: stackName, steps: [{ name: 'train' }] });
    const step = await client.startStep({ runId: run.id, name: 'train' });
    const [output] = await client.reportStepOutputs(step.id, [{ name: 'model', uri: '/tmp/bad-input/model', tags: ["it's", '%_'] }]);
    fixture = { storeName, stackName, stackId: registered.id, componentId: component.id, runId: run.id, stepRunId: step.id, artifactVersionId: output.artifactVersion.id };
    before = await snapshot(server);
  });
  afterAll(() => rmSync(configDir, { recursive: true, force: true }));

  for (const { id, sentence, request, outcome } of refusedCases) {
    it(`${id}: ${sentence}`, async () => {
      expectHandled(await send(server, request(fixture)), outcome ?? refused);
    });
  }

  it('nodes answers each id its own node, and null for the bad ids among them', async () => {
    const ids = ['garbage', fixture.stackId, base64(`NoSuchType:${MISSING_UUID}`), fixture.runId, fixture.stepRunId];
    const { nodes } = await server.gql('query ($ids: [ID!]!) { nodes(ids: $ids) { id } }', { ids });
    expect(nodes).toEqual([null, { id: fixture.stackId }, null, { id: fixture.runId }, { id: fixture.stepRunId }]);
  });

  it('finds a tag with a quote or LIKE wildcards in it, literally', async () => {
    const query = 'query ($tags: [String!]) { artifactVersions(tags: $tags) { ... on QueryArtifactVersionsConnection { totalCount } } }';
    expect(await server.gql(query, { tags: ["it's"] })).toEqual({ artifactVersions: { totalCount: 1 } });
    expect(await server.gql(query, { tags: ["it's", '%_'] })).toEqual({ artifactVersions: { totalCount: 1 } });
    expect(await server.gql(query, { tags: ['%'] })).toEqual({ artifactVersions: { totalCount: 0 } });
  });

  it('changed nothing in the registry or the run history', async () => {
    expect(await snapshot(server)).toEqual(before);
  });

  const succeeding = succeedingCases();
  for (const { id, sentence, request, outcome } of succeeding) {
    it(`${id}: accepts ${sentence} and stores it verbatim`, async () => {
      const answer = await send(server, request(fixture));
      expectHandled(answer, outcome!);
      const name = (outcome as { name: string }).name;
      const stored = await server.gql('query ($name: String!) { stack(name: $name) { name description labels } component(type: ARTIFACT_STORE, name: $name) { name labels configuration } }', { name });
      expect(stored.stack?.name ?? stored.component?.name).toBe(name);
    });
  }

  it('changed nothing but adding what the succeeding cases created', async () => {
    const names = new Set(succeeding.map((item) => (item.outcome as { name: string }).name));
    const after = await snapshot(server);
    expect({
      stacks: after.stacks.filter((item) => !names.has(item.name)),
      components: after.components.filter((item) => !names.has(item.name)),
      rest: after.rest,
    }).toEqual(before);
    expect(after.stacks.length + after.components.length).toBe(before.stacks.length + before.components.length + succeeding.length);
  });
});
