// src/action/janitor.ts: janitor mode (cleanup-older-than) as the main step runs it, on the
// in-memory runtime with a mocked EC2 and a virtual clock: it removes this repository's old
// leftovers in every region given, sets deleted-snapshots, writes the summary, fails the step
// when something could not be removed, and always closes its clients.
import { afterEach, describe, expect, it } from '@jest/globals';
import {
  DeleteSnapshotCommand,
  DeleteVolumeCommand,
  DescribeInstancesCommand,
  DescribeSnapshotsCommand,
  DescribeVolumesCommand,
  EC2Client,
  TerminateInstancesCommand,
} from '@aws-sdk/client-ec2';
import { mockClient } from 'aws-sdk-client-mock';
import { runJanitor } from '../../../src/action/janitor.js';
import { parseActionInputs, type ActionConfig } from '../../../src/action/inputs/index.js';
import type { AwsClients } from '../../../src/aws/clients.js';
import { MAX_OUTPUT_BYTES } from '../../../src/core/limits.js';
import { MemoryRuntime } from '../../../test-support/action-runtime.js';
import { sdkClients } from '../../../test-support/aws-mocks.js';
import { VirtualClock } from '../../../test-support/virtual-clock.js';

const ec2 = mockClient(EC2Client);
afterEach(() => {
  ec2.reset();
});

const HOUR = 3_600_000;
const clock = new VirtualClock();
const ago = (hours: number) => new Date(clock.now() - hours * HOUR);

/** The janitor-mode config the inputs make: older than 6h, in aws-region and copy-to-regions. */
function janitorConfig(inputs: Record<string, string> = {}): ActionConfig {
  const all: Record<string, string> = {
    images: '',
    'aws-region': 'us-west-2',
    'cleanup-older-than': '6h',
    ...inputs,
  };
  return parseActionInputs((name) => all[name] ?? '').config;
}

/** What each region holds: an old and a young builder, checkpoint and volume. */
function leftovers() {
  ec2.on(DescribeInstancesCommand).resolves({
    Reservations: [
      {
        Instances: [
          { InstanceId: 'i-0old0000000000000', LaunchTime: ago(7) },
          { InstanceId: 'i-0young000000000000', LaunchTime: ago(1) },
        ],
      },
    ],
  });
  ec2.on(TerminateInstancesCommand).callsFake((input: { InstanceIds: string[] }) => ({
    TerminatingInstances: input.InstanceIds.map((InstanceId) => ({ InstanceId })),
  }));
  ec2.on(DescribeSnapshotsCommand).resolves({
    Snapshots: [
      { SnapshotId: 'snap-0old000000000000', StartTime: ago(30) },
      { SnapshotId: 'snap-0young00000000000', StartTime: ago(2) },
    ],
  });
  ec2.on(DeleteSnapshotCommand).resolves({});
  ec2.on(DescribeVolumesCommand).resolves({
    Volumes: [{ VolumeId: 'vol-0old000000000000', CreateTime: ago(8) }],
  });
  ec2.on(DeleteVolumeCommand).resolves({});
}

/** Mocked clients that count how often they were closed. */
function countingClients() {
  const closed = { count: 0 };
  const asked: string[] = [];
  const base = sdkClients();
  const clients: AwsClients = {
    ...base,
    ec2For: (region) => {
      asked.push(region);
      return base.ec2For(region);
    },
    destroy: () => {
      closed.count++;
    },
  };
  return { clients, closed, asked };
}

