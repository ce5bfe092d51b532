// Flat config: typescript-eslint's type-aware rules (floating promises, unsafe `any`) over every
// TypeScript file of the project; Prettier owns formatting, so eslint-config-prettier turns off
// the stylistic rules that would fight it.
import eslint from '@eslint/js';
import prettier from 'eslint-config-prettier';
import reactHooks from 'eslint-plugin-react-hooks';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**', '.data/**', 'test/fixtures/**', 'client/schema.ts'] },
  eslint.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      globals: { ...globals.node },
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      // Off: ports return Promises, and their in-memory implementations (memory step store, in-process
      // queue, test doubles) are `async` without awaiting so that a throw is a rejection like the real one.
      '@typescript-eslint/require-await': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
    },
  },
  {
    // Tests read supertest's `res.body`, which is `any` by design, and assert its shape field by field.
    files: ['test/**/*.ts', 'src/**/*.spec.ts', 'src/**/*.contract.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-member-access': 'off', // res.body is `any`; each access is an assertion
      '@typescript-eslint/no-unsafe-assignment': 'off', // same reason: values taken from res.body
      '@typescript-eslint/no-unsafe-argument': 'off', // same reason: res.body values passed to expect()/helpers
      '@typescript-eslint/no-unsafe-call': 'off', // same reason: calls on values read from res.body
      '@typescript-eslint/no-unsafe-return': 'off', // same reason: waitFor callbacks return res.body values
    },
  },
  {
    // The web console (React, in the browser); its own tsconfig (DOM, JSX) is found by the project service.
    files: ['console/**/*.{ts,tsx}'],
    ...reactHooks.configs.flat['recommended-latest'],
    languageOptions: { globals: { ...globals.browser } },
  },
  {
    files: ['console/*.mjs'],
    languageOptions: { globals: { ...globals.node } },
  },
  {
    files: ['**/*.js', '**/*.mjs', '**/*.cjs'],
    ...tseslint.configs.disableTypeChecked,
  },
  prettier,
);
