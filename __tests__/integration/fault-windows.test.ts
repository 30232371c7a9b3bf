/**
 * The fault windows: the bundle (main step, then post step) against the local AWS
 * with a fault-injecting proxy in front of EC2. Each create request reaches EC2, EC2
 * does the work, and the action never hears back: the answer is lost (the SDK
 * retries), the request stalls until the step's signal aborts it, or the main
 * process is killed at that moment. Whatever happens, after the post step this use
 * of the action owns exactly what it output: no instance, and the output snapshot
 * or none.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { DescribeSnapshotsCommand, DescribeVolumesCommand } from '@aws-sdk/client-ec2';
import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import {
  BUILD_INPUTS,
  instancesOfRun,
  runTagFilter,
  startEmulator,
  type Emulator,
} from '../../test-support/emulator.js';
import { startFaultProxy, type FaultProxy } from '../../test-support/fault-proxy.js';
import { REPO_ROOT, runMainAndPost, runStep } from '../../test-support/runner.js';

const PAUSE = 'public.ecr.aws/eks-distro/kubernetes/pause:3.2';

let emu: Emulator;
let proxy: FaultProxy;
let run = 0;

beforeAll(async () => {
  if (!existsSync(join(REPO_ROOT, 'dist/index.js')))
    throw new Error('dist/index.js is missing: run `npm run build`.');
  emu = await startEmulator([
    { ref: PAUSE, platforms: ['linux/amd64', 'linux/arm64'], size: '301.6 KiB' },
  ]);
  proxy = await startFaultProxy(emu.moto.url);
}, 60_000);
afterEach(() => proxy.clear());
afterAll(async () => {
  await proxy?.close();
  await emu?.close();
}, 30_000);

function job() {
  run++;
  const runId = String(7000 + run);
  return {
    runId,
    options: {
      inputs: {
        ...BUILD_INPUTS,
        images: PAUSE,
      },
      // EC2 through the proxy; everything else straight to the emulator.
      env: { ...emu.env, AWS_ENDPOINT_URL_EC2: proxy.url, GITHUB_RUN_ID: runId },
      timeoutMs: 60_000,
    },
  };
}

const instancesOf = (runId: string) => instancesOfRun(emu.ec2, runId);

/** What this run left behind: instances not terminated, every snapshot, available volumes. */
async function leftBy(runId: string) {
  const instances = (await instancesOf(runId)).filter((i) => i.State?.Name !== 'terminated');
  const snapshots =
    (await emu.ec2.send(new DescribeSnapshotsCommand({ Filters: runTagFilter(runId) })))
      .Snapshots ?? [];
  const volumes =
    (
      await emu.ec2.send(
        new DescribeVolumesCommand({
          Filters: [...runTagFilter(runId), { Name: 'status', Values: ['available'] }],
        }),
      )
    ).Volumes ?? [];
  return {
    instances: instances.map((i) => i.InstanceId),
    snapshots: snapshots.map((s) => s.SnapshotId).sort(),
    volumes: volumes.map((v) => v.VolumeId),
  };
}

