// Cursors a client made up or changed: every connection answers them with its InvalidCursorError
// member, naming the argument, before the database sees them; and its own cursors still page.
import { Buffer } from 'node:buffer';
import { describe, expect, it } from 'vitest';
import { StackyardClient } from '../client';
import { databaseTargets, uniqueName, useTestServer } from './harness';

const base64 = (text: string) => Buffer.from(text).toString('base64');
const UUID = '4755ef15-121e-48bb-ad0d-5441118854f2';
const TIMESTAMP = '2026-11-30 04:30:34.478+00';

/** A cursor as the drizzle plugin writes one: `DC:` and the values of the order's columns. */
const keyset = (...values: unknown[]) => base64(`DC:${values.length === 1 ? values[0] : `T:${JSON.stringify(values)}`}`);

const connections = {
  stacks: { type: 'QueryStacksConnection', forged: [keyset('N:5'), keyset('O:{"name":"x"}'), keyset('S:a\u0000b'), keyset('S:a', 'S:b')] },
  components: {
    type: 'QueryComponentsConnection',
    forged: [keyset('S:not_a_type', 'S:x'), keyset('S:orchestrator'), keyset('S:orchestrator', 'N:1'), keyset('S:orchestrator', 'S:x', 'S:y')],
  },
  pipelines: { type: 'QueryPipelinesConnection', forged: [keyset('D:1700000000000'), keyset('Z:')] },
  artifactVersions: {
    type: 'QueryArtifactVersionsConnection',
    forged: [
      keyset('S:not a date', `S:${UUID}`),
      keyset('S:2026-02-30 00:00:00+00', `S:${UUID}`),
      keyset(`S:${TIMESTAMP}`, 'S:not-a-uuid'),
      keyset(`S:${TIMESTAMP}`),
      keyset('N:1700000000000', `S:${UUID}`),
      keyset(`S:${TIMESTAMP}`, null),
    ],
  },
} as const;
const garbage = ['garbage', base64('DC:'), base64('DC:X:1'), base64('{"f":"x","c":"y"}'), ''];

describe.each(databaseTargets)('page cursors on $name', (target) => {
  const server = useTestServer(target);

  async function page(field: string, args: string) {
    const type = connections[field as keyof typeof connections].type;
    const response = await server().request(`{ result: ${field}(${args}) { __typename ... on ${type} { totalCount edges { cursor } } ... on Error { message field } } }`);
    expect(response.errors, JSON.stringify(response.errors)).toBeUndefined();
    return response.data.result;
  }

  it('refuses garbage and forged cursors on every plain connection with InvalidCursorError', async () => {
    for (const [field, { forged }] of Object.entries(connections)) {
      for (const argument of ['after', 'before'] as const) {
        for (const cursor of [...garbage, ...forged]) {
          const result = await page(field, `first: 1, ${argument}: ${JSON.stringify(cursor)}`);
          expect(result, `${field}(${argument}: ${Buffer.from(cursor, 'base64').toString()})`).toEqual({
            __typename: 'InvalidCursorError',
            message: `${argument} is not a cursor of this connection`,
            field: argument,
          });
        }
      }
    }
  });

  it('refuses a negative page size with ValidationError', async () => {
    for (const field of Object.keys(connections)) {
      expect(await page(field, 'first: -1')).toEqual({ __typename: 'ValidationError', message: 'first must not be negative', field: 'first' });
    }
  });

  it('still pages with its own cursors', async () => {
    const client = new StackyardClient({ url: server().url, env: {} });
    await client.startRun({ pipeline: uniqueName('cursor') });
    const run = await client.startRun({ pipeline: uniqueName('cursor') });
    const step = await client.startStep({ runId: run.id, name: 'train' });
    await client.reportStepOutputs(step.id, [{ name: uniqueName('a'), uri: '/tmp/a' }, { name: uniqueName('b'), uri: '/tmp/b' }]);
    await client.registerStack({ name: uniqueName('cursor'), components: { orchestrator: 'default', artifactStore: 'default' } });
    for (const field of Object.keys(connections)) {
      const first = await page(field, 'first: 1');
      expect(first.totalCount, field).toBeGreaterThan(1);
      const second = await page(field, `first: 1, after: ${JSON.stringify(first.edges[0].cursor)}`);
      expect(second.__typename, field).toBe(connections[field as keyof typeof connections].type);
      expect(second.edges).toHaveLength(1);
      expect(second.edges[0].cursor).not.toBe(first.edges[0].cursor);
    }
  });
});

