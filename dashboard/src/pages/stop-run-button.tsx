import { useMutation, useQueryClient } from '@tanstack/react-query';
import { StopRunDocument } from '../../../client/generated/graphql';
import { expectMember } from '../../../client/stackyard-error';
import { execute } from '../api/execute';

/**
 * Stops a run that has not ended, as `stackyard run stop` does, after the user confirms: its
 * running steps are abandoned wherever they run.
 */
export function StopRunButton({ runId, runName }: { runId: string; runName: string }) {
  const queryClient = useQueryClient();
  const stop = useMutation({
    mutationFn: async () => expectMember((await execute(StopRunDocument, { runId })).stopRun, 'PipelineRun'),
    // The run's page follows it live; the tables of runs elsewhere show its new status too.
    onSuccess: () => queryClient.invalidateQueries(),
  });
  const confirmAndStop = () => {
    if (window.confirm(`Stop the run “${runName}”? Its running steps are abandoned.`)) stop.mutate();
  };
  return (
    <span className="stop-run">
      <button type="button" className="secondary" onClick={confirmAndStop} disabled={stop.isPending}>
        {stop.isPending ? 'Stopping…' : 'Stop'}
        <span className="visually-hidden"> run {runName}</span>
      </button>
      {stop.isError && (
        <span role="alert" className="state-error">
          {stop.error.message}
        </span>
      )}
    </span>
  );
}
