/**
 * The fast path of the bundled action, as the runner runs it: image digests
 * resolved from a real registry (the CNCF distribution registry on loopback),
 * a rerun with unchanged images that reuses the snapshot without launching
 * anything, an incremental build on the previous snapshot when one image
 * changed, copies to other regions and retention, against moto.
 */
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { CreateTagsCommand, DescribeSnapshotsCommand, EC2Client } from '@aws-sdk/client-ec2';
import {
  BUILD_INPUTS,
  instancesOfRun,
  startEmulator,
  type Emulator,
} from '../../test-support/emulator.js';
import {
  describeDenials,
  evaluateCalls,
  examplePolicies,
  saveEvaluation,
} from '../../test-support/iam-evaluate.js';
import { unavailable } from '../../test-support/components.js';
import { startRegistry, type TestRegistry } from '../../test-support/registry.js';
import { describeWith } from '../../test-support/requires.js';
import { runMainAndPost } from '../../test-support/runner.js';

const why = unavailable('docker-registry');
const suite = describeWith(why);

let registry: TestRegistry;
let emu: Emulator;
const ref = (repo: string, tag: string) => `${registry.host}/${repo}:${tag}`;

beforeAll(async () => {
  if (why) return;
  registry = await startRegistry();
  emu = await startEmulator([]);
}, 60_000);
afterAll(async () => {
  await emu?.close();
  await registry?.stop();
}, 30_000);

/** Pushes an image to the registry and serves the same digest to the builder's pulls. */
async function publish(repo: string, tag: string, served: Array<{ ref: string; digest: string }>) {
  const pushed = await registry.pushImage(repo, tag, {
    platforms: ['linux/amd64', 'linux/arm64'],
    index: true,
  });
  served.push({ ref: ref(repo, tag), digest: pushed.digest });
  emu.setRegistry(
    served.map((s) => ({
      ref: s.ref,
      platforms: ['linux/amd64', 'linux/arm64'],
      digest: s.digest,
      size: '12.0 MiB',
    })),
  );
  return pushed;
}

let run = 100;
async function action(inputs: Record<string, string>) {
  run++;
  const runId = String(run);
  const { main, post } = await runMainAndPost({
    inputs: {
      ...BUILD_INPUTS,
      name: 'fastpath',
      ...inputs,
    },
    env: { ...emu.env, GITHUB_RUN_ID: runId },
    timeoutMs: 90_000,
  });
  return { main, post, instances: await instancesOfRun(emu.ec2, runId) };
}

async function tagsOf(snapshotId: string, region = 'us-west-2') {
  const ec2 =
    region === 'us-west-2'
      ? emu.ec2
      : new EC2Client({
          region,
          endpoint: emu.moto.url,
          credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
        });
  const out = await ec2.send(new DescribeSnapshotsCommand({ SnapshotIds: [snapshotId] }));
  return Object.fromEntries((out.Snapshots?.[0]?.Tags ?? []).map((t) => [t.Key, t.Value]));
}

