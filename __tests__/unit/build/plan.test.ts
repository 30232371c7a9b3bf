// Phases 1 and 2 (src/build/plan.ts): digests, the build key, reuse, and the ECR pull-through cache.
import { afterEach, describe, expect, it } from '@jest/globals';
import { RunInstancesCommand } from '@aws-sdk/client-ec2';
import { buildSnapshot, STATE_INSTANCE_IDS } from '../../../src/build/index.js';
import { mockAws, type MockedAws } from '../../../test-support/aws-mocks.js';
import { buildKey } from '../../../src/cache/build-key.js';
import { rejectionOf } from '../../../test-support/rejection.js';
import { APP, config, deps, PAUSE, REGISTRY, resolved } from '../../../test-support/build.js';

let aws: MockedAws | undefined;
afterEach(() => aws?.restore());

describe('planning the build', () => {
  it('pulls and resolves images of a cached registry through the ECR pull-through cache, keeping their names', async () => {
    const GHCR = 'ghcr.io/acme/trainer:v7';
    const CACHED = '123456789012.dkr.ecr.us-west-2.amazonaws.com/ghcr/acme/trainer:v7';
    aws = mockAws([
      { ref: CACHED, platforms: ['linux/amd64', 'linux/arm64'], auth: 'ecr' },
      ...REGISTRY,
    ]);
    const c = config({ images: `${GHCR}\n${PAUSE}`, 'pull-through-cache': 'ghcr.io=ghcr' });
    const asked: string[] = [];
    const { d, logger } = deps(aws, {
      resolveDigests: async (images) => {
        asked.push(...images.map((i) => i.normalized));
        return resolved({ ...c, images: [...images] });
      },
    });
    const result = await buildSnapshot(c, d);
    expect(asked).toEqual([CACHED, PAUSE]);
    // The build key and the report speak of the images by their own names.
    expect(result.buildKey).toBe(buildKey(c, resolved(c).resolved));
    expect(result.images.map((i) => [i.reference, i.status])).toEqual([
      [GHCR, 'ok'],
      [GHCR, 'ok'],
      [PAUSE, 'ok'],
      [PAUSE, 'ok'],
    ]);
    expect(aws.scripts[0]).toContain(`SRCS=('${CACHED}' '${PAUSE}')`);
    expect(aws.scripts[0]).toContain(`REFS=('${GHCR}' '${PAUSE}')`);
    expect(logger.text()).toContain(`${GHCR} comes through the ECR pull-through cache: ${CACHED}`);
  });

  it('reuses a completed snapshot with the same build key and launches nothing', async () => {
    aws = mockAws(REGISTRY);
    const c = config();
    const r = resolved(c);
    // Another lineage's snapshot with the same key (listed first) is not reused: that
    // lineage's retention may delete it.
    const keyed = (id: string, lineage: string) => ({
      SnapshotId: id,
      State: 'completed' as const,
      VolumeSize: 50,
      Tags: [
        { Key: 'bottlerocket-ebs-snapshot:build-key', Value: buildKey(c, r.resolved) },
        { Key: 'bottlerocket-ebs-snapshot:lineage', Value: lineage },
      ],
    });
    aws.existingSnapshots.push(
      keyed('snap-0bbbbbbbbbbbbbbbb', 'acme/other'),
      keyed('snap-0aaaaaaaaaaaaaaaa', 'acme/platform'),
    );
    const { d, state } = deps(aws, { resolveDigests: async () => r });
    const result = await buildSnapshot(c, d);
    expect(result.cacheHit).toBe(true);
    expect(result.snapshotId).toBe('snap-0aaaaaaaaaaaaaaaa');
    expect(result.images.every((i) => i.reused)).toBe(true);
    expect(result.phases.map((p) => p.outcome)).toEqual([
      'ok',
      'ok',
      'skipped',
      'skipped',
      'skipped',
      'skipped',
      'skipped',
      'skipped',
    ]);
    // The skipped phases are titled as the table writes them, counts and all.
    expect(result.phases[5]?.title).toBe('Pulling 2 images for 2 platforms');
    expect(aws.ec2.commandCalls(RunInstancesCommand)).toHaveLength(0);
    expect(state.get(STATE_INSTANCE_IDS)).toBeUndefined();
  });

  it('fails before launching when the registry says an image lacks a platform', async () => {
    aws = mockAws(REGISTRY);
    const c = config();
    const error = await rejectionOf(
      buildSnapshot(
        c,
        deps(aws, { resolveDigests: async () => resolved(c, `${PAUSE} linux/arm64`) }).d,
      ),
    );
    expect(error.message).toContain(`${PAUSE} (linux/arm64)`);
    expect(error.message).toContain('on-missing-platform: skip');
    expect(aws.ec2.commandCalls(RunInstancesCommand)).toHaveLength(0);
  });

  it('says why a digest could not be resolved, and builds anyway without a key', async () => {
    aws = mockAws(REGISTRY);
    const c = config();
    const r = resolved(c);
    const { d } = deps(aws, {
      resolveDigests: async () => ({
        resolved: r.resolved.slice(1),
        failures: [{ image: c.images[0]!, reason: 'not authorized: denied', kind: 'unauthorized' }],
      }),
    });
    const result = await buildSnapshot(c, d);
    expect(result.buildKey).toBeUndefined();
    expect(result.warnings[0]).toContain(
      `Could not resolve ${APP} from the runner: not authorized: denied`,
    );
    expect(aws.ec2.commandCalls(RunInstancesCommand)).toHaveLength(1);
  });
});
