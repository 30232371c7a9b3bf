/**
 * npm run bench:model — where the time goes, on a model of AWS.
 *
 * Drives the real orchestration (buildSnapshot, with its real polling and
 * phases) with simulated EC2/SSM/STS clients on a virtual clock: every AWS
 * operation takes the time the published reference run measured, and pulls and
 * snapshots take time in proportion to the bytes they move. Prints the critical
 * path of the reference flow (its own sequence: CloudFormation stack, SSM, pulls
 * one after another, stop, snapshot, 5-15 s polls), of our full build, of our
 * incremental build with one of the images changed, and of a cache hit, with
 * their ratios to the reference.
 *
 * Published reference run (data-on-eks, "preload container images"): stack
 * 3m14s, SSM ready 1s, pulls 5m38s + 3m36s one after the other, stop 49s,
 * snapshot 6m11s. The image sizes are not published; pull and snapshot times
 * are therefore taken per image as measured, and an image's share of the
 * snapshot is its share of the pull time unless --sizes says otherwise.
 *
 * Options (all optional):
 *   --pulls 338,216        seconds each image took to pull in the reference run
 *   --sizes 9.5,5.8        GiB per image (default: proportional to --pulls)
 *   --snapshot 371         seconds the reference snapshot took (all images)
 *   --snapshot-floor 60    seconds any snapshot takes however little changed (assumption)
 *   --boot 25              seconds from RunInstances to running (assumption)
 *   --agent 20             seconds from running to SSM online (assumption)
 *   --stop 49              seconds to stop the instance (reference run)
 *   --changed 1            index of the image that changed, for the incremental build
 *   --pull-speedup 1       how much faster each pull is on our builder than on the reference one
 *   --snapshot-mode stop   our snapshot-mode (stop or live)
 *   --checkpoints on       our checkpoint-snapshots (on or off)
 *   --changed-layers 1     share of the changed image's bytes in new layers (1: every layer changed;
 *                          a new app version on an unchanged base is often far less)
 */
import {
  CreateSnapshotCommand,
  DeleteSnapshotCommand,
  DescribeImagesCommand,
  DescribeInstancesCommand,
  DescribeInstanceTypesCommand,
  DescribeSnapshotsCommand,
  EC2Client,
  RunInstancesCommand,
  StopInstancesCommand,
  TerminateInstancesCommand,
} from '@aws-sdk/client-ec2';
import {
  CancelCommandCommand,
  DescribeInstanceInformationCommand,
  GetCommandInvocationCommand,
  GetParameterCommand,
  SendCommandCommand,
  SSMClient,
} from '@aws-sdk/client-ssm';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { mockClient } from 'aws-sdk-client-mock';
import { parseArgs } from 'node:util';
import { buildSnapshot, type BuildResult } from '../src/build/index.js';
import { buildKey } from '../src/cache/build-key.js';
import { VirtualClock } from '../test-support/virtual-clock.js';
import { parseInputs } from '../src/action/inputs/index.js';
import type { BuildConfig } from '../src/config/types.js';
import { MemoryLogger } from '../test-support/memory-logger.js';
import type { ResolvedImage } from '../src/cache/registry/index.js';
import { formatDuration } from '../src/core/format.js';
import { sdkClients } from '../test-support/aws-mocks.js';
import { successfulPullReport } from '../test-support/instance-sim.js';

