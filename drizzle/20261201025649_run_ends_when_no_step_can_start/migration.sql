-- Custom SQL migration: a failed (or stopped) run ends once nothing runs AND no expected step can
-- still start. A step that does not depend on the failed one still runs, as the orchestrators
-- run it (Dagster's rule): before, a run whose failing step ended in the instant between its
-- sibling's parent completing and the sibling's start ended at once, and refused the sibling,
-- so whether the independent steps ran depended on timing.
--
-- stackyard_run_awaits_step: whether the run expects a step that has not started and that no
-- failed or stopped step blocks (its ancestors, through the expected parents, include none).
-- It reads the expected steps only for a run that has failed with nothing running and steps
-- not started: never on the path of a step that goes well.
CREATE FUNCTION stackyard_run_awaits_step(run uuid)
RETURNS boolean
LANGUAGE sql STABLE AS $$
  WITH RECURSIVE expected AS (
    SELECT e.step->>'name' AS name, e.step->'parents' AS parents
    FROM pipeline_runs p CROSS JOIN LATERAL jsonb_array_elements(p.expected_steps) AS e(step)
    WHERE p.id = run
  ), blocked(name) AS (
    SELECT s.name FROM step_runs s WHERE s.run_id = run AND s.status IN ('failed', 'stopped')
    UNION
    SELECT x.name FROM expected x JOIN blocked b ON x.parents ? b.name
  )
  SELECT EXISTS (
    SELECT 1 FROM expected x
    WHERE NOT EXISTS (SELECT 1 FROM step_runs s WHERE s.run_id = run AND s.name = x.name)
      AND NOT EXISTS (SELECT 1 FROM blocked b WHERE b.name = x.name)
  )
$$;--> statement-breakpoint
-- stackyard_run_ends: whether a run whose counts give it this status ends now: it is finished,
-- nothing runs, and a failed or stopped run awaits no step that can still start.
CREATE FUNCTION stackyard_run_ends(run uuid, refreshed run_status, running integer, started integer, expected integer)
RETURNS boolean
LANGUAGE sql STABLE AS $$
  SELECT refreshed IN ('completed', 'failed', 'cached', 'stopped') AND running = 0
    AND (refreshed NOT IN ('failed', 'stopped') OR started >= expected OR NOT stackyard_run_awaits_step(run))
$$;--> statement-breakpoint
CREATE OR REPLACE FUNCTION stackyard_run_status(run uuid)
RETURNS TABLE (status run_status, ends boolean)
LANGUAGE sql STABLE AS $$
  SELECT s.status,
    stackyard_run_ends(run, s.status, p.steps_running,
      p.steps_running + p.steps_completed + p.steps_cached + p.steps_failed + p.steps_stopped, p.expected_step_count)
  FROM pipeline_runs p
  CROSS JOIN LATERAL (
    SELECT stackyard_status_from_counts(p.steps_running, p.steps_completed, p.steps_cached, p.steps_failed, p.steps_stopped, p.expected_step_count) AS status
  ) s
  WHERE p.id = run
$$;--> statement-breakpoint
CREATE OR REPLACE FUNCTION stackyard_refresh_run(run uuid, running integer DEFAULT 0, completed integer DEFAULT 0, cached integer DEFAULT 0, failed integer DEFAULT 0, stopped integer DEFAULT 0)
RETURNS run_status
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  counts record;
  refreshed run_status;
  ends boolean;
BEGIN
  SELECT p.steps_running + running AS running, p.steps_completed + completed AS completed, p.steps_cached + cached AS cached,
         p.steps_failed + failed AS failed, p.steps_stopped + stopped AS stopped,
         p.expected_step_count AS expected, p.ended_at IS NOT NULL AS ended, p.status
    INTO counts
    FROM pipeline_runs p WHERE p.id = run
    FOR NO KEY UPDATE;
  IF NOT FOUND THEN
    RETURN NULL;
  END IF;
  IF counts.ended THEN
    UPDATE pipeline_runs SET
      steps_running = counts.running, steps_completed = counts.completed, steps_cached = counts.cached,
      steps_failed = counts.failed, steps_stopped = counts.stopped
    WHERE id = run;
    RETURN counts.status;
  END IF;
  refreshed := stackyard_status_from_counts(counts.running, counts.completed, counts.cached, counts.failed, counts.stopped, counts.expected);
  ends := stackyard_run_ends(run, refreshed, counts.running,
    counts.running + counts.completed + counts.cached + counts.failed + counts.stopped, counts.expected);
  UPDATE pipeline_runs p SET
    steps_running = counts.running, steps_completed = counts.completed, steps_cached = counts.cached,
    steps_failed = counts.failed, steps_stopped = counts.stopped,
    status = refreshed,
    updated_at = clock_timestamp(),
    last_heartbeat_at = clock_timestamp(),
    ended_at = CASE WHEN ends THEN clock_timestamp() ELSE NULL END,
    duration_ms = CASE WHEN ends THEN greatest(0, floor(extract(epoch FROM (clock_timestamp() - p.started_at)) * 1000))::bigint ELSE p.duration_ms END
  WHERE p.id = run;
  PERFORM pg_notify('stackyard_run_updated', run::text);
  RETURN refreshed;
END
$$;
