/** Where the repository is, for the commands that read its fixtures or ../shared beside it (Node-only). */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

/**
 * The repository root: the nearest directory above this module holding pnpm-workspace.yaml. The module runs from
 * apps/cli/src in tests and from the bundle in apps/cli/dist, at different depths, so it is searched for. Falls
 * back to the working directory.
 */
export function repoRoot(): string {
  let dir = import.meta.dirname;
  for (let i = 0; i < 8; i++) {
    if (existsSync(join(dir, 'pnpm-workspace.yaml'))) return dir;
    dir = dirname(dir);
  }
  return resolve('.');
}
