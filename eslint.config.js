// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/** The layering rule: user space (loader) never reaches into the kernel; see ARCHITECTURE.md. */
const KERNEL_PACKAGES = ['@ebpf-sim/kernel', '@ebpf-sim/kernel/*', '@ebpf-sim/bpf', '@ebpf-sim/bpf/*', '@ebpf-sim/vm', '@ebpf-sim/verifier'];
const userSpaceRestriction = {
  patterns: [
    {
      group: KERNEL_PACKAGES,
      message: 'User space talks to the kernel only through the bpf() syscall ABI in @ebpf-sim/uapi; it never holds a kernel object. Only apps compose both sides.',
    },
  ],
};
const leafRestriction = (/** @type {string} */ pkg) => ({
  patterns: [
    {
      group: ['@ebpf-sim/*'],
      message: `${pkg} is a leaf of the dependency graph (ARCHITECTURE.md): it may not import other workspace packages.`,
    },
  ],
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
  { files: ['packages/isa/src/**/*.ts'], rules: { 'no-restricted-imports': ['error', leafRestriction('@ebpf-sim/isa')] } },
  { files: ['packages/uapi/src/**/*.ts'], rules: { 'no-restricted-imports': ['error', leafRestriction('@ebpf-sim/uapi')] } },
  { files: ['packages/loader/src/**/*.ts'], rules: { 'no-restricted-imports': ['error', userSpaceRestriction] } },
);