const { values } = parseArgs({
  options: {
    pulls: { type: 'string', default: '338,216' },
    sizes: { type: 'string' },
    snapshot: { type: 'string', default: '371' },
    'snapshot-floor': { type: 'string', default: '60' },
    boot: { type: 'string', default: '25' },
    agent: { type: 'string', default: '20' },
    stop: { type: 'string', default: '49' },
    changed: { type: 'string', default: '1' },
    'pull-speedup': { type: 'string', default: '1' },
    'snapshot-mode': { type: 'string', default: 'stop' },
    checkpoints: { type: 'string', default: 'on' },
    'changed-layers': { type: 'string', default: '1' },
  },
});
const pulls = (values.pulls ?? '').split(',').map(Number);
const sizes = values.sizes ? values.sizes.split(',').map(Number) : pulls;
const totalSize = sizes.reduce((a, b) => a + b, 0);
const snapshotS = Number(values.snapshot);
const snapshotFloorS = Number(values['snapshot-floor']);
const bootS = Number(values.boot);
const agentS = Number(values.agent);
const stopS = Number(values.stop);
const changed = Number(values.changed);
const speedup = Number(values['pull-speedup']);
const changedLayers = Number(values['changed-layers']);
/** Every API call takes this long (round trip). */
const API_MS = 100;
/** The script's own steps before pulling (admin container, kubelet stop): seconds. */
const SCRIPT_PRELUDE_S = 5;

const refs = pulls.map(
  (_, i) => `123456789012.dkr.ecr.us-west-2.amazonaws.com/model/image-${i}:v1`,
);

interface Settings {
  mode: string;
  checkpoints: boolean;
}
const chosen: Settings = {
  mode: values['snapshot-mode'] ?? 'stop',
  checkpoints: values.checkpoints !== 'off',
};

function config(settings: Settings = chosen): BuildConfig {
  const inputs: Record<string, string> = {
    images: refs.join('\n'),
    'aws-region': 'us-west-2',
    'instance-profile': 'builder',
    'snapshot-mode': settings.mode,
    'checkpoint-snapshots': String(settings.checkpoints),
    'pull-concurrency': String(refs.length),
  };
  return parseInputs((n) => inputs[n] ?? '').config;
}

function resolvedFor(c: BuildConfig, changedIndex?: number): ResolvedImage[] {
  return c.images.map((image, i) => ({
    image,
    digest: `sha256:${String(i).repeat(64).slice(0, 64)}`,
    mediaType: 'application/vnd.oci.image.index.v1+json',
    platforms: c.platforms.map((platform) => ({
      platform,
      digest: `sha256:${(i === changedIndex ? 'f' : String(i)).repeat(64)}`,
    })),
  }));
}

interface Scenario {
  /** Images the builder has to pull (the rest are on the base volume). */
  toPull: number[];
  /** Share of those images' bytes that is new (layers already on a base volume are skipped). */
  newShare: number;
  base?: { snapshotId: string; buildKey: string };
  cachedKey?: string;
}

