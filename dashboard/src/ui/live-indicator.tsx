import type { LiveStatus } from '../api/live';

const WORDS = { connecting: 'Connecting live updates…', live: 'Live', reconnecting: 'Reconnecting live updates…' } as const;

export function LiveIndicator({ status }: { status: LiveStatus | null }) {
  if (!status) return null;
  return (
    <p role="status" className={`live live-${status.state}`}>
      {status.state === 'off' ? `Live updates off: ${status.reason}` : WORDS[status.state]}
    </p>
  );
}
