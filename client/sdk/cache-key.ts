// The cache key domain.md defines: a hash of the step's code, parameters, input artifact
// versions, output names and the artifact store (id and path). Same key, same outputs.
import { createHash } from 'node:crypto';
import { stringify } from 'safe-stable-stringify';
import type { StepDefinition } from './step';

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** The step's source code, hashed: editing the function invalidates its cache. */
export function codeHash(definition: StepDefinition): string {
  return sha256(definition.run.toString());
}

export interface CacheKeyParts {
  codeHash: string;
  parameters: Record<string, unknown>;
  /** Input name → the artifact version consumed. */
  inputs: Record<string, string>;
  definition: StepDefinition;
  artifactStore: { id: string; path: string };
}

export function cacheKey(parts: CacheKeyParts): string {
  return sha256(
    stringify({
      code: parts.codeHash,
      parameters: parts.parameters,
      inputs: parts.inputs,
      outputs: parts.definition.outputNames,
      artifacts: parts.definition.options.artifacts ?? {},
      artifactStore: parts.artifactStore,
    }) ?? '',
  );
}
