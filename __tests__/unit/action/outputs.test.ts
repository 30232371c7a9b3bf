// src/action/outputs.ts: what a step hands back to the workflow, on the in-memory runtime: its
// outputs (a list cut to GitHub's 1 MB per output, with a warning), the job summary (cut to
// 1 MiB), and a failure: in the summary, with a build's phases and images, and as the step's
// failure message.
import { describe, expect, it } from '@jest/globals';
import {
  reportFailure,
  setBuildOutputs,
  setListOutput,
  setUpdateOutputs,
  writeSummary,
} from '../../../src/action/outputs.js';
import { BuildFailure, type BuildResult, type ImageResult } from '../../../src/build/index.js';
import type { ClusterUpdateResult } from '../../../src/cluster-update/index.js';
import { recordAwsCall } from '../../../src/aws/errors.js';
import { ActionError, InputError } from '../../../src/core/errors.js';
import { MAX_OUTPUT_BYTES, MAX_SUMMARY_BYTES } from '../../../src/core/limits.js';
import { MemoryRuntime } from '../../../test-support/action-runtime.js';

const bytes = (text: string) => Buffer.byteLength(text, 'utf8');

function image(n: number, overrides: Partial<ImageResult> = {}): ImageResult {
  return {
    reference: `registry.example.com/team/service-${n}:v1.2.3`,
    platform: 'linux/amd64',
    status: 'ok',
    digest: `sha256:${String(n).padStart(64, '0')}`,
    size: 1000 + n,
    seconds: 3,
    ...overrides,
  };
}

function buildResult(overrides: Partial<BuildResult> = {}): BuildResult {
  return {
    snapshotId: 'snap-0123456789abcdef0',
    volumeSizeGiB: 50,
    images: [image(1)],
    builderInstanceId: 'i-0123456789abcdef0',
    instanceType: 'm7i.large',
    imageId: 'ami-0aaaaaaaaaaaaaaaa',
    region: 'us-west-2',
    identity: { account: '123456789012', arn: 'arn:aws:sts::123456789012:assumed-role/b/gha' },
    durationSeconds: 312,
    phases: [],
    warnings: [],
    cacheHit: false,
    removed: [],
    ...overrides,
  };
}

function updateResult(overrides: Partial<ClusterUpdateResult> = {}): ClusterUpdateResult {
  return {
    updatedFiles: [
      {
        path: 'deploy/nodeclass.yaml',
        targets: [
          {
            kind: 'EC2NodeClass',
            name: 'default',
            line: 12,
            previousSnapshotId: 'snap-0aaaaaaaaaaaaaaaa',
            snapshotId: 'snap-0123456789abcdef0',
          },
        ],
      },
    ],
    warnings: [],
    missingDataVolumes: [],
    lookedAt: ['deploy/nodeclass.yaml'],
    referencedSnapshotIds: ['snap-0123456789abcdef0'],
    ...overrides,
  };
}

/** As many images as make a JSON list of about `mb` MB. */
const manyImages = (mb: number) => {
  const one = bytes(JSON.stringify(image(0)));
  return Array.from({ length: Math.ceil((mb * 1_000_000) / one) }, (_, n) => image(n));
};

describe('setListOutput', () => {
  it('sets the whole list as JSON when it fits, without a warning', () => {
    const rt = new MemoryRuntime();
    setListOutput(rt, 'deleted-snapshots', ['snap-1', 'snap-2']);
    expect(rt.outputs.get('deleted-snapshots')).toBe('["snap-1","snap-2"]');
    expect(rt.logger.messages('warning')).toEqual([]);
  });

  it('sets [] for an empty list', () => {
    const rt = new MemoryRuntime();
    setListOutput(rt, 'updated-files', []);
    expect(rt.outputs.get('updated-files')).toBe('[]');
  });

  it('keeps the first entries that fit in 1 MB, and warns how many it kept', () => {
    const rt = new MemoryRuntime();
    const images = manyImages(1.5);
    setListOutput(rt, 'images', images);

    const json = rt.outputs.get('images') ?? '';
    expect(bytes(json)).toBeLessThanOrEqual(MAX_OUTPUT_BYTES);
    const kept = JSON.parse(json) as ImageResult[];
    expect(kept.length).toBeGreaterThan(0);
    expect(kept.length).toBeLessThan(images.length);
    expect(kept).toEqual(images.slice(0, kept.length));
    expect(rt.logger.messages('warning')).toEqual([
      `Output 'images' lists ${kept.length} of ${images.length} entries: GitHub keeps 1 MB of an output. The log has them all.`,
    ]);
  });
});