/** Runs buildSnapshot against simulated AWS on a virtual clock; returns its result and the virtual time taken. */
async function simulate(
  scenario: Scenario,
  changedIndex?: number,
  settings: Settings = chosen,
): Promise<BuildResult> {
  const clock = new VirtualClock();
  const ec2 = mockClient(EC2Client);
  const ssm = mockClient(SSMClient);
  const sts = mockClient(STSClient);
  const call = <T>(value: T): T => {
    clock.advance(API_MS);
    return value;
  };
  let launchedAt = 0;
  let stoppingAt: number | undefined;
  let commandStart = 0;
  let commandEnd = 0;
  // The data volume: what the pulls have written by a given time, in units of the reference
  // images' sizes. Each image writes its new bytes evenly over its pull.
  const pullSeconds = (i: number) => ((pulls[i] ?? 0) * scenario.newShare) / speedup;
  const writtenAt = (t: number) =>
    scenario.toPull.reduce((sum, i) => {
      const seconds = pullSeconds(i);
      const elapsed = Math.min(Math.max(0, (t - commandStart) / 1000 - SCRIPT_PRELUDE_S), seconds);
      return sum + (seconds > 0 ? ((sizes[i] ?? 0) * scenario.newShare * elapsed) / seconds : 0);
    }, 0);
  // EBS snapshots of the volume: each copies what changed since the one before (the base
  // snapshot counts as nothing changed), takes at least the floor, and completes only after
  // the older ones (newer snapshots of a volume stay pending until the oldest completes).
  const snapshots = new Map<string, { captured: number; doneAt: number }>();
  let lastSnapshot: { captured: number; doneAt: number } | undefined;
  const c = config(settings);
  const resolved = resolvedFor(c, changedIndex);
  const existing = [
    ...(scenario.cachedKey
      ? [
          {
            SnapshotId: 'snap-0cached0000000000',
            State: 'completed' as const,
            VolumeSize: 50,
            StartTime: new Date(0),
            Tags: [
              { Key: 'bottlerocket-ebs-snapshot:build-key', Value: scenario.cachedKey },
              { Key: 'bottlerocket-ebs-snapshot:lineage', Value: 'acme/platform' },
            ],
          },
        ]
      : []),
    ...(scenario.base
      ? [
          {
            SnapshotId: scenario.base.snapshotId,
            State: 'completed' as const,
            VolumeSize: 50,
            StartTime: new Date(0),
            Tags: [{ Key: 'bottlerocket-ebs-snapshot:lineage', Value: 'acme/platform' }],
          },
        ]
      : []),
  ];
  sts
    .on(GetCallerIdentityCommand)
    .callsFake(() =>
      call({ Account: '123456789012', Arn: 'arn:aws:sts::123456789012:assumed-role/x/y' }),
    );
  ec2
    .on(DescribeInstanceTypesCommand)
    .callsFake(() =>
      call({ InstanceTypes: [{ ProcessorInfo: { SupportedArchitectures: ['x86_64'] } }] }),
    );
  ec2.on(DescribeImagesCommand).callsFake(() => call({ Images: [] }));
  ssm
    .on(GetParameterCommand)
    .callsFake(() => call({ Parameter: { Value: 'ami-0123456789abcdef0' } }));
  ec2.on(RunInstancesCommand).callsFake(() => {
    launchedAt = clock.now();
    return call({ Instances: [{ InstanceId: 'i-0model' }] });
  });
  ec2.on(DescribeInstancesCommand).callsFake(() => {
    const now = clock.now();
    const state =
      stoppingAt !== undefined
        ? now >= stoppingAt + stopS * 1000
          ? 'stopped'
          : 'stopping'
        : now >= launchedAt + bootS * 1000
          ? 'running'
          : 'pending';
    return call({
      Reservations: [
        {
          Instances: [
            {
              InstanceId: 'i-0model',
              State: { Name: state },
              BlockDeviceMappings: [{ DeviceName: '/dev/xvdb', Ebs: { VolumeId: 'vol-0model' } }],
            },
          ],
        },
      ],
    });
  });
  ssm.on(DescribeInstanceInformationCommand).callsFake(() =>
    call({
      InstanceInformationList:
        clock.now() >= launchedAt + (bootS + agentS) * 1000
          ? [{ InstanceId: 'i-0model', PingStatus: 'Online' }]
          : [],
    }),
  );
  ssm.on(SendCommandCommand).callsFake(() => {
    // Images pull in parallel: the slowest one decides.
    const longest = Math.max(0, ...scenario.toPull.map(pullSeconds));
    commandStart = clock.now();
    commandEnd = commandStart + (SCRIPT_PRELUDE_S + longest) * 1000;
    return call({ Command: { CommandId: 'cmd-model' } });
  });
  ssm.on(GetCommandInvocationCommand).callsFake(() => {
    if (clock.now() < commandEnd)
      return call({ Status: 'InProgress', StatusDetails: 'InProgress' });
    const stdout = successfulPullReport(
      refs.flatMap((_, i) =>
        c.platforms.map((platform) => ({
          index: i,
          platform,
          ms: scenario.toPull.includes(i) ? Math.round(((pulls[i] ?? 0) / speedup) * 1000) : 50,
          digest: `sha256:${String(i).repeat(64)}`,
          size: `${sizes[i]} GiB`,
          reused: !scenario.toPull.includes(i),
        })),
      ),
    );
    return call({
      Status: 'Success',
      StatusDetails: 'Success',
      ResponseCode: 0,
      StandardOutputContent: stdout,
    });
  });
  ssm.on(CancelCommandCommand).callsFake(() => call({}));
  ec2.on(StopInstancesCommand).callsFake(() => {
    stoppingAt = clock.now();
    return call({});
  });
  ec2.on(CreateSnapshotCommand).callsFake(() => {
    const now = clock.now();
    const captured = writtenAt(now);
    const delta = captured - (lastSnapshot?.captured ?? 0);
    const start = Math.max(now, lastSnapshot?.doneAt ?? 0);
    const snapshot = {
      captured,
      doneAt: start + Math.max(snapshotFloorS, (snapshotS * delta) / totalSize) * 1000,
    };
    lastSnapshot = snapshot;
    const id = `snap-0model${String(snapshots.size).padStart(9, '0')}`;
    snapshots.set(id, snapshot);
    return call({ SnapshotId: id });
  });
  ec2
    .on(DescribeSnapshotsCommand)
    .callsFake(
      (input: {
        SnapshotIds?: string[];
        Filters?: Array<{ Name?: string; Values?: string[] }>;
      }) => {
        if (!input.SnapshotIds) {
          // Every tag filter must match, as in EC2.
          const wanted = (input.Filters ?? []).filter((f) => f.Name?.startsWith('tag:'));
          return call({
            Snapshots: existing.filter((s) =>
              wanted.every((f) =>
                s.Tags.some((t) => `tag:${t.Key}` === f.Name && f.Values?.includes(t.Value)),
              ),
            ),
          });
        }
        const id = input.SnapshotIds[0] ?? '';
        const done = clock.now() >= (snapshots.get(id)?.doneAt ?? Number.POSITIVE_INFINITY);
        return call({
          Snapshots: [{ SnapshotId: id, State: done ? 'completed' : 'pending', VolumeSize: 50 }],
        });
      },
    );
  ec2
    .on(TerminateInstancesCommand)
    .callsFake(() => call({ TerminatingInstances: [{ InstanceId: 'i-0model' }] }));
  ec2.on(DeleteSnapshotCommand).callsFake(() => call({}));
  try {
    return await buildSnapshot(c, {
      clients: sdkClients(),
      clock,
      logger: new MemoryLogger(),
      signal: new AbortController().signal,
      context: {
        repository: 'acme/platform',
        runId: '1',
        runAttempt: '1',
        serverUrl: 'https://github.com',
        oidcAvailable: true,
      },
      state: { save: () => undefined },
      resolveDigests: async () => {
        clock.advance(1500); // registry round trips from the runner
        return { resolved, failures: [] };
      },
    });
  } finally {
    ec2.restore();
    ssm.restore();
    sts.restore();
  }
}

