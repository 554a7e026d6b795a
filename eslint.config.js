// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import { readFileSync } from 'node:fs';

/** The layering rules of ARCHITECTURE.md, shared with tests/layering.test.ts. */
const LAYERS = /** @type {{ packages: Record<string, { may: string[], why: string }> }} */ (
  JSON.parse(readFileSync(new URL('./layering.json', import.meta.url), 'utf8'))
).packages;

/** One no-restricted-imports block per package: every workspace package it may not use, with the reason. */
const layeringBlocks = Object.entries(LAYERS).map(([name, rule]) => {
  const forbidden = Object.keys(LAYERS).filter((other) => other !== name && !rule.may.includes(other));
  const dir = name.replace('@ebpf-sim/', '');
  return {
    files: [`packages/${dir}/src/**/*.ts`],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: forbidden.flatMap((pkg) => [pkg, `${pkg}/*`]),
              message: `${name} may depend only on [${rule.may.join(', ') || 'nothing'}]: ${rule.why} (ARCHITECTURE.md, layering.json).`,
            },
          ],
        },
      ],
    },
  };
});

export default tseslint.config(
  { ignores: ['**/dist/**', '**/node_modules/**', '**/.turbo/**', '**/*.config.ts', '**/*.config.js', 'coverage/**', '**/fixtures/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        projectService: { allowDefaultProject: ['apps/*/bin/*.js'] },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-explicit-any': 'error',
    },
  },
  // Plain JavaScript (launchers, scripts): no type information, Node globals.
  { files: ['**/*.js', '**/*.mjs'], ...tseslint.configs.disableTypeChecked },
  { files: ['**/*.js', '**/*.mjs'], languageOptions: { globals: { process: 'readonly', console: 'readonly', URL: 'readonly' } } },
  {
    files: ['**/*.test.ts', 'tests/**/*.ts'],
    rules: {
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
    },
  },
  ...layeringBlocks,
);
