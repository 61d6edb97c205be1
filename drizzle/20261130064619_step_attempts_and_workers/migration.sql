CREATE TYPE "step_attempt_status" AS ENUM('running', 'completed', 'failed', 'cached', 'stopped', 'lost');--> statement-breakpoint
CREATE TABLE "step_attempts" (
	"step_run_id" uuid,
	"attempt" integer,
	"status" "step_attempt_status" NOT NULL,
	"error_message" text,
	"worker" jsonb,
	"queued_at" timestamp(6) with time zone,
	"started_at" timestamp(6) with time zone NOT NULL,
	"ended_at" timestamp(6) with time zone NOT NULL,
	CONSTRAINT "step_attempts_pkey" PRIMARY KEY("step_run_id","attempt")
);
--> statement-breakpoint
CREATE TABLE "worker_current_steps" (
	"worker_id" uuid,
	"step_run_id" uuid,
	CONSTRAINT "worker_current_steps_pkey" PRIMARY KEY("worker_id","step_run_id")
);
--> statement-breakpoint
CREATE TABLE "workers" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid(),
	"name" text NOT NULL CONSTRAINT "workers_name_key" UNIQUE,
	"host" text NOT NULL,
	"pid" integer NOT NULL,
	"queue" text NOT NULL,
	"concurrency" integer NOT NULL,
	"stack" text,
	"started_at" timestamp(6) with time zone DEFAULT now() NOT NULL,
	"last_seen_at" timestamp(6) with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "step_runs" ADD COLUMN "attempt" integer DEFAULT 1 NOT NULL;--> statement-breakpoint
ALTER TABLE "step_runs" ADD COLUMN "worker" jsonb;--> statement-breakpoint
ALTER TABLE "step_runs" ADD COLUMN "queued_at" timestamp(6) with time zone;--> statement-breakpoint
CREATE INDEX "worker_current_steps_step_idx" ON "worker_current_steps" ("step_run_id");--> statement-breakpoint
CREATE INDEX "workers_last_seen_idx" ON "workers" ("last_seen_at");--> statement-breakpoint
ALTER TABLE "step_attempts" ADD CONSTRAINT "step_attempts_step_run_id_step_runs_id_fkey" FOREIGN KEY ("step_run_id") REFERENCES "step_runs"("id") ON DELETE CASCADE;--> statement-breakpoint
ALTER TABLE "worker_current_steps" ADD CONSTRAINT "worker_current_steps_worker_id_workers_id_fkey" FOREIGN KEY ("worker_id") REFERENCES "workers"("id") ON DELETE CASCADE;--> statement-breakpoint
ALTER TABLE "worker_current_steps" ADD CONSTRAINT "worker_current_steps_step_run_id_step_runs_id_fkey" FOREIGN KEY ("step_run_id") REFERENCES "step_runs"("id") ON DELETE CASCADE;