-- Custom SQL migration: how a run's status follows from its steps (../shared/domain.md,
-- "Pipelines, runs, steps"), kept in the database so that the statement recording a step also
-- refreshes its run, in one round trip, and stays right when steps of one run end at once.
--
-- Counts: each run keeps the count of its step runs by status (the columns of run_step_counts),
-- and its status follows from them. Counting its steps at every change scanned all of them: 2 ms
-- for a run of 200 in the embedded database, twice per step, and more the larger the run. A
-- trigger keeps them, so whatever changes a step's status (its start and end, a retry, a run
-- stopped or expired) counts, with no rule to remember. An AFTER trigger, so that a row an
-- INSERT ... ON CONFLICT DO NOTHING leaves out does not count; it fires at the end of the
-- statement, so a statement that refreshes its run tells the functions below what it changed
-- (added and removed). Increments under the run's row lock, so steps ending at once all count.
--
-- Functions: under read committed a statement sees the rows committed before it started. One
-- that waits for the run's lock, held by another step's transaction, would read the counts
-- without that other step, and both would leave the run running. A volatile plpgsql function
-- takes a fresh snapshot for each of its statements, so what it reads after the lock is whole.
CREATE FUNCTION stackyard_count_step_status() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  UPDATE pipeline_runs SET
    steps_running = steps_running + (NEW.status = 'running')::int - (TG_OP = 'UPDATE' AND OLD.status = 'running')::int,
    steps_completed = steps_completed + (NEW.status = 'completed')::int - (TG_OP = 'UPDATE' AND OLD.status = 'completed')::int,
    steps_cached = steps_cached + (NEW.status = 'cached')::int - (TG_OP = 'UPDATE' AND OLD.status = 'cached')::int,
    steps_failed = steps_failed + (NEW.status = 'failed')::int - (TG_OP = 'UPDATE' AND OLD.status = 'failed')::int,
    steps_stopped = steps_stopped + (NEW.status = 'stopped')::int - (TG_OP = 'UPDATE' AND OLD.status = 'stopped')::int
  WHERE id = NEW.run_id;
  RETURN NULL;
END
$$;--> statement-breakpoint
CREATE TRIGGER step_runs_count_inserted AFTER INSERT ON step_runs
  FOR EACH ROW EXECUTE FUNCTION stackyard_count_step_status();--> statement-breakpoint
CREATE TRIGGER step_runs_count_status AFTER UPDATE OF status ON step_runs
  FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status) EXECUTE FUNCTION stackyard_count_step_status();--> statement-breakpoint
UPDATE pipeline_runs r SET
  steps_running = c.running, steps_completed = c.completed, steps_cached = c.cached, steps_failed = c.failed, steps_stopped = c.stopped
FROM (
  SELECT run_id,
         count(*) FILTER (WHERE status = 'running') AS running,
         count(*) FILTER (WHERE status = 'completed') AS completed,
         count(*) FILTER (WHERE status = 'cached') AS cached,
         count(*) FILTER (WHERE status = 'failed') AS failed,
         count(*) FILTER (WHERE status = 'stopped') AS stopped
  FROM step_runs GROUP BY run_id
) c
WHERE r.id = c.run_id;--> statement-breakpoint
-- stackyard_run_status: the status a run's steps give it, and whether it ends now (finished, with
-- no step running), from its counts and the statuses the caller's own statement added and
-- removed (its trigger has not counted them yet). Any step failed → failed; any stopped →
-- stopped; no step yet → initializing; every expected step completed or cached → completed
-- (cached when all were cached); otherwise running. A run that expects steps has no step runs of
-- other names (startStep refuses them), so its finished step runs are its finished expected steps.
CREATE FUNCTION stackyard_run_status(run uuid, added step_status[], removed step_status[])
RETURNS TABLE (status run_status, ends boolean)
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
  RETURN QUERY
  SELECT derived.status, derived.status IN ('completed', 'failed', 'cached', 'stopped') AND derived.running = 0
  FROM (
    SELECT CASE
        WHEN c.failed > 0 THEN 'failed'
        WHEN c.stopped > 0 THEN 'stopped'
        WHEN c.running + c.completed + c.cached = 0 THEN 'initializing'
        WHEN c.expected > 0 AND c.completed + c.cached = c.expected
          THEN CASE WHEN c.cached = c.expected THEN 'cached' ELSE 'completed' END
        ELSE 'running'
      END::run_status AS status,
      c.running
    FROM (
      SELECT jsonb_array_length(p.expected_steps) AS expected,
             p.steps_running + d.running AS running,
             p.steps_completed + d.completed AS completed,
             p.steps_cached + d.cached AS cached,
             p.steps_failed + d.failed AS failed,
             p.steps_stopped + d.stopped AS stopped
      FROM pipeline_runs p
      CROSS JOIN (
        SELECT coalesce(sum(x.n) FILTER (WHERE x.s = 'running'), 0) AS running,
               coalesce(sum(x.n) FILTER (WHERE x.s = 'completed'), 0) AS completed,
               coalesce(sum(x.n) FILTER (WHERE x.s = 'cached'), 0) AS cached,
               coalesce(sum(x.n) FILTER (WHERE x.s = 'failed'), 0) AS failed,
               coalesce(sum(x.n) FILTER (WHERE x.s = 'stopped'), 0) AS stopped
        FROM (SELECT a.s, 1 AS n FROM unnest(added) AS a(s) UNION ALL SELECT r.s, -1 FROM unnest(removed) AS r(s)) x
      ) d
      WHERE p.id = run
    ) c
  ) derived;
END
$$;--> statement-breakpoint
-- stackyard_refresh_run: locks the run (the caller may hold the lock already), stores the status
-- its steps give it, ends it once it is finished and nothing runs, and announces it on channel.
-- Answers the status; nothing happens to a run that does not exist.
CREATE FUNCTION stackyard_refresh_run(run uuid, added step_status[], removed step_status[], channel text)
RETURNS run_status
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  refreshed run_status;
BEGIN
  PERFORM 1 FROM pipeline_runs WHERE id = run FOR NO KEY UPDATE;
  UPDATE pipeline_runs p SET
    status = d.status,
    updated_at = clock_timestamp(),
    last_heartbeat_at = clock_timestamp(),
    ended_at = CASE WHEN d.ends THEN clock_timestamp() ELSE p.ended_at END,
    duration_ms = CASE WHEN d.ends THEN greatest(0, floor(extract(epoch FROM (clock_timestamp() - p.started_at)) * 1000))::bigint ELSE p.duration_ms END
  FROM stackyard_run_status(run, added, removed) d
  WHERE p.id = run
  RETURNING p.status INTO refreshed;
  IF FOUND THEN
    PERFORM pg_notify(channel, run::text);
  END IF;
  RETURN refreshed;
END
$$;
