import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import prettier from 'eslint-config-prettier';
import globals from 'globals';

export default tseslint.config(
  {
    ignores: ['dist/**', 'lib/**', 'coverage/**', 'node_modules/**', 'tools/node24/**', '.tmp/**'],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  prettier,
  {
    files: ['src/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['@actions/*'],
              allowTypeImports: true,
              message: 'Only the action entry points (src/entry/) may import @actions/*.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['src/entry/**/*.ts'],
    rules: { 'no-restricted-imports': 'off' },
  },
  {
    languageOptions: {
      globals: { ...globals.node },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
    },
  },
);
