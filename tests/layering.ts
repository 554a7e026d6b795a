import { readFileSync } from 'node:fs';
import { join } from 'node:path';

interface LayerRule {
  readonly may: readonly string[];
  readonly why: string;
}

/** The rules of `layering.json` (the one source eslint's no-restricted-imports reads too). */
export const LAYERS: Readonly<Record<string, LayerRule>> = (
  JSON.parse(readFileSync(join(import.meta.dirname, '..', 'layering.json'), 'utf8')) as { packages: Record<string, LayerRule> }
).packages;

/** Which workspace packages each package may depend on. */
export const ALLOWED_WORKSPACE_DEPS: Readonly<Record<string, readonly string[]>> = Object.fromEntries(
  Object.entries(LAYERS).map(([name, rule]) => [name, rule.may]),
);
