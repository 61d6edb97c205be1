// The header's search box: finds stacks, components, pipelines, runs and artifacts by name as
// the user types, and opens the search page on Enter.
import { useQuery } from '@tanstack/react-query';
import { useEffect, useId, useState } from 'react';
import { useNavigate } from 'react-router';
import { SearchDocument } from '../../../client/generated/graphql';
import { execute } from '../api/execute';
import { queryKey } from '../api/query-client';
import { searchPath } from '../paths';
import { HitLink } from './search-hits';

/** Hits shown under the box; the search page shows more. */
const SUGGESTIONS = 8;
/** Typing pauses this long before the box asks the server. */
const DEBOUNCE_MS = 200;

export function SearchBox() {
  const [text, setText] = useState('');
  const [query, setQuery] = useState('');
  const [open, setOpen] = useState(false);
  const navigate = useNavigate();
  const listId = useId();

  useEffect(() => {
    const timer = setTimeout(() => setQuery(text.trim()), DEBOUNCE_MS);
    return () => clearTimeout(timer);
  }, [text]);

  const variables = { query, first: SUGGESTIONS };
  const results = useQuery({ queryKey: queryKey(SearchDocument, variables), queryFn: () => execute(SearchDocument, variables), enabled: query.length > 0 });
  const hits = results.data?.search.__typename === 'SearchResults' ? results.data.search.hits : [];
  const close = () => {
    setOpen(false);
    setText('');
  };

  return (
    <form
      role="search"
      className="search-box"
      onSubmit={(event) => {
        event.preventDefault();
        if (!text.trim()) return;
        navigate(searchPath(text.trim()));
        close();
      }}
      onBlur={(event) => {
        if (!event.currentTarget.contains(event.relatedTarget as Node | null)) setOpen(false);
      }}
      onKeyDown={(event) => {
        if (event.key === 'Escape') setOpen(false);
        // The arrow keys move between the box and the suggestions.
        if (event.key !== 'ArrowDown' && event.key !== 'ArrowUp') return;
        const stops = [...event.currentTarget.querySelectorAll<HTMLElement>('input, .search-suggestions a')];
        const at = stops.indexOf(document.activeElement as HTMLElement);
        const next = stops[at + (event.key === 'ArrowDown' ? 1 : -1)];
        if (next) {
          event.preventDefault();
          next.focus();
        }
      }}
    >
      <input
        type="search"
        aria-label="Search stacks, components, pipelines, runs and artifacts"
        placeholder="Search…"
        value={text}
        aria-controls={listId}
        aria-expanded={open && query.length > 0}
        onChange={(event) => {
          setText(event.target.value);
          setOpen(true);
        }}
        onFocus={() => setOpen(true)}
      />
      {open && query.length > 0 && (
        <div className="search-suggestions" id={listId}>
          {results.isPending ? (
            <p className="muted">Searching…</p>
          ) : hits.length === 0 ? (
            <p className="muted">Nothing is named like “{query}”.</p>
          ) : (
            <ul aria-label="Search results">
              {hits.map((hit) => (
                <li key={hit.id}>
                  <HitLink hit={hit} onFollow={close} />
                </li>
              ))}
            </ul>
          )}
        </div>
      )}
    </form>
  );
}
