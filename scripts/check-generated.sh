#!/usr/bin/env bash
# Fails when a generated file (migrations, schema.graphql, the typed client documents) differs from what its source produces.
set -euo pipefail
cd "$(dirname "$0")/.."
npm run --silent generate >/dev/null
changes=$(git status --porcelain -- drizzle schema.graphql client/generated 2>/dev/null)
if [ -n "$changes" ]; then
  echo "Generated files are stale; run 'npm run generate' and commit the result:" >&2
  echo "$changes" >&2
  exit 1
fi
echo "Generated files are up to date."
