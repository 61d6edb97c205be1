CREATE TABLE "metric_points" (
	"run_id" uuid,
	"name" text,
	"step" integer,
	"logged_at" timestamp(3) with time zone,
	"value" double precision,
	"step_run_id" uuid,
	CONSTRAINT "metric_points_pkey" PRIMARY KEY("run_id","name","step","logged_at","value")
);
--> statement-breakpoint
CREATE INDEX "metric_points_step_run_idx" ON "metric_points" ("step_run_id");--> statement-breakpoint
ALTER TABLE "metric_points" ADD CONSTRAINT "metric_points_run_id_pipeline_runs_id_fkey" FOREIGN KEY ("run_id") REFERENCES "pipeline_runs"("id") ON DELETE CASCADE;--> statement-breakpoint
ALTER TABLE "metric_points" ADD CONSTRAINT "metric_points_step_run_id_step_runs_id_fkey" FOREIGN KEY ("step_run_id") REFERENCES "step_runs"("id") ON DELETE CASCADE;