suite('fast path', () => {
  const served: Array<{ ref: string; digest: string }> = [];
  let first = '';

  it('builds once, tagging the snapshot with the build key from the registry digests', async () => {
    await publish('team/app', '1', served);
    await publish('team/base', '1', served);
    const { main, instances } = await action({
      images: `${ref('team/app', '1')}\n${ref('team/base', '1')}`,
      platforms: 'linux/amd64,linux/arm64',
    });
    expect(main.stdout).not.toContain('::error::');
    expect(main.code).toBe(0);
    expect(main.outputs['cache-hit']).toBe('false');
    expect(main.outputs['build-key']).toMatch(/^[0-9a-f]{64}$/);
    expect(main.outputs['base-snapshot-id']).toBe('');
    expect(instances).toHaveLength(1);
    first = main.outputs['snapshot-id'] ?? '';
    const tags = await tagsOf(first);
    expect(tags['bottlerocket-ebs-snapshot:build-key']).toBe(main.outputs['build-key']);
    expect(tags['bottlerocket-ebs-snapshot:lineage']).toBe('fastpath');
  }, 120_000);

  it('a rerun with unchanged images reuses that snapshot without launching an instance', async () => {
    const started = Date.now();
    const { main, post, instances } = await action({
      images: `${ref('team/base', '1')}, ${ref('team/app', '1')}`,
      platforms: 'linux/arm64,linux/amd64',
    });
    expect(main.code).toBe(0);
    expect(main.outputs['cache-hit']).toBe('true');
    expect(main.outputs['snapshot-id']).toBe(first);
    expect(instances).toEqual([]);
    expect(Date.now() - started).toBeLessThan(20_000);
    expect(main.summary).toContain('(reused)');
    expect(post.stdout).toContain('nothing to clean up');
  }, 60_000);

  it('when one image changed, builds on the previous snapshot and pulls only what changed', async () => {
    const pushed = await publish('team/app', '2', served);
    expect(pushed.digest).not.toBe(served.find((s) => s.ref === ref('team/app', '1'))?.digest);
    const { main, instances } = await action({
      images: `${ref('team/app', '2')}\n${ref('team/base', '1')}`,
      platforms: 'linux/amd64,linux/arm64',
    });
    expect(main.code).toBe(0);
    expect(main.outputs['cache-hit']).toBe('false');
    expect(main.outputs['base-snapshot-id']).toBe(first);
    expect(instances).toHaveLength(1);
    expect(instances[0]?.State?.Name).toBe('terminated');
    const command = emu.ssm.commands.find((c) =>
      c.instanceIds.includes(instances[0]?.InstanceId ?? ''),
    );
    expect(command?.parameters.commands).toContain('PRUNE=1');
    const tags = await tagsOf(main.outputs['snapshot-id'] ?? '');
    expect(tags['bottlerocket-ebs-snapshot:base-snapshot']).toBe(first);
    expect(main.summary).toContain(`Incremental build on \`${first}\``);
  }, 120_000);

  it('with reuse: never, builds even though nothing changed', async () => {
    const { main, instances } = await action({
      images: `${ref('team/app', '2')}\n${ref('team/base', '1')}`,
      platforms: 'linux/amd64,linux/arm64',
      reuse: 'never',
      'base-snapshot': 'none',
    });
    expect(main.code).toBe(0);
    expect(main.outputs['cache-hit']).toBe('false');
    expect(instances).toHaveLength(1);
  }, 120_000);

  it('copies to other regions and shares them; retention keeps what it cannot prove unused', async () => {
    const { main } = await action({
      images: ref('team/base', '1'),
      platforms: 'linux/amd64',
      'copy-to-regions': 'eu-west-1',
      'share-with-accounts': '111122223333',
      'keep-snapshots': '2',
    });
    expect(main.stdout).not.toContain('::error::');
    expect(main.code).toBe(0);
    const ids = JSON.parse(main.outputs['snapshot-ids'] ?? '{}') as Record<string, string>;
    expect(Object.keys(ids).sort()).toEqual(['eu-west-1', 'us-west-2']);
    const shares = emu.calls.filter((c) => c.operation === 'ModifySnapshotAttribute');
    expect(shares.map((c) => [c.region, c.params.SnapshotId, c.params['UserId.1']]).sort()).toEqual(
      [
        ['eu-west-1', ids['eu-west-1'], '111122223333'],
        ['us-west-2', ids['us-west-2'], '111122223333'],
      ],
    );
    expect(
      (await tagsOf(ids['eu-west-1'] ?? '', 'eu-west-1'))['bottlerocket-ebs-snapshot:lineage'],
    ).toBe('fastpath');
    // moto has no DescribeFastSnapshotRestores, so retention cannot prove the older snapshots
    // unused: it keeps them and says why, which is the safe side. Deletion itself is covered
    // against moto (with that call stubbed) in distribute.test.ts and with mocks in retention.test.ts.
    const deleted = JSON.parse(main.outputs['deleted-snapshots'] ?? '[]') as string[];
    expect(deleted).toEqual([]);
    expect(main.stdout).toContain(
      `::warning::Could not check whether ${first} in us-west-2 is still needed`,
    );
    expect(main.summary).toContain('### Retention');
    expect((await tagsOf(first))['bottlerocket-ebs-snapshot:lineage']).toBe('fastpath');
  }, 120_000);
});

suite('half-made snapshots', () => {
  it('a snapshot whose build never finished (a killed run) is neither reused nor built on', async () => {
    const images = `${ref('team/app', '2')}\n${ref('team/base', '1')}`;
    const lineage = await emu.ec2.send(
      new DescribeSnapshotsCommand({
        Filters: [{ Name: 'tag:bottlerocket-ebs-snapshot:lineage', Values: ['fastpath'] }],
      }),
    );
    const ids = (lineage.Snapshots ?? []).map((s) => s.SnapshotId ?? '');
    expect(ids.length).toBeGreaterThan(1);
    // As a run killed after CreateSnapshot leaves them: completed by EC2, still "building".
    await emu.ec2.send(
      new CreateTagsCommand({
        Resources: ids,
        Tags: [{ Key: 'bottlerocket-ebs-snapshot:state', Value: 'building' }],
      }),
    );
    const { main, instances } = await action({ images, platforms: 'linux/amd64,linux/arm64' });
    expect(main.code).toBe(0);
    expect(main.outputs['cache-hit']).toBe('false');
    expect(main.outputs['base-snapshot-id']).toBe('');
    expect(instances).toHaveLength(1);
    const built = main.outputs['snapshot-id'] ?? '';
    expect(ids).not.toContain(built);
    expect((await tagsOf(built))['bottlerocket-ebs-snapshot:state']).toBe('complete');
    // That finished build is what the next run reuses.
    const again = await action({ images, platforms: 'linux/amd64,linux/arm64' });
    expect(again.main.outputs['cache-hit']).toBe('true');
    expect(again.main.outputs['snapshot-id']).toBe(built);
  }, 180_000);
});

suite('IAM', () => {
  it('every AWS call of these runs is allowed by the example policies (permissions, and trust for the web identity)', async () => {
    const decisions = await evaluateCalls(emu.calls, examplePolicies());
    saveEvaluation('action-fastpath', emu.calls, decisions);
    expect(decisions.length).toBeGreaterThan(emu.calls.length / 2);
    expect(describeDenials(decisions)).toEqual([]);
  }, 60_000);
});
