import { useEffect } from 'react';

/** The document title, so tabs and history entries say which page they are. */
export function usePageTitle(title: string): void {
  useEffect(() => {
    document.title = `${title} · Stackyard`;
  }, [title]);
}