describe('fault windows on create requests', () => {
  it('1. a lost RunInstances answer: the SDK launches a second builder; both are gone after the run', async () => {
    const { runId, options } = job();
    proxy.inject({ operation: 'RunInstances', fault: { kind: 'lose-response' } });
    const { main, post } = await runMainAndPost(options);
    expect(main.code).toBe(0);
    // The answer was lost after EC2 launched: the retry made another (moto, like EC2 after
    // the client token's window, does not answer it with the first).
    expect((await instancesOf(runId)).length).toBe(2);
    expect(post.code).toBe(0);
    expect(await leftBy(runId)).toEqual({
      instances: [],
      snapshots: [main.outputs['snapshot-id']],
      volumes: [],
    });
  }, 90_000);

  it('2. a stalled RunInstances aborted by the step (cancellation): the builder EC2 launched is terminated', async () => {
    const { runId, options } = job();
    proxy.inject({ operation: 'RunInstances', fault: { kind: 'stall' } });
    let child: ChildProcess | undefined;
    const cancel = proxy.faulted('RunInstances').then(() => child?.kill('SIGINT'));
    const { main, post } = await runMainAndPost({ ...options, onSpawn: (c) => (child = c) });
    await cancel;
    expect(main.code).not.toBe(0);
    expect(main.stdout).toContain('::error::The run was cancelled.');
    expect((await instancesOf(runId)).length).toBe(1);
    expect(main.state.clean).toBe('true');
    expect(post.code).toBe(0);
    expect(await leftBy(runId)).toEqual({ instances: [], snapshots: [], volumes: [] });
  }, 90_000);

  it('3. a lost CreateSnapshot answer: the SDK makes a second snapshot; only the output is left', async () => {
    const { runId, options } = job();
    proxy.inject({ operation: 'CreateSnapshot', fault: { kind: 'lose-response' } });
    const { main, post } = await runMainAndPost(options);
    expect(main.code).toBe(0);
    expect(proxy.calls.filter((c) => c.operation === 'CreateSnapshot').length).toBeGreaterThan(1);
    expect(post.code).toBe(0);
    const output = main.outputs['snapshot-id'];
    expect(output).toMatch(/^snap-/);
    expect(await leftBy(runId)).toEqual({ instances: [], snapshots: [output], volumes: [] });
  }, 90_000);

  it('4. a stalled CreateSnapshot aborted by the step (cancellation): the snapshot EC2 made is deleted', async () => {
    const { runId, options } = job();
    proxy.inject({ operation: 'CreateSnapshot', fault: { kind: 'stall' } });
    let child: ChildProcess | undefined;
    const cancel = proxy.faulted('CreateSnapshot').then(() => child?.kill('SIGINT'));
    const { main, post } = await runMainAndPost({ ...options, onSpawn: (c) => (child = c) });
    await cancel;
    expect(main.code).not.toBe(0);
    expect(post.code).toBe(0);
    expect(await leftBy(runId)).toEqual({ instances: [], snapshots: [], volumes: [] });
  }, 90_000);

  it('a run that fails before any create request: nothing to sweep, the post step asks AWS nothing', async () => {
    const { runId, options } = job();
    proxy.inject({
      operation: 'DescribeInstanceTypes',
      fault: {
        kind: 'rewrite',
        status: 403,
        body: () =>
          '<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>UnauthorizedOperation</Code>' +
          '<Message>You are not authorized to perform this operation.</Message></Error></Errors>' +
          '<RequestID>f00d</RequestID></Response>',
      },
    });
    const main = await runStep(options);
    expect(main.code).toBe(1);
    expect(main.state['create-requests']).toBe('none');
    expect(main.state.clean).toBe('true');
    const callsAfterMain = proxy.calls.length;
    const audiences = emu.oidc.audiences.length;
    const post = await runStep({ ...options, state: main.state });
    expect(post.code).toBe(0);
    expect(post.stdout).toContain(
      'The main step sent no create request to AWS; nothing to clean up.',
    );
    expect(proxy.calls.length).toBe(callsAfterMain);
    expect(emu.oidc.audiences.length).toBe(audiences);
    expect(await leftBy(runId)).toEqual({ instances: [], snapshots: [], volumes: [] });
  }, 60_000);

  it('5. the main step killed while CreateSnapshot is in flight: the post step removes the snapshot and the builder', async () => {
    const { runId, options } = job();
    let child: ChildProcess | undefined;
    proxy.inject({
      operation: 'CreateSnapshot',
      fault: { kind: 'hook', onCall: () => child?.kill('SIGKILL') },
    });
    const main = await runStep({ ...options, onSpawn: (c) => (child = c) });
    expect(main.signal).toBe('SIGKILL');
    const made = await leftBy(runId);
    expect(made.snapshots).toHaveLength(1);
    expect(made.instances).toHaveLength(1);
    const post = await runStep({ ...options, state: main.state });
    expect(post.code).toBe(0);
    expect(await leftBy(runId)).toEqual({ instances: [], snapshots: [], volumes: [] });
  }, 90_000);
});

describe('a short outage', () => {
  it('rides out a network outage while waiting for the snapshot: seconds of lost answers cost seconds, not the build', async () => {
    const { runId, options } = job();
    // Every DescribeSnapshots answer lost for 5 s from the first (base selection, the snapshot
    // wait). The SDK's retries (src/aws/clients.ts: 8 attempts, 0.5 s doubling to 20 s, with
    // jitter) carry the call across: its attempts inside the window are lost, the next one is
    // answered. Where they land in the window is jitter, so the test asserts what is certain.
    proxy.inject({ operation: 'DescribeSnapshots', fault: { kind: 'lose-response' }, forMs: 5000 });
    const started = Date.now();
    const { main, post } = await runMainAndPost({
      ...options,
      inputs: { ...options.inputs, 'checkpoint-snapshots': 'false' },
      timeoutMs: 120_000,
    });
    const lost = proxy.calls.filter((c) => c.fault === 'lose-response');
    expect(lost.length).toBeGreaterThanOrEqual(3);
    const lastLost = lost.at(-1)?.at ?? 0;
    const answered = proxy.calls.find(
      (c) => c.operation === 'DescribeSnapshots' && !c.fault && c.at > lastLost,
    );
    // The call the outage hit went on (a later attempt of the same SDK call), seconds later.
    expect(lost.map((c) => c.invocation)).toContain(answered?.invocation);
    expect(answered?.attempt).toBeGreaterThan(1);
    expect((answered?.at ?? Infinity) - lastLost).toBeLessThan(20_000);
    expect(main.stdout).not.toContain('::error::');
    expect(main.code).toBe(0);
    expect(main.outputs['snapshot-id']).toMatch(/^snap-/);
    expect(Date.now() - started).toBeLessThan(90_000);
    expect(post.code).toBe(0);
    expect(await leftBy(runId)).toEqual({
      instances: [],
      snapshots: [main.outputs['snapshot-id']],
      volumes: [],
    });
  }, 150_000);
});
