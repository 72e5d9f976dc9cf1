// Type-aware linting. The layer rules keep data flowing one way: client → pool → protocol → transport, with
// certificates at the bottom; a lower layer never imports a higher one. lib/diagnostics (the diagnostics channels)
// sits below everything, so that every layer can publish. @opentelemetry/* is an optional peer dependency: only
// lib/opentelemetry (the `halibut-client/opentelemetry` entry point) may import it. lib/bullmq (the
// `halibut-client/bullmq` entry point) sits on top of everything and uses the public API alone, as a user would;
// only it may import bullmq, another optional peer dependency, and nothing else in lib imports it.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const FOLDERS = ['certificates', 'transport', 'protocol', 'pool', 'client', 'contracts', 'tentacle', 'discovery', 'testing', 'cli', 'diagnostics', 'opentelemetry', 'bullmq'];
const noOpenTelemetry = { group: ['@opentelemetry/*', '@opentelemetry/**'], message: 'only lib/opentelemetry may import @opentelemetry (an optional peer dependency)' };
const noBullmq = { group: ['bullmq', 'bullmq/**', 'ioredis', 'ioredis/**'], message: 'only lib/bullmq may import bullmq or ioredis (optional peer dependencies)' };

const layer = (folder, forbidden) => ({
  files: [`lib/${folder}/**/*.ts`],
  rules: {
    'no-restricted-imports': [
      'error',
      {
        patterns: [
          ...[...new Set(folder === 'opentelemetry' ? [...forbidden, 'bullmq'] : [...forbidden, 'opentelemetry', 'bullmq'])].map((f) => ({ group: [`../${f}/*`, `../${f}/**`], message: `lib/${folder} must not import the higher layer lib/${f}` })),
          ...(folder === 'opentelemetry' ? [] : [noOpenTelemetry]),
          noBullmq,
        ],
        paths: [{ name: 'node-forge', importNames: ['pki', 'asn1', 'pkcs12', 'md', 'util'], message: "node-forge is CommonJS: import forge from 'node-forge'" }],
      },
    ],
  },
});

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**', '.doc-snippets/**', 'docs-api/**'] },
  js.configs.recommended,
  ...tseslint.configs.strictTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true, allowBoolean: true, allowNullish: true }],
      '@typescript-eslint/no-unnecessary-condition': 'off',
      '@typescript-eslint/no-confusing-void-expression': 'off',
      '@typescript-eslint/no-extraneous-class': 'off',
      '@typescript-eslint/no-unnecessary-type-parameters': 'off',
      // Byte parsing under noUncheckedIndexedAccess: indexes are bounds-checked by the surrounding code.
      '@typescript-eslint/no-non-null-assertion': 'off',
    },
  },
  {
    files: ['spec/**/*.ts', 'examples/**/*.ts', 'bench/**/*.ts'],
    rules: {
      '@typescript-eslint/no-floating-promises': ['error', { allowForKnownSafeCalls: [{ from: 'package', package: 'node:test', name: ['it', 'describe', 'test', 'suite'] }] }],
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/require-await': 'off',
    },
  },
  { files: ['**/*.js', '**/*.mjs'], ...tseslint.configs.disableTypeChecked },
  // The bottom of all: waiting and aborting. It imports nothing else from lib, so that every layer may use it.
  {
    files: ['lib/util/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [{ group: ['../*', '../**'], message: 'lib/util is the bottom layer: it must not import anything else from lib' }] }] },
  },
  {
    files: ['lib/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            noOpenTelemetry,
            noBullmq,
            { group: ['./opentelemetry/*'], message: 'the core must not load lib/opentelemetry' },
            { group: ['./bullmq/*'], message: 'the core must not load lib/bullmq' },
          ],
        },
      ],
    },
  },
  layer('certificates', ['transport', 'protocol', 'pool', 'client', 'testing']),
  layer('transport', ['protocol', 'pool', 'client', 'testing']),
  layer('protocol', ['pool', 'client', 'testing']),
  layer('pool', ['client', 'testing']),
  layer('client', ['tentacle', 'discovery', 'testing', 'cli']),
  layer('contracts', ['pool', 'client', 'testing', 'cli', 'tentacle', 'discovery']),
  layer('tentacle', ['testing', 'cli']),
  layer('discovery', ['protocol', 'pool', 'client', 'testing', 'cli']),
  layer('testing', ['cli']),
  layer('cli', []),
  layer('diagnostics', FOLDERS.filter((f) => f !== 'diagnostics')),
  layer('opentelemetry', FOLDERS.filter((f) => f !== 'diagnostics' && f !== 'opentelemetry')),
  // The top: the public API (../index.js) and bullmq, nothing from inside the library's folders.
  {
    files: ['lib/bullmq/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: [noOpenTelemetry, { group: ['../*/*', '../*/**'], message: 'lib/bullmq uses the public API only: import from ../index.js' }] },
      ],
    },
  },
);
