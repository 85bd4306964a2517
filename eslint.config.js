// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import { plugin as layers } from './scripts/layers.mjs';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', '.tools/**', 'results/**', 'coverage/**'] },
  js.configs.recommended,
  ...tseslint.configs.strictTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        projectService: { allowDefaultProject: ['scripts/*.mjs', 'eslint.config.js'] },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    plugins: { h3bench: layers },
    rules: {
      // Layers depend one way and no import makes a cycle (scripts/layers.mjs; README "Layers").
      'h3bench/layers': 'error',
      '@typescript-eslint/restrict-template-expressions': [
        'error',
        { allowNumber: true, allowBoolean: true },
      ],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-restricted-imports': [
        'error',
        {
          paths: [
            {
              name: 'node:child_process',
              importNames: ['exec', 'execSync'],
              message: 'Never use a shell: execFile with an argv array.',
            },
          ],
          patterns: [
            {
              group: ['@matrixai/quic-linux-x64', '@matrixai/quic-linux-x64/*'],
              message: 'Only harness/proto/quic/binding.ts imports the native QUIC binding.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['harness/proto/quic/binding.ts'],
    rules: { 'no-restricted-imports': 'off' },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: { globals: { process: 'readonly', console: 'readonly' } },
  },
);
