-- Custom SQL migration: the trigger that counts a run's steps by status (run_step_count_trigger)
-- also refreshes the run, in the same UPDATE: its status, updated_at, last_heartbeat_at, its end
-- once it is finished and nothing runs, and the announcement on stackyard_run_updated (the
-- channel of server/runs/run-events.ts). A statement that starts or ends a step used to refresh
-- the run itself (stackyard_refresh_run, told what it changed), and the trigger then updated the
-- run's row a second time for the counts, re-checking the row's three foreign keys because the
-- transaction had just written it: EXPLAIN ANALYZE gave the two 0.9 of the 1.1 ms a step's start
-- took. Now every statement that changes a step's status refreshes its run, once per step changed.
--
-- A run that has ended (finishRun, expiry, or its last step) only has its counts kept: what ended
-- it (a status and reason given by finishRun) stays. The run's lock is taken first, as every
-- statement that changes a step takes it; under read committed, a row locked after a wait is read
-- as the other transaction left it, so the counts are whole.
--
-- expected_step_count replaces jsonb_array_length(expected_steps), which read the whole list,
-- thousands of steps long, at every step.
UPDATE pipeline_runs SET expected_step_count = jsonb_array_length(expected_steps);--> statement-breakpoint
-- The status a run's counts give it. Any step failed → failed; any stopped → stopped; no step
-- yet → initializing; every expected step completed or cached → completed (cached when all were
-- cached); otherwise running. A run that expects steps has no step runs of other names
-- (startStep refuses them), so its finished step runs are its finished expected steps.
CREATE FUNCTION stackyard_status_from_counts(running integer, completed integer, cached integer, failed integer, stopped integer, expected integer)
RETURNS run_status
LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE
      WHEN failed > 0 THEN 'failed'
      WHEN stopped > 0 THEN 'stopped'
      WHEN running + completed + cached = 0 THEN 'initializing'
      WHEN expected > 0 AND completed + cached = expected THEN CASE WHEN cached = expected THEN 'cached' ELSE 'completed' END
      ELSE 'running'
    END::run_status
$$;--> statement-breakpoint
-- The statement that changes a step no longer tells the functions below what it changed: the
-- trigger has counted it by the time anything reads the run.
DROP FUNCTION stackyard_refresh_run(uuid, step_status[], step_status[], text);--> statement-breakpoint
DROP FUNCTION stackyard_run_status(uuid, step_status[], step_status[]);--> statement-breakpoint
-- stackyard_run_status: the status a run's counts give it, and whether it ends now (finished,
-- with no step running).
CREATE FUNCTION stackyard_run_status(run uuid)
RETURNS TABLE (status run_status, ends boolean)
LANGUAGE sql STABLE AS $$
  SELECT s.status, s.status IN ('completed', 'failed', 'cached', 'stopped') AND p.steps_running = 0
  FROM pipeline_runs p
  CROSS JOIN LATERAL (
    SELECT stackyard_status_from_counts(p.steps_running, p.steps_completed, p.steps_cached, p.steps_failed, p.steps_stopped, p.expected_step_count) AS status
  ) s
  WHERE p.id = run
$$;--> statement-breakpoint
-- stackyard_refresh_run: adds to the run's counts what changed of its steps (nothing, for a
-- change that is not a step's status: a step's next attempt, a failed attempt that will be
-- retried), and, unless the run has ended, stores the status the counts give it, ends it once it
-- is finished and nothing runs, and announces it. Takes the run's lock first; a volatile plpgsql
-- function then reads the run as the transaction that held the lock left it. Answers the status.
CREATE FUNCTION stackyard_refresh_run(run uuid, running integer DEFAULT 0, completed integer DEFAULT 0, cached integer DEFAULT 0, failed integer DEFAULT 0, stopped integer DEFAULT 0)
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
  ends := refreshed IN ('completed', 'failed', 'cached', 'stopped') AND counts.running = 0;
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
$$;--> statement-breakpoint
CREATE OR REPLACE FUNCTION stackyard_count_step_status() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM stackyard_refresh_run(
    NEW.run_id,
    (NEW.status = 'running')::int - (TG_OP = 'UPDATE' AND OLD.status = 'running')::int,
    (NEW.status = 'completed')::int - (TG_OP = 'UPDATE' AND OLD.status = 'completed')::int,
    (NEW.status = 'cached')::int - (TG_OP = 'UPDATE' AND OLD.status = 'cached')::int,
    (NEW.status = 'failed')::int - (TG_OP = 'UPDATE' AND OLD.status = 'failed')::int,
    (NEW.status = 'stopped')::int - (TG_OP = 'UPDATE' AND OLD.status = 'stopped')::int
  );
  RETURN NULL;
END
$$;
