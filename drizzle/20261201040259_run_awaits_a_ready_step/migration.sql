-- Custom SQL migration: stackyard_run_awaits_step without recursion. It walked the expected steps
-- downwards from every failed or stopped step, joining all of them at each level: depth × steps
-- work (4 s per step end for a chain of 8000 on Postgres), under the run's lock. It is only asked
-- once nothing runs (stackyard_run_ends), and then a step that can still start exists exactly
-- when a ready one does: an expected step not started whose parents all completed or were cached.
-- (Follow the not-started parents of any step that can still start: they end at one whose parents
-- all started, none failed or stopped, and nothing runs.) startStep refuses a step whose parent
-- failed or stopped, so no step beyond a failure starts and the rule holds.
CREATE OR REPLACE FUNCTION stackyard_run_awaits_step(run uuid)
RETURNS boolean
LANGUAGE sql STABLE AS $$
  SELECT EXISTS (
    SELECT 1
    FROM pipeline_runs p CROSS JOIN LATERAL jsonb_array_elements(p.expected_steps) AS e(step)
    WHERE p.id = run
      AND NOT EXISTS (SELECT 1 FROM step_runs s WHERE s.run_id = run AND s.name = e.step->>'name')
      AND NOT EXISTS (
        SELECT 1 FROM jsonb_array_elements_text(e.step->'parents') AS parent(name)
        WHERE NOT EXISTS (SELECT 1 FROM step_runs s WHERE s.run_id = run AND s.name = parent.name AND s.status IN ('completed', 'cached'))
      )
  )
$$;--> statement-breakpoint
-- Asked only once the run is finished and nothing runs: CASE, because AND does not promise to
-- evaluate its operands in order.
CREATE OR REPLACE FUNCTION stackyard_run_ends(run uuid, refreshed run_status, running integer, started integer, expected integer)
RETURNS boolean
LANGUAGE sql STABLE AS $$
  SELECT CASE
    WHEN refreshed NOT IN ('completed', 'failed', 'cached', 'stopped') OR running > 0 THEN false
    WHEN refreshed NOT IN ('failed', 'stopped') OR started >= expected THEN true
    ELSE NOT stackyard_run_awaits_step(run)
  END
$$;
