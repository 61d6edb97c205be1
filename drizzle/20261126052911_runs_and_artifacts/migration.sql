CREATE TYPE "run_status" AS ENUM('initializing', 'running', 'completed', 'failed', 'cached', 'stopped');--> statement-breakpoint
CREATE TYPE "step_status" AS ENUM('running', 'completed', 'failed', 'cached', 'stopped');--> statement-breakpoint
CREATE TABLE "artifact_versions" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid(),
	"artifact_id" uuid NOT NULL,
	"version" integer NOT NULL,
	"uri" text NOT NULL,
	"artifact_store_id" uuid,
	"type" text DEFAULT 'data' NOT NULL,
	"data_type" text,
	"materializer" text,
	"content_hash" text,
	"size_bytes" bigint,
	"metadata" jsonb DEFAULT '{}' NOT NULL,
	"tags" text[] DEFAULT '{}'::text[] NOT NULL,
	"producer_step_run_id" uuid,
	"producer_output_name" text,
	"created_at" timestamp(6) with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "artifact_versions_artifact_version_key" UNIQUE("artifact_id","version")
);
--> statement-breakpoint
CREATE TABLE "artifacts" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid(),
	"name" text NOT NULL CONSTRAINT "artifacts_name_key" UNIQUE,
	"latest_version" integer DEFAULT 0 NOT NULL,
	"created_at" timestamp(6) with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "step_run_inputs" (
	"step_run_id" uuid,
	"name" text,
	"artifact_version_id" uuid NOT NULL,
	CONSTRAINT "step_run_inputs_pkey" PRIMARY KEY("step_run_id","name")
);
--> statement-breakpoint
CREATE TABLE "step_run_outputs" (
	"step_run_id" uuid,
	"name" text,
	"artifact_version_id" uuid NOT NULL,
	CONSTRAINT "step_run_outputs_pkey" PRIMARY KEY("step_run_id","name")
);
--> statement-breakpoint
CREATE TABLE "pipeline_run_components" (
	"run_id" uuid,
	"component_id" uuid,
	CONSTRAINT "pipeline_run_components_pkey" PRIMARY KEY("run_id","component_id")
);
--> statement-breakpoint
CREATE TABLE "pipeline_runs" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid(),
	"pipeline_id" uuid NOT NULL,
	"stack_id" uuid,
	"user_id" uuid,
	"name" text NOT NULL CONSTRAINT "pipeline_runs_name_key" UNIQUE,
	"status" "run_status" DEFAULT 'initializing'::"run_status" NOT NULL,
	"status_reason" text,
	"expected_steps" jsonb DEFAULT '[]' NOT NULL,
	"stack_snapshot" jsonb NOT NULL,
	"tags" text[] DEFAULT '{}'::text[] NOT NULL,
	"config" jsonb DEFAULT '{}' NOT NULL,
	"metadata" jsonb DEFAULT '{}' NOT NULL,
	"idempotency_key" text CONSTRAINT "pipeline_runs_idempotency_key_key" UNIQUE,
	"created_at" timestamp(6) with time zone DEFAULT now() NOT NULL,
	"started_at" timestamp(6) with time zone DEFAULT now() NOT NULL,
	"ended_at" timestamp(6) with time zone,
	"updated_at" timestamp(6) with time zone DEFAULT now() NOT NULL,
	"last_heartbeat_at" timestamp(6) with time zone DEFAULT now() NOT NULL,
	"duration_ms" bigint DEFAULT -1 NOT NULL
);
--> statement-breakpoint
CREATE TABLE "pipelines" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid(),
	"name" text NOT NULL CONSTRAINT "pipelines_name_key" UNIQUE,
	"created_at" timestamp(6) with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "step_runs" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid(),
	"run_id" uuid NOT NULL,
	"name" text NOT NULL,
	"status" "step_status" DEFAULT 'running'::"step_status" NOT NULL,
	"error_message" text,
	"parents" text[] DEFAULT '{}'::text[] NOT NULL,
	"cache_key" text,
	"code_hash" text,
	"parameters" jsonb DEFAULT '{}' NOT NULL,
	"metadata" jsonb DEFAULT '{}' NOT NULL,
	"original_step_run_id" uuid,
	"started_at" timestamp(6) with time zone DEFAULT now() NOT NULL,
	"ended_at" timestamp(6) with time zone,
	CONSTRAINT "step_runs_run_name_key" UNIQUE("run_id","name")
);
--> statement-breakpoint
CREATE INDEX "artifact_versions_producer_idx" ON "artifact_versions" ("producer_step_run_id");--> statement-breakpoint
CREATE INDEX "step_run_inputs_artifact_version_idx" ON "step_run_inputs" ("artifact_version_id");--> statement-breakpoint
CREATE INDEX "step_run_outputs_artifact_version_idx" ON "step_run_outputs" ("artifact_version_id");--> statement-breakpoint
CREATE INDEX "pipeline_run_components_component_idx" ON "pipeline_run_components" ("component_id","run_id");--> statement-breakpoint
CREATE INDEX "pipeline_runs_stack_created_idx" ON "pipeline_runs" ("stack_id","created_at","id");--> statement-breakpoint
CREATE INDEX "pipeline_runs_stack_started_idx" ON "pipeline_runs" ("stack_id","started_at","id");--> statement-breakpoint
CREATE INDEX "pipeline_runs_stack_updated_idx" ON "pipeline_runs" ("stack_id","updated_at","id");--> statement-breakpoint
CREATE INDEX "pipeline_runs_stack_duration_idx" ON "pipeline_runs" ("stack_id","duration_ms","id");--> statement-breakpoint
CREATE INDEX "pipeline_runs_created_idx" ON "pipeline_runs" ("created_at","id");--> statement-breakpoint
CREATE INDEX "pipeline_runs_pipeline_created_idx" ON "pipeline_runs" ("pipeline_id","created_at","id");--> statement-breakpoint
CREATE INDEX "pipeline_runs_unfinished_idx" ON "pipeline_runs" ("last_heartbeat_at") WHERE "status" in ('initializing', 'running');--> statement-breakpoint
CREATE INDEX "pipeline_runs_tags_idx" ON "pipeline_runs" USING gin ("tags");--> statement-breakpoint
CREATE INDEX "step_runs_cache_key_idx" ON "step_runs" ("cache_key","ended_at","id") WHERE "status" = 'completed';--> statement-breakpoint
ALTER TABLE "artifact_versions" ADD CONSTRAINT "artifact_versions_artifact_id_artifacts_id_fkey" FOREIGN KEY ("artifact_id") REFERENCES "artifacts"("id") ON DELETE CASCADE;--> statement-breakpoint
ALTER TABLE "artifact_versions" ADD CONSTRAINT "artifact_versions_artifact_store_id_stack_components_id_fkey" FOREIGN KEY ("artifact_store_id") REFERENCES "stack_components"("id") ON DELETE SET NULL;--> statement-breakpoint
ALTER TABLE "artifact_versions" ADD CONSTRAINT "artifact_versions_producer_step_run_id_step_runs_id_fkey" FOREIGN KEY ("producer_step_run_id") REFERENCES "step_runs"("id") ON DELETE SET NULL;--> statement-breakpoint
ALTER TABLE "step_run_inputs" ADD CONSTRAINT "step_run_inputs_step_run_id_step_runs_id_fkey" FOREIGN KEY ("step_run_id") REFERENCES "step_runs"("id") ON DELETE CASCADE;--> statement-breakpoint
ALTER TABLE "step_run_inputs" ADD CONSTRAINT "step_run_inputs_artifact_version_id_artifact_versions_id_fkey" FOREIGN KEY ("artifact_version_id") REFERENCES "artifact_versions"("id") ON DELETE CASCADE;--> statement-breakpoint
ALTER TABLE "step_run_outputs" ADD CONSTRAINT "step_run_outputs_step_run_id_step_runs_id_fkey" FOREIGN KEY ("step_run_id") REFERENCES "step_runs"("id") ON DELETE CASCADE;--> statement-breakpoint
ALTER TABLE "step_run_outputs" ADD CONSTRAINT "step_run_outputs_artifact_version_id_artifact_versions_id_fkey" FOREIGN KEY ("artifact_version_id") REFERENCES "artifact_versions"("id") ON DELETE CASCADE;--> statement-breakpoint
ALTER TABLE "pipeline_run_components" ADD CONSTRAINT "pipeline_run_components_run_id_pipeline_runs_id_fkey" FOREIGN KEY ("run_id") REFERENCES "pipeline_runs"("id") ON DELETE CASCADE;--> statement-breakpoint
ALTER TABLE "pipeline_run_components" ADD CONSTRAINT "pipeline_run_components_component_id_stack_components_id_fkey" FOREIGN KEY ("component_id") REFERENCES "stack_components"("id") ON DELETE CASCADE;--> statement-breakpoint
ALTER TABLE "pipeline_runs" ADD CONSTRAINT "pipeline_runs_pipeline_id_pipelines_id_fkey" FOREIGN KEY ("pipeline_id") REFERENCES "pipelines"("id") ON DELETE CASCADE;--> statement-breakpoint
ALTER TABLE "pipeline_runs" ADD CONSTRAINT "pipeline_runs_stack_id_stacks_id_fkey" FOREIGN KEY ("stack_id") REFERENCES "stacks"("id") ON DELETE SET NULL;--> statement-breakpoint
ALTER TABLE "pipeline_runs" ADD CONSTRAINT "pipeline_runs_user_id_users_id_fkey" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE SET NULL;--> statement-breakpoint
ALTER TABLE "step_runs" ADD CONSTRAINT "step_runs_run_id_pipeline_runs_id_fkey" FOREIGN KEY ("run_id") REFERENCES "pipeline_runs"("id") ON DELETE CASCADE;