describe('setBuildOutputs', () => {
  it('sets every build output, as strings', () => {
    const rt = new MemoryRuntime();
    setBuildOutputs(
      rt,
      buildResult({
        cacheHit: true,
        buildKey: 'f'.repeat(64),
        baseSnapshotId: 'snap-0base0000000000',
      }),
    );
    expect(Object.fromEntries(rt.outputs)).toEqual({
      'snapshot-id': 'snap-0123456789abcdef0',
      'volume-size': '50',
      images: JSON.stringify([image(1)]),
      'builder-instance-id': 'i-0123456789abcdef0',
      'duration-seconds': '312',
      'cache-hit': 'true',
      'build-key': 'f'.repeat(64),
      'base-snapshot-id': 'snap-0base0000000000',
    });
  });

  it('sets build-key and base-snapshot-id empty when the build had none', () => {
    const rt = new MemoryRuntime();
    setBuildOutputs(rt, buildResult());
    expect(rt.outputs.get('build-key')).toBe('');
    expect(rt.outputs.get('base-snapshot-id')).toBe('');
    expect(rt.outputs.get('cache-hit')).toBe('false');
  });

  it('cuts the images output of a very large build to 1 MB, the others whole', () => {
    const rt = new MemoryRuntime();
    setBuildOutputs(rt, buildResult({ images: manyImages(1.2) }));
    expect(bytes(rt.outputs.get('images') ?? '')).toBeLessThanOrEqual(MAX_OUTPUT_BYTES);
    expect(rt.outputs.get('snapshot-id')).toBe('snap-0123456789abcdef0');
    expect(rt.logger.messages('warning')).toEqual([
      expect.stringMatching(/^Output 'images' lists \d+ of \d+ entries: GitHub keeps 1 MB/),
    ]);
  });
});

describe('setUpdateOutputs', () => {
  it('sets updated-files, and no pull request outputs without a pull request', () => {
    const rt = new MemoryRuntime();
    const result = updateResult();
    setUpdateOutputs(rt, result);
    expect(Object.fromEntries(rt.outputs)).toEqual({
      'updated-files': JSON.stringify(result.updatedFiles),
    });
  });

  it('sets the pull request’s operation, number and URL', () => {
    const rt = new MemoryRuntime();
    setUpdateOutputs(
      rt,
      updateResult({
        pullRequest: {
          operation: 'created',
          number: 17,
          url: 'https://github.com/acme/platform/pull/17',
          branch: 'bottlerocket-ebs-snapshot/update',
          base: 'main',
        },
      }),
    );
    expect(rt.outputs.get('pull-request-operation')).toBe('created');
    expect(rt.outputs.get('pull-request-number')).toBe('17');
    expect(rt.outputs.get('pull-request-url')).toBe('https://github.com/acme/platform/pull/17');
  });

  it('sets only the operation when the pull request has no number or URL', () => {
    const rt = new MemoryRuntime();
    setUpdateOutputs(
      rt,
      updateResult({
        updatedFiles: [],
        pullRequest: { operation: 'unchanged', branch: 'b', base: 'main' },
      }),
    );
    expect(Object.fromEntries(rt.outputs)).toEqual({
      'updated-files': '[]',
      'pull-request-operation': 'unchanged',
    });
  });
});

describe('writeSummary', () => {
  it('writes the sections in order, one line apart, in one write', async () => {
    const rt = new MemoryRuntime();
    await writeSummary(rt, ['## Built\n', '### Manifests\n']);
    expect(rt.summaries).toEqual(['## Built\n\n### Manifests\n']);
  });

  it('cuts a summary over 1 MiB at a line, saying how much is left out', async () => {
    const rt = new MemoryRuntime();
    const row = `| ${'x'.repeat(95)} |`;
    const table = Array.from({ length: 12_000 }, () => row).join('\n');
    await writeSummary(rt, ['## Built\n', table]);

    const written = rt.summary();
    expect(bytes(written)).toBeLessThanOrEqual(MAX_SUMMARY_BYTES);
    expect(written.startsWith('## Built\n\n| x')).toBe(true);
    expect(written).toMatch(
      /\n\n> \d+ more lines of this summary are left out: GitHub keeps 1 MiB of a step's summary\. The log has all of it\.\n$/,
    );
  });
});

