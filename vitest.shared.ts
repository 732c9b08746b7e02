// Shared vitest settings: tests run against each package's TypeScript sources (the `@resnet/source`
// export condition), never a stale dist/.
import type { ViteUserConfig } from 'vitest/config';

const conditions = ['@resnet/source', 'import', 'module', 'node', 'default'];

export const shared: ViteUserConfig = {
  resolve: { conditions },
  ssr: { resolve: { conditions, externalConditions: ['@resnet/source'] } },
  test: {
    environment: 'node',
    include: ['test/**/*.test.ts', 'src/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // TensorFlow.js keeps one engine per process; forked workers keep test files from sharing it.
    pool: 'forks',
    passWithNoTests: true,
    // The JSON report lets .ci/run print one 'N passed, N failed' line for the whole monorepo.
    reporters: ['default', ['json', { outputFile: 'test-results.json' }]],
  },
};