describe.each(databaseTargets)('an artifact’s versions on $name', (target) => {
  const server = useTestServer(target);

  it('refuses garbage and forged cursors with InvalidCursorError, and pages with its own', async () => {
    const client = new StackyardClient({ url: server().url, env: {} });
    const pipeline = uniqueName('versions');
    for (let report = 0; report < 2; report += 1) {
      const run = await client.startRun({ pipeline });
      await client.reportStepOutputs((await client.startStep({ runId: run.id, name: 'train' })).id, [{ name: 'model', uri: `/tmp/${report}` }]);
    }
    const versions = async (args: string) => {
      const response = await server().request(
        `query ($name: String!) { artifact(name: $name) { versions(${args}) { __typename ... on ArtifactVersionsConnection { totalCount edges { cursor node { version } } } ... on Error { field } } } }`,
        { name: `${pipeline}::train::model` },
      );
      expect(response.errors, JSON.stringify(response.errors)).toBeUndefined();
      return response.data.artifact.versions;
    };
    for (const cursor of [...garbage, keyset('S:abc', `S:${UUID}`), keyset('N:1.5', `S:${UUID}`), keyset('N:1', 'S:x'), keyset('N:1', `S:${UUID}`, 'N:2')]) {
      expect(await versions(`first: 1, after: ${JSON.stringify(cursor)}`), Buffer.from(cursor, 'base64').toString()).toEqual({ __typename: 'InvalidCursorError', field: 'after' });
    }
    const first = await versions('first: 1');
    expect(first).toMatchObject({ totalCount: 2, edges: [{ node: { version: 2 } }] });
    expect((await versions(`first: 1, after: ${JSON.stringify(first.edges[0].cursor)}`)).edges).toMatchObject([{ node: { version: 1 } }]);
  });
});

describe.each(databaseTargets)('run history cursors on $name', (target) => {
  const server = useTestServer(target);

  /** A real cursor of this order, opened: its fingerprint and the planner's position. */
  async function realCursor(orderBy: string) {
    const response = await server().request(`{ runs(first: 1, orderBy: ${orderBy}) { ... on PipelineRunConnection { edges { cursor } } } }`);
    return JSON.parse(Buffer.from(response.data.runs.edges[0].cursor, 'base64url').toString()) as { f: string; c: string };
  }

  const reseal = (fingerprint: string, position: string) => Buffer.from(JSON.stringify({ f: fingerprint, c: position })).toString('base64url');

  async function runsAfter(orderBy: string, cursor: string) {
    const response = await server().request(`{ runs(first: 1, orderBy: ${orderBy}, after: ${JSON.stringify(cursor)}) { __typename ... on Error { message field } } }`);
    expect(response.errors, JSON.stringify(response.errors)).toBeUndefined();
    return response.data.runs;
  }

  it('refuses a cursor with a valid fingerprint whose values do not fit the order', async () => {
    const client = new StackyardClient({ url: server().url, env: {} });
    await client.startRun({ pipeline: uniqueName('history') });
    const invalid = { __typename: 'InvalidCursorError', message: 'after is not a cursor of this connection', field: 'after' };
    const byTime = [
      keyset('S:yesterday', `S:${UUID}`),
      keyset('S:2026-13-01 00:00:00+00', `S:${UUID}`),
      keyset(`S:${TIMESTAMP}`, 'S:1 OR 1=1'),
      keyset(`S:${TIMESTAMP}`),
      keyset(`S:${TIMESTAMP}`, `S:${UUID}`, `S:${UUID}`),
      keyset('O:{"a":1}', `S:${UUID}`),
      keyset('N:5', `S:${UUID}`),
      keyset(`S:${TIMESTAMP}`, 'N:5'),
      keyset(`S:${TIMESTAMP}`, null),
      'not base64 of DC',
    ];
    for (const orderBy of ['{ field: CREATED }', '{ field: STARTED, direction: ASC }', '{ field: UPDATED }']) {
      const { f, c } = await realCursor(orderBy);
      expect(await runsAfter(orderBy, reseal(f, c)), 'the real cursor').toEqual({ __typename: 'PipelineRunConnection' });
      for (const forged of byTime) expect(await runsAfter(orderBy, reseal(f, forged)), `${orderBy} ${Buffer.from(forged, 'base64').toString()}`).toEqual(invalid);
    }
    const { f } = await realCursor('{ field: DURATION }');
    for (const forged of [keyset('S:5', `S:${UUID}`), keyset('N:1.5', `S:${UUID}`), keyset(`S:${TIMESTAMP}`, `S:${UUID}`), keyset('N:5', 'S:x')]) {
      expect(await runsAfter('{ field: DURATION }', reseal(f, forged)), Buffer.from(forged, 'base64').toString()).toEqual(invalid);
    }
  });

  it('refuses it in a stack’s runs too', async () => {
    const scope = await server().request('{ activeStack { runs(first: 1) { ... on PipelineRunConnection { edges { cursor } } } } }');
    const cursor = scope.data.activeStack.runs.edges[0].cursor as string;
    const { f } = JSON.parse(Buffer.from(cursor, 'base64url').toString()) as { f: string };
    const response = await server().request(`{ activeStack { runs(first: 1, after: ${JSON.stringify(reseal(f, keyset('S:not a date', `S:${UUID}`)))}) { __typename ... on Error { field } } } }`);
    expect(response.data.activeStack.runs).toEqual({ __typename: 'InvalidCursorError', field: 'after' });
  });
});
