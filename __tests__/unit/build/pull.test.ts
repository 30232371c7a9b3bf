// Phase 6 (src/build/pull.ts): what failed pulls say, and a platform an image lacks.
import { afterEach, describe, expect, it } from '@jest/globals';
import { CreateSnapshotCommand, TerminateInstancesCommand } from '@aws-sdk/client-ec2';
import { buildSnapshot, BuildFailure, STATE_INSTANCE_IDS } from '../../../src/build/index.js';
import { mockAws, type MockedAws } from '../../../test-support/aws-mocks.js';
import { rejectionOf } from '../../../test-support/rejection.js';
import { APP, config, deps, REGISTRY } from '../../../test-support/build.js';

let aws: MockedAws | undefined;
afterEach(() => aws?.restore());

describe('pulling', () => {
  it('fails with every failed image named, and leaves nothing behind', async () => {
    aws = mockAws([
      REGISTRY[0]!,
      {
        ref: APP,
        platforms: ['linux/amd64'],
        auth: 'ecr',
        error: 'failed to resolve reference: unexpected status 403 Forbidden',
      },
    ]);
    const { d, state } = deps(aws);
    const error = await rejectionOf(buildSnapshot(config(), d));
    expect(error).toBeInstanceOf(BuildFailure);
    const message = (error as Error).message;
    expect(message).toContain('2 pulls failed');
    expect(message).toContain(
      `${APP} (linux/amd64): ctr: failed to resolve reference: unexpected status 403 Forbidden`,
    );
    expect(message).toContain(`${APP} (linux/arm64)`);
    expect((error as BuildFailure).phases.at(-1)).toMatchObject({ index: 6, outcome: 'failed' });
    expect(aws.ec2.commandCalls(TerminateInstancesCommand)).toHaveLength(1);
    expect(aws.ec2.commandCalls(CreateSnapshotCommand)).toHaveLength(0);
    expect(state.get(STATE_INSTANCE_IDS)).toBe('');
  });

  it('points at volume-size when the data volume is full', async () => {
    aws = mockAws([
      REGISTRY[0]!,
      {
        ref: APP,
        platforms: ['linux/amd64', 'linux/arm64'],
        auth: 'ecr',
        error: 'failed to extract layer: write /var/lib/containerd/x: no space left on device',
      },
    ]);
    const error = await rejectionOf(buildSnapshot(config(), deps(aws).d));
    expect(error.message).toContain("raise 'volume-size'");
    expect(aws.ec2.commandCalls(TerminateInstancesCommand)).toHaveLength(1);
  });

  it('points at on-missing-platform when an image lacks a platform', async () => {
    aws = mockAws([REGISTRY[0]!, { ref: APP, platforms: ['linux/amd64'], auth: 'ecr' }]);
    const error = await rejectionOf(buildSnapshot(config(), deps(aws).d));
    expect(error.message).toContain('no match for platform');
    expect(error.message).toContain('on-missing-platform: skip');
  });

  it('skips a missing platform with a warning when asked', async () => {
    aws = mockAws([REGISTRY[0]!, { ref: APP, platforms: ['linux/amd64'], auth: 'ecr' }]);
    const { d } = deps(aws);
    const result = await buildSnapshot(config({ 'on-missing-platform': 'skip' }), d);
    expect(result.warnings).toEqual([
      `Skipped ${APP} (linux/arm64): the image has no linux/arm64 variant (on-missing-platform: skip).`,
    ]);
    expect(result.images.filter((i) => i.status === 'skip')).toHaveLength(1);
  });
});
