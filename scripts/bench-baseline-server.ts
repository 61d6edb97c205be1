// The hand-written baseline `npm run bench:http` measures Stackyard against: node:http and `pg`,
// one SQL statement per request that builds the whole response body with json_agg, answering the
// benchmark's two GraphQL operations (by operationName) with the JSON Stackyard answers.
// Usage: tsx scripts/bench-baseline-server.ts <postgres-url> <port>
import { createServer } from 'node:http';
import pg from 'pg';

const [url, port] = process.argv.slice(2);
const pool = new pg.Pool({ connectionString: url, max: 10 });

/** A global id as the Relay plugin writes it: base64 of `Type:id`. */
const globalId = (type: string, column: string) => `replace(encode(convert_to('${type}:' || ${column}, 'utf8'), 'base64'), E'\\n', '')`;

const PAGE_SIZE = 50;

// A stack's newest runs after a keyset cursor ([createdAt, id] as base64 JSON), with their steps
// and outputs, in the order Stackyard answers them.
const HISTORY_SQL = `
  with page as (
    select r.id, r.name, r.status, r.created_at, r.duration_ms
    from pipeline_runs r
    where r.stack_id = (select id from stacks where name = $1)
      and ($2::timestamptz is null or (r.created_at, r.id) < ($2::timestamptz, $3::uuid))
    order by r.created_at desc, r.id desc
    limit ${PAGE_SIZE + 1}),
  numbered as (select page.*, row_number() over (order by created_at desc, id desc) as n from page)
  select json_build_object('data', json_build_object('stack', json_build_object('runs', json_build_object(
    'pageInfo', json_build_object(
      'hasNextPage', (select count(*) > ${PAGE_SIZE} from page),
      'endCursor', (select replace(encode(convert_to(json_build_array(created_at, id)::text, 'utf8'), 'base64'), E'\\n', '')
                    from numbered where n = least(${PAGE_SIZE}, (select count(*) from page)))),
    'edges', coalesce((
      select json_agg(json_build_object('node', json_build_object(
        'id', ${globalId('PipelineRun', 'r.id')},
        'name', r.name, 'status', upper(r.status::text), 'createdAt', r.created_at,
        'durationMs', case when r.duration_ms < 0 then null else r.duration_ms end,
        'steps', (
          select coalesce(json_agg(json_build_object(
            'name', s.name, 'status', upper(s.status::text),
            'outputs', (
              select coalesce(json_agg(json_build_object(
                'name', o.name, 'artifactVersion', json_build_object('uri', v.uri, 'version', v.version, 'type', v.type))
                order by o.name), '[]'::json)
              from step_run_outputs o join artifact_versions v on v.id = o.artifact_version_id
              where o.step_run_id = s.id))
            order by s.started_at, s.id), '[]'::json)
          from step_runs s where s.run_id = r.id))) order by r.n)
      from numbered r where r.n <= ${PAGE_SIZE}), '[]'::json)))))::text as body`;

const STACKS_SQL = `
  select json_build_object('data', json_build_object('stacks', json_build_object('edges', coalesce(json_agg(
    json_build_object('node', json_build_object(
      'id', ${globalId('Stack', 's.id')}, 'name', s.name,
      'components', (
        select coalesce(json_agg(json_build_object(
          'id', ${globalId('StackComponent', 'c.id')}, 'type', upper(c.type::text), 'name', c.name, 'flavorName', c.flavor)
          order by c.type), '[]'::json)
        from stack_component_assignments a join stack_components c on c.id = a.component_id
        where a.stack_id = s.id)))
    order by s.name), '[]'::json))))::text as body
  from (select * from stacks order by name limit $1) s`;

async function answer(body: { operationName?: string; variables?: Record<string, unknown> }): Promise<string> {
  const variables = body.variables ?? {};
  if (body.operationName === 'History') {
    const after = typeof variables.after === 'string' ? (JSON.parse(Buffer.from(variables.after, 'base64').toString('utf8')) as [string, string]) : null;
    const result = await pool.query({ name: 'history', text: HISTORY_SQL, values: [variables.stack, after?.[0] ?? null, after?.[1] ?? null] });
    return result.rows[0].body;
  }
  if (body.operationName === 'Stacks') {
    const result = await pool.query({ name: 'stacks', text: STACKS_SQL, values: [variables.first ?? 20] });
    return result.rows[0].body;
  }
  throw new Error(`unknown operation ${body.operationName}`);
}

const server = createServer((request, response) => {
  const chunks: Buffer[] = [];
  request.on('data', (chunk: Buffer) => chunks.push(chunk));
  request.on('end', () => {
    answer(JSON.parse(Buffer.concat(chunks).toString('utf8')))
      .then((body) => {
        response.writeHead(200, { 'content-type': 'application/json' });
        response.end(body);
      })
      .catch((error: Error) => {
        response.writeHead(500, { 'content-type': 'application/json' });
        response.end(JSON.stringify({ errors: [{ message: error.message }] }));
      });
  });
});
server.listen(Number(port), '127.0.0.1', () => process.stdout.write(`listening on ${port}\n`));
process.once('SIGTERM', () => {
  server.close();
  void pool.end();
});
