-- Custom SQL migration: how a run's status follows from its steps (../shared/domain.md, "Pipelines,
-- runs, steps"), as two functions, so that the statement recording a step can also refresh its
-- run, in one round trip and still right when steps of one run end at the same moment.
--
-- Why functions: under read committed a statement sees the rows committed before it started.
-- A statement that waits for the run's lock, held by another step's transaction, would then count
-- the steps without that other step's end, and both would leave the run running. A volatile
-- plpgsql function takes a fresh snapshot for each statement in it, so the count made after the
-- lock sees every step that ended before.
--
-- stackyard_run_status: the status a run's steps give it, and whether it ends now (finished, with
-- no step running). Any step failed → failed; any stopped → stopped; no step yet → initializing;
-- every expected step completed or cached → completed (cached when all were cached); otherwise
-- running. The steps changed_ids are counted with changed_statuses: the caller's own statement
-- changes them, and may not be seen by the function's snapshot. A run that expects steps has no
-- step runs of other names (startStep refuses them), so counting its finished step runs counts
-- its finished expected steps.
CREATE FUNCTION stackyard_run_status(run uuid, changed_ids uuid[], changed_statuses step_status[])
RETURNS TABLE (status run_status, ends boolean)
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
  RETURN QUERY
  SELECT derived.status, derived.status IN ('completed', 'failed', 'cached', 'stopped') AND derived.running = 0
  FROM (
    SELECT CASE
        WHEN count(*) FILTER (WHERE s.status = 'failed') > 0 THEN 'failed'
        WHEN count(*) FILTER (WHERE s.status = 'stopped') > 0 THEN 'stopped'
        WHEN count(s.id) = 0 THEN 'initializing'
        WHEN r.expected > 0 AND count(*) FILTER (WHERE s.status IN ('completed', 'cached')) = r.expected
          THEN CASE WHEN count(*) FILTER (WHERE s.status = 'cached') = r.expected THEN 'cached' ELSE 'completed' END
        ELSE 'running'
      END::run_status AS status,
      count(*) FILTER (WHERE s.status = 'running') AS running
    FROM (SELECT jsonb_array_length(p.expected_steps) AS expected FROM pipeline_runs p WHERE p.id = run) r
    LEFT JOIN (
      SELECT t.id, t.status FROM step_runs t WHERE t.run_id = run AND t.id <> ALL (changed_ids)
      UNION ALL
      SELECT c.id, c.status FROM unnest(changed_ids, changed_statuses) AS c(id, status)
    ) s ON true
    GROUP BY r.expected
  ) derived;
END
$$;--> statement-breakpoint
-- stackyard_refresh_run: locks the run (the caller may hold the lock already), stores the status
-- its steps give it, ends it once it is finished and nothing runs, and announces it on channel.
-- Answers the status; nothing happens to a run that does not exist.
CREATE FUNCTION stackyard_refresh_run(run uuid, changed_ids uuid[], changed_statuses step_status[], channel text)
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
  FROM stackyard_run_status(run, changed_ids, changed_statuses) d
  WHERE p.id = run
  RETURNING p.status INTO refreshed;
  IF FOUND THEN
    PERFORM pg_notify(channel, run::text);
  END IF;
  RETURN refreshed;
END
$$;
