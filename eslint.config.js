import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import prettier from 'eslint-config-prettier';
import globals from 'globals';
import { LAYER_NAMES } from './scripts/architecture.mjs';

const ACTIONS_ONLY_IN_ENTRY = {
  group: ['@actions/*'],
  allowTypeImports: true,
  message: 'Only the action entry points (src/entry/) may import @actions/*.',
};

/**
 * One block per folder of src/: it may import from itself and the folders before it in
 * LAYER_NAMES (scripts/architecture.mjs), never from one after it.
 */
const layerRules = LAYER_NAMES.map((layer, i) => {
  const above = LAYER_NAMES.slice(i + 1);
  const patterns = layer === 'entry' ? [] : [ACTIONS_ONLY_IN_ENTRY];
  if (above.length > 0) {
    patterns.push({
      regex: `^(\\.\\./)+(${above.join('|')})(/|$)`,
      message: `src/${layer}/ is below ${above.join(', ')} (scripts/architecture.mjs): import only from folders before it.`,
    });
  }
  return {
    files: [`src/${layer}/**/*.ts`],
    rules: { 'no-restricted-imports': patterns.length > 0 ? ['error', { patterns }] : 'off' },
  };
});

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
      'no-restricted-imports': ['error', { patterns: [ACTIONS_ONLY_IN_ENTRY] }],
      // A function reads on one screen: longer ones split where their steps are.
      'max-lines-per-function': ['error', { max: 80 }],
    },
  },
  ...layerRules,
  {
    languageOptions: {
      globals: { ...globals.node },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      'no-duplicate-imports': ['error', { allowSeparateTypeImports: true }],
    },
  },
);