/** The reference script's sequence, with its own waits: CFN waiter, 5 s SSM polls, command waiter, 15 s snapshot polls. */
function referenceSeconds(): Array<[string, number]> {
  const ceil = (s: number, step: number) => Math.ceil(s / step) * step;
  return [
    ['CloudFormation stack (IAM role, launch template, instance)', 194],
    ['SSM ready', ceil(1, 5)],
    ['stop kubelet, remove images (command waiter)', 2 * ceil(3, 5)],
    ...pulls.map((p, i): [string, number] => [
      `pull image ${i} (one at a time, 5 s polls)`,
      ceil(p, 5),
    ]),
    ['stop instance', stopS],
    ['snapshot (15 s polls)', ceil(snapshotS, 15)],
  ];
}

const reference = referenceSeconds();
const referenceTotal = reference.reduce((sum, [, s]) => sum + s, 0);

const c = config();
const allImages = refs.map((_, i) => i);
const incrementalScenario = (newShare: number): Scenario => ({
  toPull: [changed],
  newShare,
  base: { snapshotId: 'snap-0base00000000000', buildKey: 'old' },
});
const full = await simulate({ toPull: allImages, newShare: 1 });
const fullWithout = await simulate({ toPull: allImages, newShare: 1 }, undefined, {
  ...chosen,
  checkpoints: !chosen.checkpoints,
});
const incremental = await simulate(incrementalScenario(changedLayers), changed);
const hit = await simulate({ toPull: [], newShare: 0, cachedKey: buildKey(c, resolvedFor(c)) });

