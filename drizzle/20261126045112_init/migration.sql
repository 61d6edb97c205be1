CREATE TYPE "component_type" AS ENUM('orchestrator', 'artifact_store', 'container_registry', 'step_operator', 'experiment_tracker', 'model_deployer', 'model_registry', 'feature_store', 'alerter', 'annotator', 'data_validator', 'image_builder');--> statement-breakpoint
CREATE TABLE "stack_component_assignments" (
	"stack_id" uuid,
	"component_type" "component_type",
	"component_id" uuid NOT NULL,
	CONSTRAINT "stack_component_assignments_pkey" PRIMARY KEY("stack_id","component_type")
);
--> statement-breakpoint
CREATE TABLE "stack_components" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid(),
	"type" "component_type" NOT NULL,
	"name" text NOT NULL,
	"flavor" text NOT NULL,
	"configuration" jsonb DEFAULT '{}' NOT NULL,
	"secrets" jsonb DEFAULT '{}' NOT NULL,
	"labels" jsonb DEFAULT '{}' NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "stack_components_type_name_key" UNIQUE("type","name"),
	CONSTRAINT "stack_components_id_type_key" UNIQUE("id","type")
);
--> statement-breakpoint
CREATE TABLE "stacks" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid(),
	"name" text NOT NULL CONSTRAINT "stacks_name_key" UNIQUE,
	"description" text DEFAULT '' NOT NULL,
	"labels" jsonb DEFAULT '{}' NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "users" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid(),
	"name" text NOT NULL CONSTRAINT "users_name_key" UNIQUE,
	"active_stack_id" uuid,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE INDEX "stack_component_assignments_component_idx" ON "stack_component_assignments" ("component_id");--> statement-breakpoint
ALTER TABLE "stack_component_assignments" ADD CONSTRAINT "stack_component_assignments_stack_id_stacks_id_fkey" FOREIGN KEY ("stack_id") REFERENCES "stacks"("id") ON DELETE CASCADE;--> statement-breakpoint
ALTER TABLE "stack_component_assignments" ADD CONSTRAINT "stack_component_assignments_component_fkey" FOREIGN KEY ("component_id","component_type") REFERENCES "stack_components"("id","type") ON DELETE RESTRICT;--> statement-breakpoint
ALTER TABLE "users" ADD CONSTRAINT "users_active_stack_id_stacks_id_fkey" FOREIGN KEY ("active_stack_id") REFERENCES "stacks"("id") ON DELETE SET NULL;