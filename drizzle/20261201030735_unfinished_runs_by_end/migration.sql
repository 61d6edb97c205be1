DROP INDEX "pipeline_runs_unfinished_idx";--> statement-breakpoint
CREATE INDEX "pipeline_runs_unfinished_idx" ON "pipeline_runs" ("last_heartbeat_at") WHERE "ended_at" is null;