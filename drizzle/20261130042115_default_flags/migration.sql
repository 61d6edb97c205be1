ALTER TABLE "stack_components" ADD COLUMN "is_default" boolean DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE "stacks" ADD COLUMN "is_default" boolean DEFAULT false NOT NULL;--> statement-breakpoint
CREATE UNIQUE INDEX "stack_components_default_type_key" ON "stack_components" ("type") WHERE "is_default";--> statement-breakpoint
CREATE UNIQUE INDEX "stacks_is_default_key" ON "stacks" ("is_default") WHERE "is_default";