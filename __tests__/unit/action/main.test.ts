// src/action/main.ts: the main step in process, on an in-memory ActionRuntime with mocked AWS
// clients and a virtual clock: inputs in; outputs, state for the post step, the job summary and
// failures out.
import { afterEach, describe, expect, it } from '@jest/globals';
import {
  DescribeInstancesCommand,
  DescribeVolumesCommand,
  RunInstancesCommand,
  TerminateInstancesCommand,
} from '@aws-sdk/client-ec2';
import { GetParameterCommand } from '@aws-sdk/client-ssm';
import { runMain } from '../../../src/action/main.js';
import {
  STATE_CLEAN,
  STATE_INSTANCE_IDS,
  STATE_INVOCATION,
  STATE_OUTPUT_SNAPSHOTS,
  STATE_REGION,
  STATE_SWEEP_REGIONS,
} from '../../../src/build/index.js';
import { STATE_CREATES } from '../../../src/aws/create-ledger.js';
import { INSTANCE_ID, SNAPSHOT_ID } from '../../../test-support/aws-mocks.js';
import {
  failingMainStep,
  mainStep as runMainStep,
  restoreMainSteps,
  SSM_BROKE,
  PAUSE,
} from '../../../test-support/action-aws.js';

afterEach(restoreMainSteps);
const mainStep = (inputs: Record<string, string> = {}) => runMainStep(inputs, 120_000);

describe('runMain', () => {
  it('builds from the inputs, sets the outputs and summary, and records a clean end', async () => {
    const { rt } = mainStep();
    await runMain(rt);

    expect(rt.failures).toEqual([]);
    expect(rt.outputs.get('snapshot-id')).toBe(SNAPSHOT_ID);
    expect(rt.outputs.get('volume-size')).toBe('50');
    expect(rt.outputs.get('builder-instance-id')).toBe(INSTANCE_ID);
    expect(rt.outputs.get('cache-hit')).toBe('false');
    expect(rt.outputs.get('snapshot-ids')).toBe(JSON.stringify({ 'us-west-2': SNAPSHOT_ID }));
    const images = JSON.parse(rt.outputs.get('images') ?? '[]') as Array<Record<string, unknown>>;
    expect(images.map((i) => [i.reference, i.platform, i.status])).toEqual([
      [PAUSE, 'linux/amd64', 'ok'],
    ]);
    // What the post step reads: this invocation, where to look, what to keep, and that it is clean.
    expect(rt.state.get(STATE_INVOCATION)).toMatch(/^[0-9a-f]{12}$/);
    expect(rt.state.get(STATE_REGION)).toBe('us-west-2');
    expect(rt.state.get(STATE_SWEEP_REGIONS)).toBe('us-west-2');
    expect(rt.state.get(STATE_OUTPUT_SNAPSHOTS)).toBe(JSON.stringify([SNAPSHOT_ID]));
    expect(rt.state.get(STATE_CLEAN)).toBe('true');
    expect(rt.state.get(STATE_CREATES)).toBe('answered');
    expect(rt.summary()).toContain(SNAPSHOT_ID);
    expect(rt.logger.messages('notice')).toEqual([
      `Snapshot ${SNAPSHOT_ID} is ready (50 GiB, 1 image pulls).`,
    ]);
    expect(rt.logger.messages('warning').join('\n')).toContain('Could not resolve');
    expect(rt.clientRequests).toEqual([{ region: 'us-west-2', credentials: false }]);
  });

  it('fails with the build’s message and summary, and leaves state naming what is left', async () => {
    const { rt, aws } = failingMainStep({}, 120_000);
    await runMain(rt);

    expect(rt.failures).toHaveLength(1);
    expect(rt.failures[0]).toContain(SSM_BROKE);
    expect(rt.failures[0]).not.toMatch(/^Unexpected error/);
    expect(rt.summary()).toContain(SSM_BROKE);
    expect(rt.outputs.has('snapshot-id')).toBe(false);
    // The builder could not be terminated: named for the post step, and not recorded clean.
    expect(aws.ec2.commandCalls(TerminateInstancesCommand).length).toBeGreaterThan(0);
    expect(rt.state.get(STATE_INSTANCE_IDS)).toBe(INSTANCE_ID);
    expect(rt.state.get(STATE_CLEAN)).toBeUndefined();
    expect(rt.logger.messages('warning')).toContain(
      'Some of what this run created is left; the post step tries again.',
    );
  });

  it('does not sweep when no create request was sent, and records a clean end', async () => {
    const { rt, aws } = mainStep();
    // The AMI lookup fails: the build ends before it creates anything.
    aws.ssm
      .on(GetParameterCommand)
      .rejects(Object.assign(new Error('no such parameter'), { name: 'ParameterNotFound' }));
    await runMain(rt);

    expect(rt.failures).toHaveLength(1);
    expect(aws.ec2.commandCalls(RunInstancesCommand)).toHaveLength(0);
    expect(aws.ec2.commandCalls(DescribeInstancesCommand)).toHaveLength(0);
    expect(aws.ec2.commandCalls(DescribeVolumesCommand)).toHaveLength(0);
    expect(rt.state.get(STATE_CREATES)).toBe('none');
    expect(rt.state.get(STATE_CLEAN)).toBe('true');
  });

  it('fails on a bad input before any AWS call, saving no state', async () => {
    const { rt, aws } = mainStep({ images: 'busybox:1; rm -rf /' });
    await runMain(rt);

    expect(rt.failures).toHaveLength(1);
    expect(rt.failures[0]).toMatch(/^Input 'images': /);
    expect(rt.clientRequests).toEqual([]);
    expect(aws.ec2.calls()).toHaveLength(0);
    expect(aws.ssm.calls()).toHaveLength(0);
    expect(aws.sts.calls()).toHaveLength(0);
    expect([...rt.state.keys()]).toEqual([]);
    expect(rt.outputs.size).toBe(0);
  });

  it('reports every bad input in one failure', async () => {
    const { rt, aws } = mainStep({ 'volume-size': '5', 'pull-concurrency': '900' });
    await runMain(rt);

    expect(rt.failures).toHaveLength(1);
    expect(rt.failures[0]).toMatch(/^2 inputs are wrong:\n- Input '/);
    expect(aws.ec2.commandCalls(RunInstancesCommand)).toHaveLength(0);
  });
});
