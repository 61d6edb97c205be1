// The time now, ticking each second while something on the page is still running.
import { useEffect, useState } from 'react';
import { formatDuration } from './format';

export function useNow(ticking: boolean, intervalMs = 1000): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (!ticking) return;
    setNow(Date.now());
    const timer = setInterval(() => setNow(Date.now()), intervalMs);
    return () => clearInterval(timer);
  }, [ticking, intervalMs]);
  return now;
}

/** How long ago `since` was, ticking each second: a running step's elapsed time. */
export function Elapsed({ since }: { since: string }) {
  const now = useNow(true);
  return <time dateTime={since}>{formatDuration(Math.max(0, now - Date.parse(since)))}</time>;
}
