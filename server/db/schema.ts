// Every table and relation, gathered for drizzle-kit and the relational query builder.
// The tables themselves live with the domain module that owns them.
import { defineRelations } from 'drizzle-orm';
import { componentTypeEnum, stackComponents } from '../components/component-tables';
import { stackComponentAssignments, stacks } from '../stacks/stack-tables';
import { users } from '../users/user-tables';

export { componentTypeEnum, stackComponents, stackComponentAssignments, stacks, users };

export const relations = defineRelations(
  { componentTypeEnum, stackComponents, stackComponentAssignments, stacks, users },
  (r) => ({
    stacks: {
      components: r.many.stackComponents({
        from: r.stacks.id.through(r.stackComponentAssignments.stackId),
        to: r.stackComponents.id.through(r.stackComponentAssignments.componentId),
      }),
    },
    stackComponents: {
      stacks: r.many.stacks({
        from: r.stackComponents.id.through(r.stackComponentAssignments.componentId),
        to: r.stacks.id.through(r.stackComponentAssignments.stackId),
      }),
    },
    users: {
      activeStack: r.one.stacks({ from: r.users.activeStackId, to: r.stacks.id }),
    },
  }),
);
