import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { ROOT, rel, workspaceDirs } from './source-graph.js';

/**
 * The playground imports the library packages into a web page, so each library entry point must bundle for
 * the browser: esbuild with `platform: 'browser'` refuses every Node built-in (`node:fs`, `fs`, ...). Entry
 * points are the package's "exports" (sources, through the `source` condition), except `./node` subpaths,
 * which exist to hold the Node-only code. Node globals a page lacks (`process.env`, `Buffer`) fail it too.
 */
interface Manifest {
  name: string;
  exports?: Record<string, { source?: string }>;
}

const entries = workspaceDirs()
  .filter((dir) => rel(dir).startsWith('packages/'))
  .flatMap((dir) => {
    const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as Manifest;
    return Object.entries(manifest.exports ?? {})
      .filter(([subpath, conditions]) => subpath !== './node' && !subpath.endsWith('/node') && conditions.source !== undefined)
      .map(([subpath, conditions]) => [`${manifest.name}${subpath.slice(1)}`, join(dir, conditions.source!)] as const);
  });

describe('library packages bundle for the browser', () => {
  it('has entry points to check', () => {
    expect(entries.length).toBeGreaterThanOrEqual(7);
  });

  it.each(entries)('%s', async (_name, entry) => {
    const result = await build({
      entryPoints: [entry],
      bundle: true,
      write: false,
      platform: 'browser',
      format: 'esm',
      conditions: ['source'],
      absWorkingDir: ROOT,
      logLevel: 'silent',
      metafile: true,
    }).catch((error: unknown) => {
      const errors = (error as { errors?: Array<{ text: string; location?: { file: string; line: number } | null }> }).errors ?? [];
      return { failures: errors.map((e) => `${e.location ? `${e.location.file}:${e.location.line}: ` : ''}${e.text}`) };
    });
    if ('failures' in result) expect(result.failures, 'Node-only imports (move them behind a ./node subpath or into an app)').toEqual([]);
    else {
      expect(Object.keys(result.metafile.inputs).filter((input) => input.startsWith('node:'))).toEqual([]);
      // Node globals a page does not have (esbuild leaves them as they are).
      const text = result.outputFiles.map((f) => f.text).join('\n');
      expect(text.match(/\b(?:process\.(?:env|argv|exit|stdout|stderr|hrtime|cwd)|Buffer\.(?:from|alloc)|(?<![.\w$])require\(['"`])/g) ?? []).toEqual([]);
    }
  });
});
