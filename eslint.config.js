import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  // The dashboard's TypeScript is linted here; its .svelte files are checked by svelte-check (npm run check).
  { ignores: ['node_modules/', 'dashboard/build/', 'dashboard/.svelte-kit/', '.data/', 'coverage/', 'db/migrations/', 'clients/dist/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-console': 'error',
    },
  },
  {
    files: ['tests/**', 'scripts/**', 'db/admin/**'],
    rules: { 'no-console': 'off' },
  },
  {
    // Tests read untyped JSON responses.
    files: ['tests/**'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
);