describe('runJanitor', () => {
  it('removes what is older than the age, sets deleted-snapshots and writes the summary', async () => {
    leftovers();
    const { clients, closed, asked } = countingClients();
    const rt = new MemoryRuntime({ clients, clock });
    const config = janitorConfig();
    await runJanitor(rt, config, config.janitor ?? { olderThanMs: 0, regions: [] });

    expect(rt.failures).toEqual([]);
    expect(rt.outputs.get('deleted-snapshots')).toBe('["snap-0old000000000000"]');
    expect([...rt.outputs.keys()]).toEqual(['deleted-snapshots']);
    expect(ec2.commandCalls(TerminateInstancesCommand)[0]?.args[0].input.InstanceIds).toEqual([
      'i-0old0000000000000',
    ]);
    expect(rt.summary()).toBe(
      '### 🧹 Cleanup of acme/platform\n\n' +
        'Terminated 1 builder(s), deleted 1 checkpoint snapshot(s) and 1 volume(s) older than 6h0m in us-west-2.\n',
    );
    // Only this repository's builders are looked for.
    const filters = ec2.commandCalls(DescribeInstancesCommand)[0]?.args[0].input.Filters;
    expect(filters).toContainEqual({
      Name: 'tag:bottlerocket-ebs-snapshot:repository',
      Values: ['acme/platform'],
    });
    expect(rt.logger.messages('info')).toContain(
      '::group::Removing what runs of acme/platform left, older than 6h0m',
    );
    expect(rt.clientRequests).toEqual([{ region: 'us-west-2', credentials: false }]);
    expect(asked).toEqual(['us-west-2']);
    expect(closed.count).toBe(1);
  });

  it('looks in aws-region and every copy-to-region', async () => {
    leftovers();
    const { clients, asked } = countingClients();
    const rt = new MemoryRuntime({ clients, clock });
    const config = janitorConfig({ 'copy-to-regions': 'eu-west-1', 'cleanup-older-than': '2d' });
    await runJanitor(rt, config, config.janitor ?? { olderThanMs: 0, regions: [] });

    expect(asked).toEqual(['us-west-2', 'eu-west-1']);
    expect(ec2.commandCalls(DescribeSnapshotsCommand)).toHaveLength(2);
    expect(rt.summary()).toContain('older than 48h0m in us-west-2, eu-west-1.');
    // Nothing in either region is older than two days.
    expect(ec2.commandCalls(TerminateInstancesCommand)).toHaveLength(0);
    expect(rt.outputs.get('deleted-snapshots')).toBe('[]');
    expect(ec2.commandCalls(DeleteVolumeCommand)).toHaveLength(0);
  });

  it('with nothing old, deletes nothing and says so', async () => {
    ec2.on(DescribeInstancesCommand).resolves({ Reservations: [] });
    ec2.on(DescribeSnapshotsCommand).resolves({ Snapshots: [] });
    ec2.on(DescribeVolumesCommand).resolves({ Volumes: [] });
    const { clients } = countingClients();
    const rt = new MemoryRuntime({ clients, clock });
    const config = janitorConfig();
    await runJanitor(rt, config, config.janitor ?? { olderThanMs: 0, regions: [] });

    expect(rt.failures).toEqual([]);
    expect(rt.outputs.get('deleted-snapshots')).toBe('[]');
    expect(rt.summary()).toContain('Terminated 0 builder(s), deleted 0 checkpoint snapshot(s)');
    expect(ec2.commandCalls(DeleteSnapshotCommand)).toHaveLength(0);
  });

  it('fails the step when something could not be removed, after the summary and output', async () => {
    leftovers();
    ec2
      .on(TerminateInstancesCommand)
      .rejects(
        Object.assign(new Error('You are not authorized'), { name: 'UnauthorizedOperation' }),
      );
    const { clients, closed } = countingClients();
    const rt = new MemoryRuntime({ clients, clock });
    const config = janitorConfig();
    await runJanitor(rt, config, config.janitor ?? { olderThanMs: 0, regions: [] });

    expect(rt.failures).toEqual([
      'Cleanup incomplete: us-west-2: could not terminate old builders: You are not authorized',
    ]);
    // What could be removed was, and is reported.
    expect(rt.outputs.get('deleted-snapshots')).toBe('["snap-0old000000000000"]');
    expect(rt.summary()).toContain('Terminated 0 builder(s), deleted 1 checkpoint snapshot(s)');
    expect(closed.count).toBe(1);
  });

  it('fails the step with the message of anything that goes wrong, and still closes its clients', async () => {
    leftovers();
    const { clients, closed } = countingClients();
    const rt = new MemoryRuntime({ clients, clock });
    rt.writeSummary = () => Promise.reject(new Error('GITHUB_STEP_SUMMARY: EACCES'));
    const config = janitorConfig();
    await runJanitor(rt, config, config.janitor ?? { olderThanMs: 0, regions: [] });

    expect(rt.failures).toEqual(['GITHUB_STEP_SUMMARY: EACCES']);
    expect(closed.count).toBe(1);
  });

  it('uses the role to assume when one is given', async () => {
    leftovers();
    const { clients } = countingClients();
    const rt = new MemoryRuntime({ clients, clock });
    const config = janitorConfig({
      'role-to-assume': 'arn:aws:iam::123456789012:role/snapshot-janitor',
    });
    await runJanitor(rt, config, config.janitor ?? { olderThanMs: 0, regions: [] });
    expect(rt.clientRequests).toEqual([{ region: 'us-west-2', credentials: true }]);
  });

  it('keeps deleted-snapshots within GitHub’s 1 MB per output, however many it deleted', async () => {
    const many = Array.from({ length: 45_000 }, (_, n) => ({
      SnapshotId: `snap-${n.toString(16).padStart(17, '0')}`,
      StartTime: ago(30),
    }));
    // A plain stand-in for EC2: 45,000 deletions through the SDK mock would take seconds.
    const answers: Record<string, unknown> = {
      DescribeInstancesCommand: { Reservations: [] },
      DescribeSnapshotsCommand: { Snapshots: many },
      DeleteSnapshotCommand: {},
      DescribeVolumesCommand: { Volumes: [] },
    };
    const standIn = {
      send: (command: object) => Promise.resolve(answers[command.constructor.name]),
    } as unknown as EC2Client;
    const rt = new MemoryRuntime({ clients: { ...sdkClients(), ec2For: () => standIn }, clock });
    const config = janitorConfig();
    await runJanitor(rt, config, config.janitor ?? { olderThanMs: 0, regions: [] });

    const output = rt.outputs.get('deleted-snapshots') ?? '';
    expect(Buffer.byteLength(output)).toBeLessThanOrEqual(MAX_OUTPUT_BYTES);
    const kept = JSON.parse(output) as string[];
    expect(kept).toEqual(many.slice(0, kept.length).map((s) => s.SnapshotId));
    expect(rt.logger.messages('warning')).toContain(
      `Output 'deleted-snapshots' lists ${kept.length} of 45000 entries: GitHub keeps 1 MB of an output. The log has them all.`,
    );
    expect(rt.summary()).toContain('deleted 45000 checkpoint snapshot(s)');
  });
});
