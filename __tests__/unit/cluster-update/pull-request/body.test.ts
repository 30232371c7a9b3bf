import { describe, expect, it } from '@jest/globals';
import {
  MAX_BODY_CHARS,
  renderPullRequestBody,
  type PullRequestBodyData,
} from '../../../../src/cluster-update/pull-request/body.js';

describe('renderPullRequestBody', () => {
  const data: PullRequestBodyData = {
    files: [
      {
        path: 'clusters/prod.yaml',
        targets: [
          {
            kind: 'eksctl managedNodeGroup',
            name: 'ng|1',
            previousSnapshotId: 'snap-0aaa',
            snapshotId: 'snap-0bbb',
            previousSize: 50,
            size: 80,
          },
          {
            kind: 'eksctl nodeGroup',
            name: 'ng-2',
            previousSnapshotId: null,
            snapshotId: 'snap-0bbb',
          },
        ],
      },
      {
        path: 'karpenter/node`class.yaml',
        targets: [
          {
            kind: 'EC2NodeClass',
            name: 'default',
            previousSnapshotId: 'snap-0aaa',
            snapshotId: 'snap-0bbb',
            previousSize: '80Gi',
            size: '80Gi',
          },
        ],
      },
    ],
    images: [
      {
        reference: 'public.ecr.aws/nginx/nginx:1.27',
        platform: 'linux/amd64',
        digest: 'sha256:abc',
        sizeBytes: 52_428_800,
      },
      { reference: 'weird|image`ref', platform: 'linux/arm64' },
    ],
    volumeSizeGiB: 80,
    snapshotId: 'snap-0bbb',
    region: 'eu-west-1',
    runUrl: 'https://github.com/acme/infra/actions/runs/1',
    karpenterTouched: true,
  };

  it('renders the changes, images, volume size, drift note and run link', () => {
    const body = renderPullRequestBody(data);
    expect(body).toContain(
      '| `clusters/prod.yaml` | eksctl managedNodeGroup | `ng\\|1` | `snap-0aaa` → `snap-0bbb` | 50 GiB → 80 GiB |',
    );
    expect(body).toContain('| (none) → `snap-0bbb` |');
    expect(body).toContain('| karpenter/node\\`class.yaml | EC2NodeClass | `default` |');
    expect(body).toContain('80Gi (unchanged)');
    expect(body).toContain(
      '| `public.ecr.aws/nginx/nginx:1.27` | linux/amd64 | `sha256:abc` | 50.0 MiB |',
    );
    expect(body).toContain('| weird\\|image\\`ref | linux/arm64 |  |  |');
    expect(body).toContain('**80 GiB**');
    expect(body).toContain('Karpenter');
    expect(body).toContain('drift');
    expect(body).toContain('[this workflow run](https://github.com/acme/infra/actions/runs/1)');
    // Every table row has the same number of unescaped cell separators as its header.
    for (const row of body.split('\n').filter((l) => l.startsWith('| `clusters'))) {
      expect(row.replace(/\\\|/g, '').split('|')).toHaveLength(7);
    }
  });

  it('leaves out the drift note and run link when they do not apply', () => {
    const noRun: PullRequestBodyData = { ...data, karpenterTouched: false };
    delete noRun.runUrl;
    const body = renderPullRequestBody(noRun);
    expect(body).not.toContain('Karpenter');
    expect(body).not.toContain('workflow run');
  });

  it('stays below the limit by cutting the images table short', () => {
    const images = Array.from({ length: 5000 }, (_, i) => ({
      reference: `registry.example.com/team/image-${i}:v1.2.3`,
      platform: 'linux/amd64',
      digest: `sha256:${String(i).padStart(64, '0')}`,
      sizeBytes: 1024 * i,
    }));
    const body = renderPullRequestBody({ ...data, images });
    expect(body.length).toBeLessThan(MAX_BODY_CHARS);
    const shown = body.split('\n').filter((l) => l.startsWith('| `registry.example.com')).length;
    expect(shown).toBeGreaterThan(100);
    expect(body).toContain(`| … and ${5000 - shown} more | | | |`);
    // The sections after the table survive.
    expect(body).toContain('**80 GiB**');
    expect(body).toContain('[this workflow run]');

    const small = renderPullRequestBody({ ...data, images }, 4000);
    expect(small.length).toBeLessThan(4000);
    expect(small).toMatch(/\| … and \d+ more \| \| \| \|/);
  });
});