const percent = (seconds: number) => `${((seconds / referenceTotal) * 100).toFixed(0)}%`;
const row = (name: string, seconds: number, goal?: { text: string; met: boolean }) =>
  `| ${name} | ${formatDuration(seconds * 1000)} | ${percent(seconds)} | ${goal ? `${goal.text} (${goal.met ? 'met' : 'missed'})` : ''} |`;
const checkpointText = (r: BuildResult) =>
  r.checkpoints
    ? `, ${r.checkpoints.ids.length} checkpoint${r.checkpoints.ids.length === 1 ? '' : 's'}`
    : ', no checkpoint';

console.log(
  '\nbottlerocket-ebs-snapshot: model of the critical path (virtual clock, real orchestration code)\n',
);
console.log(
  `Images: ${pulls.map((p, i) => `#${i} ${p} s pull, ${sizes[i]?.toFixed(1)} units`).join('; ')}. Changed for the incremental build: #${changed}. Pull speed-up: ${speedup}x. snapshot-mode: ${chosen.mode}. Checkpoints: ${chosen.checkpoints ? 'on' : 'off'}. New layers in the changed image: ${Math.round(changedLayers * 100)}%. Snapshot floor: ${snapshotFloorS} s.\n`,
);
console.log('| flow | critical path | of reference | goal |');
console.log('|---|---:|---:|---|');
console.log(`| reference script | ${formatDuration(referenceTotal * 1000)} | 100% | |`);
console.log(
  row(`full build${checkpointText(full)}`, full.durationSeconds, {
    text: '<= 50%',
    met: full.durationSeconds <= referenceTotal * 0.5,
  }),
);
console.log(row(`full build${checkpointText(fullWithout)}`, fullWithout.durationSeconds));
console.log(
  row(
    `incremental (1 of ${pulls.length} changed${checkpointText(incremental)})`,
    incremental.durationSeconds,
    { text: '<= 25%', met: incremental.durationSeconds <= referenceTotal * 0.25 },
  ),
);
console.log(
  row('cache hit', hit.durationSeconds, { text: '< 30 s', met: hit.durationSeconds < 30 }),
);

// How the incremental build depends on what changed and on snapshot-mode.
const shares = [1, 0.5, 0.25];
console.log(
  `\nincremental build (image #${changed} changed) by share of its bytes in new layers, of reference:\n`,
);
console.log(`| snapshot-mode | ${shares.map((x) => `${x * 100}% new`).join(' | ')} |`);
console.log(`|---|${shares.map(() => '---:').join('|')}|`);
for (const mode of ['stop', 'live']) {
  const cells: string[] = [];
  for (const share of shares) {
    const r = await simulate(incrementalScenario(share), changed, { ...chosen, mode });
    cells.push(percent(r.durationSeconds));
  }
  console.log(`| ${mode} | ${cells.join(' | ')} |`);
}

const phases = (name: string, r: BuildResult) => {
  console.log(`\n${name}:`);
  for (const p of r.phases) {
    if (p.outcome === 'skipped') continue;
    console.log(
      `  ${`${p.index}. ${p.title}`.padEnd(56)} ${formatDuration(p.endedAt - p.startedAt).padStart(7)}`,
    );
  }
};
console.log('\nreference script:');
for (const [name, s] of reference)
  console.log(`  ${name.padEnd(56)} ${formatDuration(s * 1000).padStart(7)}`);
phases('full build', full);
phases('incremental build', incremental);
phases('cache hit', hit);
