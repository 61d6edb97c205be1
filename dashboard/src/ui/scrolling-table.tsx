import type { ReactNode } from 'react';

/**
 * A table under its column headings, which scrolls sideways on a narrow screen rather than
 * squeezing its columns. Its rows are the children.
 */
export function ScrollingTable({ label, columns, children }: { label: string; columns: readonly string[]; children: ReactNode }) {
  return (
    <div className="table-scroll" role="region" aria-label={label} tabIndex={0}>
      <table>
        <thead>
          <tr>
            {columns.map((column) => (
              <th scope="col" key={column}>
                {column}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>{children}</tbody>
      </table>
    </div>
  );
}
