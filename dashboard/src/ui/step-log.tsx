// A step's log under the step: the tail first, earlier parts a page at a time on request, and
// while the step runs, what it prints as it prints it. The server answers pages of whole lines by
// byte offset, so a log of any size is never loaded whole, here or on the server.
import { useQueryClient } from '@tanstack/react-query';
import { useCallback, useEffect, useLayoutEffect, useRef, useState } from 'react';
import { StepLogDocument, type StepLogQuery, type StepLogQueryVariables, type StepRunFieldsFragment } from '../../../client/generated/graphql';
import { expectMember } from '../../../client/stackyard-error';
import { execute } from '../api/execute';
import { queryKey } from '../api/query-client';
import { formatBytes } from './format';

type Page = Extract<NonNullable<StepLogQuery['stepLog']>, { __typename: 'StepLogPage' }>;
type Entry = Page['entries'][number];

/** The tail and each earlier page: enough for a screen of lines, small enough to fetch at once. */
const PAGE_BYTES = 64 * 1024;
/** A followed page: what a busy step prints in a second or so. */
const FOLLOW_BYTES = 256 * 1024;
/** How often a running step's log is asked for what is new; the SDK writes about every second. */
const FOLLOW_INTERVAL_MS = 1000;
/** Lines kept while following; older pages go, and stay reachable through "Show earlier lines". */
const MAX_FOLLOWED_LINES = 5000;

interface Shown {
  pages: Page[];
  totalBytes: number;
}

function startOf(shown: Shown): number {
  return shown.pages[0]?.startOffset ?? 0;
}

function endOf(shown: Shown): number {
  return shown.pages.at(-1)?.endOffset ?? 0;
}

function timeOf(entry: Entry): string {
  return entry.time ? entry.time.slice(11, 23) : '';
}

export function StepLog({ step }: { step: StepRunFieldsFragment }) {
  const queryClient = useQueryClient();
  const [shown, setShown] = useState<Shown | null>(null);
  const latestShown = useRef(shown);
  latestShown.current = shown;
  const [error, setError] = useState<string | null>(null);
  const [loadingEarlier, setLoadingEarlier] = useState(false);
  const scroller = useRef<HTMLOListElement>(null);
  const pinnedToBottom = useRef(true);
  const running = step.status === 'RUNNING';

  // Through the query cache, so a refused token shows the sign-in screen as other reads do; never reused.
  const fetchPage = useCallback(
    async (variables: Omit<StepLogQueryVariables, 'stepRunId'>): Promise<Page> => {
      const full = { stepRunId: step.id, ...variables };
      const result = await queryClient.fetchQuery({ queryKey: queryKey(StepLogDocument, full), queryFn: () => execute(StepLogDocument, full), staleTime: 0, gcTime: 0 });
      return expectMember(result.stepLog, 'StepLogPage');
    },
    [queryClient, step.id],
  );

  // The tail, when the log is first shown.
  useEffect(() => {
    if (!step.logUri) return;
    let cancelled = false;
    fetchPage({ limit: PAGE_BYTES })
      .then((page) => !cancelled && setShown({ pages: [page], totalBytes: page.totalBytes }))
      .catch((failure: Error) => !cancelled && setError(failure.message));
    return () => {
      cancelled = true;
    };
  }, [fetchPage, step.logUri]);

  // What is new, every second while the step runs, and once more when it has ended.
  const followed = shown !== null;
  useEffect(() => {
    if (!followed || !step.logUri) return;
    let cancelled = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const follow = async () => {
      const current = latestShown.current!;
      const from = endOf(current);
      // Far behind a step that prints fast: jump to the tail; the gap is paged like earlier parts.
      const page = current.totalBytes - from > 4 * FOLLOW_BYTES ? await fetchPage({ limit: PAGE_BYTES }) : await fetchPage({ offset: from, limit: FOLLOW_BYTES });
      if (cancelled) return;
      setShown((value) => {
        if (!value) return value;
        if (page.startOffset !== endOf(value)) return { pages: [page], totalBytes: page.totalBytes };
        if (page.entries.length === 0) return { ...value, totalBytes: page.totalBytes };
        const pages = [...value.pages, page];
        let lines = pages.reduce((sum, each) => sum + each.entries.length, 0);
        while (pages.length > 1 && lines > MAX_FOLLOWED_LINES) lines -= pages.shift()!.entries.length;
        return { pages, totalBytes: page.totalBytes };
      });
      if (page.endOffset < page.totalBytes || page.stepStatus === 'RUNNING') timer = setTimeout(() => void follow().catch((failure: Error) => setError(failure.message)), FOLLOW_INTERVAL_MS);
    };
    timer = setTimeout(() => void follow().catch((failure: Error) => setError(failure.message)), running ? FOLLOW_INTERVAL_MS : 0);
    return () => {
      cancelled = true;
      clearTimeout(timer);
    };
  }, [followed, running, fetchPage, step.logUri]);

  // New lines keep the view at the bottom, unless the reader scrolled up to read.
  useLayoutEffect(() => {
    const list = scroller.current;
    if (list && pinnedToBottom.current) list.scrollTop = list.scrollHeight;
  }, [shown]);

  async function showEarlier() {
    if (!shown) return;
    setLoadingEarlier(true);
    try {
      const page = await fetchPage({ before: startOf(shown), limit: PAGE_BYTES });
      pinnedToBottom.current = false;
      setShown((value) => (value && page.endOffset === startOf(value) ? { ...value, pages: [page, ...value.pages] } : value));
    } catch (failure) {
      setError((failure as Error).message);
    } finally {
      setLoadingEarlier(false);
    }
  }

  const label = `Log of ${step.name}`;
  if (!step.logUri) {
    return (
      <p className="muted step-log-none">{step.isCached ? 'No log: the step was cached and did not run.' : 'No log.'}</p>
    );
  }
  const lines = shown?.pages.flatMap((page) => page.entries.map((entry, index) => ({ key: `${page.startOffset}:${index}`, entry }))) ?? [];
  return (
    <section className="step-log" aria-label={label}>
      <header className="step-log-header">
        <h4>Log</h4>
        <span className="muted">
          {shown ? formatBytes(shown.totalBytes) : ''}
          {running && <span className="step-log-live"> · following live</span>}
        </span>
      </header>
      {error && (
        <p role="alert" className="state-error">
          The log cannot be read: {error}
        </p>
      )}
      {shown && startOf(shown) > 0 && (
        <button type="button" className="secondary" onClick={() => void showEarlier()} disabled={loadingEarlier} aria-busy={loadingEarlier}>
          Show earlier lines ({formatBytes(startOf(shown))} before)
        </button>
      )}
      <ol
        ref={scroller}
        className="step-log-lines"
        role="log"
        aria-label={label}
        tabIndex={0}
        onScroll={(event) => {
          const list = event.currentTarget;
          pinnedToBottom.current = list.scrollHeight - list.scrollTop - list.clientHeight < 8;
        }}
      >
        {shown && lines.length === 0 && <li className="muted">{running ? 'Nothing printed yet.' : 'The step printed nothing.'}</li>}
        {lines.map(({ key, entry }) => (
          <li key={key} className={`step-log-line level-${entry.level.toLowerCase()}`}>
            <time className="step-log-time" dateTime={entry.time ?? undefined}>
              {timeOf(entry)}
            </time>
            <span className="step-log-level">{entry.level}</span>
            <pre className="step-log-message">{entry.message}</pre>
          </li>
        ))}
      </ol>
    </section>
  );
}
