import { defineConfig, type Options } from 'tsup';

/** The one build configuration of every workspace package: ESM with type declarations for Node 20. */
export function packageBuild(entry: string[] = ['src/index.ts']): ReturnType<typeof defineConfig> {
  const options: Options = { entry, format: ['esm'], dts: true, clean: true, sourcemap: true, target: 'node20' };
  return defineConfig(options);
}
