/** How many runs a comparison takes: the server's compareRuns refuses fewer or more. */
export const MIN_COMPARED_RUNS = 2;
export const MAX_COMPARED_RUNS = 10;