describe('reportFailure', () => {
  it('adds a build’s failure, with its images and phases, after what the step wrote', async () => {
    const rt = new MemoryRuntime();
    const failure = new BuildFailure(
      'The pull of 1 image failed: registry.example.com/team/service-2:v1.2.3: not found.',
      [
        { index: 1, title: 'Launch the builder', startedAt: 0, endedAt: 40_000, outcome: 'ok' },
        {
          index: 2,
          title: 'Pull the images',
          startedAt: 40_000,
          endedAt: 95_000,
          outcome: 'failed',
        },
      ],
      [image(1), image(2, { status: 'fail', message: 'not found' })],
    );
    await reportFailure(rt, failure, ['### Checked the inputs\n']);

    expect(rt.summaries).toHaveLength(1);
    const summary = rt.summary();
    expect(
      summary.startsWith(
        '### Checked the inputs\n\n## ❌ Bottlerocket data volume snapshot failed',
      ),
    ).toBe(true);
    expect(summary).toContain(
      '```\nThe pull of 1 image failed: registry.example.com/team/service-2:v1.2.3: not found.\n```',
    );
    expect(summary).toContain('### Images');
    expect(summary).toContain('registry.example.com/team/service-2:v1.2.3');
    expect(summary).toContain('### Timeline');
    expect(summary).toContain('2. Pull the images');
    // The action's own error: its message as it is, and no outputs set.
    expect(rt.failures).toEqual([
      'The pull of 1 image failed: registry.example.com/team/service-2:v1.2.3: not found.',
    ]);
    expect(rt.outputs.size).toBe(0);
  });

  it('adds any other error of the action’s own as a Failed section, the message as it is', async () => {
    const rt = new MemoryRuntime();
    await reportFailure(rt, new InputError('snapshot-id', 'snap-1 does not exist.'), []);
    expect(rt.summary()).toBe(
      "### ❌ Failed\n\n```\nInput 'snapshot-id': snap-1 does not exist.\n```\n",
    );
    expect(rt.failures).toEqual(["Input 'snapshot-id': snap-1 does not exist."]);
  });

  it('says an error not of the action’s own is unexpected', async () => {
    const rt = new MemoryRuntime();
    await reportFailure(rt, new TypeError("Cannot read properties of undefined (reading 'x')"), []);
    expect(rt.failures).toEqual([
      "Unexpected error: Cannot read properties of undefined (reading 'x')",
    ]);
    expect(rt.summary()).toContain("```\nCannot read properties of undefined (reading 'x')\n```");
  });

  it('names the AWS call an SDK error came from', async () => {
    const rt = new MemoryRuntime();
    const error = Object.assign(new Error('socket hang up'), { name: 'TimeoutError' });
    recordAwsCall(error, { operation: 'DescribeSnapshots', resource: 'snap-0abc' });
    await reportFailure(rt, error, []);
    expect(rt.failures).toEqual([
      'Unexpected error: DescribeSnapshots of snap-0abc failed: TimeoutError: socket hang up',
    ]);
    expect(rt.summary()).toContain(
      'DescribeSnapshots of snap-0abc failed: TimeoutError: socket hang up',
    );
  });

  it('reports a thrown non-error too', async () => {
    const rt = new MemoryRuntime();
    await reportFailure(rt, 'boom', []);
    expect(rt.failures).toEqual(['Unexpected error: boom']);
  });

  it('fails the step even when the summary cannot be written', async () => {
    const rt = new MemoryRuntime();
    rt.writeSummary = () => Promise.reject(new Error('GITHUB_STEP_SUMMARY: EACCES'));
    await reportFailure(rt, new ActionError('The builder never came online.'), []);
    expect(rt.failures).toEqual(['The builder never came online.']);
  });

  it('keeps the summary within 1 MiB whatever the failure’s message', async () => {
    const rt = new MemoryRuntime();
    const lines = Array.from(
      { length: 20_000 },
      (_, n) => `deploy/file-${n}.yaml: ${'y'.repeat(80)}`,
    );
    await reportFailure(rt, new ActionError(lines.join('\n')), ['## Built\n']);
    expect(bytes(rt.summary())).toBeLessThanOrEqual(MAX_SUMMARY_BYTES);
    expect(rt.summary()).toContain('more lines of this summary are left out');
    expect(rt.failures).toHaveLength(1);
  });
});
