import { useMutation, useQueryClient } from '@tanstack/react-query';
import { SetActiveStackDocument } from '../../../client/generated/graphql';
import { expectMember } from '../../../client/stackyard-error';
import { execute } from '../api/execute';

/** Makes the stack the caller's active stack, which runs use unless told otherwise. */
export function SetActiveButton({ stackName }: { stackName: string }) {
  const queryClient = useQueryClient();
  const setActive = useMutation({
    mutationFn: async () => expectMember((await execute(SetActiveStackDocument, { name: stackName })).setActiveStack, 'Stack'),
    // Every stack's isActive may have changed, not just this one's.
    onSuccess: () => queryClient.invalidateQueries(),
  });
  return (
    <span className="set-active">
      <button type="button" onClick={() => setActive.mutate()} disabled={setActive.isPending}>
        {setActive.isPending ? 'Setting active…' : 'Set active'}
        <span className="visually-hidden">: {stackName}</span>
      </button>
      {setActive.isError && (
        <span role="alert" className="state-error">
          {setActive.error.message}
        </span>
      )}
    </span>
  );
}

export function ActiveMarker() {
  return <span className="active-marker">Active</span>;
}
