-- Custom SQL migration: marks the default stack and its two components, which older versions
-- identified by the name "default", with the is_default flag every rule now uses.
UPDATE "stacks" SET "is_default" = true WHERE "name" = 'default';--> statement-breakpoint
UPDATE "stack_components" SET "is_default" = true WHERE "name" = 'default' AND "type" IN ('orchestrator', 'artifact_store');
