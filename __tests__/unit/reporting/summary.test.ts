import { describe, expect, it } from '@jest/globals';
import type { BuildResult } from '../../../src/build/index.js';
import type { ClusterUpdateResult } from '../../../src/cluster-update/index.js';
import { eksctlSnippet, karpenterSnippet } from '../../../src/cluster-update/manifests/snippets.js';
import { buildSummary, clusterUpdateSummary } from '../../../src/reporting/summary.js';

/** The snapshot the manifest fixtures are rewritten to (as in cluster-update/manifests/fixture-cases.ts). */
const NEW_SNAPSHOT = 'snap-0f1e2d3c4b5a69788';

const BASE: ClusterUpdateResult = {
  updatedFiles: [],
  lookedAt: ['a.yaml'],
  referencedSnapshotIds: [],
  warnings: [],
  missingDataVolumes: [],
};

describe('buildSummary', () => {
  it('shows both Karpenter mappings and the eksctl group settings, sized for the snapshot', () => {
    const result = {
      snapshotId: NEW_SNAPSHOT,
      volumeSizeGiB: 50,
      durationSeconds: 300,
      region: 'us-west-2',
      instanceType: 'm7i.large',
      imageId: 'ami-0123456789abcdef0',
      images: [],
      phases: [],
      warnings: [],
      removed: [],
      cacheHit: false,
    } as unknown as BuildResult;
    const summary = buildSummary(result);
    expect(summary).toContain(['```yaml', karpenterSnippet(NEW_SNAPSHOT, 50), '```'].join('\n'));
    // eksctl's own default (80 GiB) is larger than the snapshot: the snippet keeps it.
    expect(summary).toContain(['```yaml', eksctlSnippet(NEW_SNAPSHOT, 80), '```'].join('\n'));
  });
});

describe('clusterUpdateSummary', () => {
  it('lists the warnings with file and line', () => {
    const summary = clusterUpdateSummary({
      ...BASE,
      warnings: [
        { path: 'k/a.yaml', line: 7, message: 'EC2NodeClass | x has no /dev/xvda' },
        { message: "targets lists 'gone', but no ..." },
      ],
    });
    expect(summary).toContain("- targets lists 'gone', but no ...");
    expect(summary).toContain('#### Warnings');
    expect(summary).toContain('- `k/a.yaml:7`: EC2NodeClass \\| x has no /dev/xvda');
  });

  it('gives the snippet for each implicit data volume', () => {
    const snippet = karpenterSnippet(NEW_SNAPSHOT, 50);
    const summary = clusterUpdateSummary({
      ...BASE,
      missingDataVolumes: [
        {
          path: 'k/a.yaml',
          line: 2,
          label: "EC2NodeClass 'default'",
          snippetKind: 'karpenter',
          snippet,
        },
      ],
    });
    expect(summary).toContain("- `k/a.yaml:2` EC2NodeClass 'default', in `spec`:");
    expect(summary).toContain(
      snippet
        .split('\n')
        .map((l) => `  ${l}`)
        .join('\n'),
    );
  });

  it('names a target without a name', () => {
    const summary = clusterUpdateSummary({
      ...BASE,
      updatedFiles: [
        {
          path: 'a.yaml',
          targets: [
            {
              kind: 'karpenter-awsnodetemplate',
              name: '',
              line: 3,
              previousSnapshotId: null,
              snapshotId: NEW_SNAPSHOT,
            },
          ],
        },
      ],
    });
    expect(summary).toContain('| karpenter-awsnodetemplate (no name) |');
  });
});
