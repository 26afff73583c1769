// ESLint (flat config): `npm run lint` runs it with the type check, the layer check and prettier.
// Formatting is prettier's job (.prettierrc.json); nothing here is a style rule.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/** The Node globals the few plain .js files use (they are outside the TypeScript project). */
const nodeGlobals = { process: 'readonly', console: 'readonly', URL: 'readonly' };

export default tseslint.config(
  {
    ignores: [
      'dist/',
      '.bench-build/',
      '.test-build/',
      'bench/profiles/',
      'data/',
      'coverage/',
      'scratch/',
      'node_modules/',
    ],
  },
  js.configs.recommended,
  {
    // Prettier owns line breaks and always writes semicolons, so no statement can run into the
    // next; its `a\n  [Symbol.iterator]()` chains would trip this rule (eslint-config-prettier
    // turns it off for the same reason).
    rules: { 'no-unexpected-multiline': 'off' },
  },
  { files: ['**/*.js', '**/*.cjs', '**/*.mjs'], languageOptions: { globals: nodeGlobals } },
  {
    // Type-aware rules need every file in tsconfig.json's project (src, models, test, bench, examples).
    files: ['src/**/*.ts', 'models/**/*.ts', 'test/**/*.ts', 'bench/**/*.ts', 'examples/**/*.ts', 'web/**/*.ts'],
    extends: [tseslint.configs.recommendedTypeChecked],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      // The rules that catch real bugs in an async actor runtime: a promise nobody awaits or
      // catches loses its failure (or crashes the process as an unhandled rejection).
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/await-thenable': 'error',
      // A caught value is rethrown or passed on as it is: its type is `unknown` by design.
      '@typescript-eslint/prefer-promise-reject-errors': ['error', { allowThrowingUnknown: true }],
      // Same convention as tsc's noUnusedLocals/noUnusedParameters: a leading `_` marks "unused on purpose".
      '@typescript-eslint/no-unused-vars': [
        'error',
        {
          argsIgnorePattern: '^_',
          varsIgnorePattern: '^_',
          caughtErrorsIgnorePattern: '^_',
          destructuredArrayIgnorePattern: '^_',
        },
      ],
      // Off, with reasons:
      // - `any` is deliberate where it is written: `TwinModel<any>` lets models with different lane
      //   maps share one list (TwinModel is invariant in its lanes), and tests read parsed JSON. The
      //   no-unsafe-* family then flags every use of such values and idioms like `new Map()` and
      //   `new Array(n)`; under `strict` tsc none of its 140 findings here was a bug.
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      // - Fastify route handlers and async interface methods (StateStore, authorizers) are async by
      //   contract even when one implementation has nothing to await.
      '@typescript-eslint/require-await': 'off',
    },
  },
  {
    // Root config files (vitest.config.ts) are outside tsconfig.json's project: the rules without types.
    files: ['*.ts'],
    extends: [tseslint.configs.recommended],
  },
  {
    // Library code logs through the logger (src/logger.ts); only the CLI talks to the terminal.
    // (Today src/cli writes with process.stdout/stderr.write, not console.*; the exemption leaves it free to.)
    files: ['src/**/*.ts', 'web/**/*.ts'],
    ignores: ['src/cli/**'],
    rules: { 'no-console': 'error' },
  },
);
