// Lint: typescript-eslint's recommended rules plus the project's own boundaries.
// Layer direction and import cycles are checked by scripts/check-layers.ts (run by `npm run lint`).
import js from '@eslint/js'
import globals from 'globals'
import tseslint from 'typescript-eslint'

const cliOnlyPackages = ['@oclif/*', 'chalk', 'ora', 'inquirer', '@inquirer/*', 'cli-table3']

export default tseslint.config(
  {ignores: ['dist/**', 'node_modules/**', 'man/**', 'coverage/**']},
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {globals: {...globals.node}},
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', {argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none'}],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-restricted-syntax': [
        'error',
        {selector: "CallExpression[callee.property.name='only']", message: 'focused tests (.only) must not be committed'},
      ],
    },
  },
  {
    files: ['src/engine/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {patterns: [{group: cliOnlyPackages, message: 'the engine never imports CLI libraries; render in src/cli'}]},
      ],
    },
  },
  {
    files: ['test/**/*.ts', 'bench/**/*.ts', 'scripts/**/*.ts'],
    rules: {'@typescript-eslint/no-non-null-assertion': 'off'},
  },
)
