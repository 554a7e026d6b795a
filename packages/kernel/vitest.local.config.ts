import { defineConfig } from 'vitest/config';
export default defineConfig({
  root: new URL('../..', import.meta.url).pathname,
  resolve: { conditions: ['source'] },
  ssr: { resolve: { conditions: ['source'] } },
  test: { include: ['packages/*/src/**/*.test.ts', 'apps/*/src/**/*.test.ts'], testTimeout: 60000, pool: 'threads' },
});
