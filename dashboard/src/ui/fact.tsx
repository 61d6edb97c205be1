import type { ReactNode } from 'react';

/** One term of a list of facts (a run's, a step's, a version's). */
export function Fact({ term, className, children }: { term: string; className?: string; children: ReactNode }) {
  return (
    <div>
      <dt>{term}</dt>
      <dd className={className}>{children}</dd>
    </div>
  );
}
