/**
 * Drives the real @aws-sdk/client-ssm against the in-repo SSM stand-in, with moto_server playing
 * EC2. Also a check of the shared test-support launchers (moto.ts, ssm-standin.ts).
 */
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  DescribeImagesCommand,
  DescribeInstancesCommand,
  EC2Client,
  RunInstancesCommand,
  StopInstancesCommand,
} from '@aws-sdk/client-ec2';
import {
  CancelCommandCommand,
  DescribeDocumentCommand,
  DescribeInstanceInformationCommand,
  GetCommandInvocationCommand,
  type GetCommandInvocationCommandOutput,
  GetParameterCommand,
  GetParametersCommand,
  InvalidInstanceId,
  InvocationDoesNotExist,
  ListCommandsCommand,
  ParameterNotFound,
  SendCommandCommand,
  SSMClient,
} from '@aws-sdk/client-ssm';
import { startMoto, type Moto } from '../../test-support/moto.js';
import { startSsmStandIn, type SsmStandIn } from '../../test-support/ssm-standin.js';
import { rejectionOf } from '../../test-support/rejection.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
jest.setTimeout(60_000);

const credentials = { accessKeyId: 'testing', secretAccessKey: 'testing' };
const region = 'us-east-1';
const AMI_PARAM = '/aws/service/bottlerocket/aws-k8s-1.33/x86_64/latest/image_id';
// Long enough that the "not yet Online" checks stay ahead of it on a busy machine.
const ONLINE_AFTER_MS = 1000;
const TERMINAL = new Set(['Success', 'Failed', 'Cancelled', 'TimedOut']);

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Whether `pid` is a live process (a zombie left for an absent init to reap counts as gone). */
async function isRunning(pid: number): Promise<boolean> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    return !/^\S+ \(.*\) [ZX]/s.test(stat);
  } catch {
    return false;
  }
}

async function waitForInvocation(
  ssm: SSMClient,
  CommandId: string,
  InstanceId: string,
  timeoutMs = 15_000,
): Promise<GetCommandInvocationCommandOutput> {
  const deadline = Date.now() + timeoutMs;
  for (let i = 0; i < 1000 && Date.now() < deadline; i++) {
    try {
      const out = await ssm.send(new GetCommandInvocationCommand({ CommandId, InstanceId }));
      if (TERMINAL.has(out.Status ?? '')) return out;
    } catch (err) {
      if (!(err instanceof InvocationDoesNotExist)) throw err;
    }
    await sleep(50);
  }
  throw new Error(`command ${CommandId} did not finish within ${timeoutMs} ms`);
}

describe('SSM stand-in (real SSM client, moto EC2)', () => {
  let moto: Moto;
  let standIn: SsmStandIn;
  let ec2: EC2Client;
  let ssm: SSMClient;
  let tmp: string;
  let binDir: string;
  let stateRoot: string;
  let imageId: string;
  let instanceId: string;
  const extraStandIns: SsmStandIn[] = [];

  async function runInstance(): Promise<string> {
    const out = await ec2.send(
      new RunInstancesCommand({
        ImageId: imageId,
        MinCount: 1,
        MaxCount: 1,
        InstanceType: 't3.micro',
      }),
    );
    const id = out.Instances?.[0]?.InstanceId;
    if (!id) throw new Error('moto returned no instance');
    return id;
  }

  async function send(
    commands: string[],
    extra: { executionTimeout?: string; comment?: string; instanceIds?: string[] } = {},
    client: SSMClient = ssm,
  ): Promise<string> {
    const parameters: Record<string, string[]> = { commands };
    if (extra.executionTimeout) parameters.executionTimeout = [extra.executionTimeout];
    const out = await client.send(
      new SendCommandCommand({
        DocumentName: 'AWS-RunShellScript',
        InstanceIds: extra.instanceIds ?? [instanceId],
        Comment: extra.comment ?? 'stand-in test',
        TimeoutSeconds: 600,
        Parameters: parameters,
      }),
    );
    const id = out.Command?.CommandId;
    if (!id) throw new Error('no CommandId');
    return id;
  }

  beforeAll(async () => {
    moto = await startMoto();
    tmp = await mkdtemp(join(tmpdir(), 'ssm-standin-test-'));
    binDir = join(tmp, 'bin');
    stateRoot = join(tmp, 'state');
    await mkdir(binDir, { recursive: true });
    await writeFile(join(binDir, 'hello-stub'), '#!/bin/sh\necho "stub says $1"\n');
    await chmod(join(binDir, 'hello-stub'), 0o755);
    ec2 = new EC2Client({ endpoint: moto.url, region, credentials });
    const images = await ec2.send(new DescribeImagesCommand({}));
    imageId = images.Images?.[0]?.ImageId ?? '';
    expect(imageId).toMatch(/^ami-/);
    instanceId = await runInstance();
    standIn = await startSsmStandIn({
      ec2Endpoint: moto.url,
      parameters: { [AMI_PARAM]: 'ami-0123456789abcdef0' },
      onlineAfterMs: ONLINE_AFTER_MS,
      pathPrepend: [binDir],
      env: { STANDIN_EXTRA: 'extra-value' },
      stateRoot,
    });
    ssm = new SSMClient({ endpoint: standIn.url, region, credentials });
  }, 60_000);

  afterAll(async () => {
    ssm?.destroy();
    ec2?.destroy();
    await Promise.all(extraStandIns.map((s) => s.close()));
    await standIn?.close();
    await moto?.stop();
    if (tmp) await rm(tmp, { recursive: true, force: true });
  }, 60_000);

  it('serves public parameters and reports missing ones', async () => {
    const hit = await ssm.send(new GetParameterCommand({ Name: AMI_PARAM }));
    expect(hit.Parameter).toMatchObject({
      Name: AMI_PARAM,
      Value: 'ami-0123456789abcdef0',
      Type: 'String',
      Version: 1,
      DataType: 'text',
      ARN: `arn:aws:ssm:us-east-1::parameter${AMI_PARAM}`,
    });
    const miss = await rejectionOf(ssm.send(new GetParameterCommand({ Name: '/nope' })));
    expect(miss).toBeInstanceOf(ParameterNotFound);
    expect(miss.name).toBe('ParameterNotFound');
    const many = await ssm.send(new GetParametersCommand({ Names: [AMI_PARAM, '/nope'] }));
    expect(many.Parameters?.map((p) => p.Value)).toEqual(['ami-0123456789abcdef0']);
    expect(many.InvalidParameters).toEqual(['/nope']);
  });

  it('reports an instance Online only onlineAfterMs after first seeing it running', async () => {
    const filter = {
      Filters: [{ Key: 'InstanceIds', Values: [instanceId, 'i-0123456789abcdef0'] }],
    };
    const t0 = Date.now(); // the stand-in first sees the instance running after this
    const first = await ssm.send(new DescribeInstanceInformationCommand(filter));
    expect(first.InstanceInformationList).toEqual([]);
    const err = await rejectionOf(send(['echo too early']));
    expect(err).toBeInstanceOf(InvalidInstanceId);

    let online: NonNullable<typeof first.InstanceInformationList> = [];
    for (let i = 0; i < 100 && Date.now() - t0 < 10_000 && online.length === 0; i++) {
      await sleep(50);
      const out = await ssm.send(new DescribeInstanceInformationCommand(filter));
      online = out.InstanceInformationList ?? [];
    }
    expect(Date.now() - t0).toBeGreaterThanOrEqual(ONLINE_AFTER_MS);
    expect(online).toHaveLength(1); // the unknown id is simply absent
    expect(online[0]).toMatchObject({
      InstanceId: instanceId,
      PingStatus: 'Online',
      PlatformType: 'Linux',
      PlatformName: 'Bottlerocket',
    });
    expect(online[0]?.LastPingDateTime).toBeInstanceOf(Date);
    expect(online[0]?.AgentVersion).toBeTruthy();

    const legacy = await ssm.send(
      new DescribeInstanceInformationCommand({
        InstanceInformationFilterList: [{ key: 'InstanceIds', valueSet: [instanceId] }],
      }),
    );
    expect(legacy.InstanceInformationList?.map((i) => i.InstanceId)).toEqual([instanceId]);
  });

  it('runs the script like the agent: state dir env, stub on PATH, stdout captured', async () => {
    const commandId = await send([
      'set -eu',
      'echo "state=$INSTANCE_STATE_DIR"',
      'echo "id=$AWS_SSM_INSTANCE_ID region=$AWS_SSM_REGION_NAME extra=$STANDIN_EXTRA"',
      'hello-stub world',
      'echo persisted > "$INSTANCE_STATE_DIR/marker"',
      'echo "cwd=$(pwd)"',
      'echo to-stderr >&2',
    ]);
    const out = await waitForInvocation(ssm, commandId, instanceId);
    expect(out.Status).toBe('Success');
    expect(out.StatusDetails).toBe('Success');
    expect(out.ResponseCode).toBe(0);
    const stdout = out.StandardOutputContent ?? '';
    expect(stdout).toContain(`state=${join(stateRoot, instanceId)}\n`);
    expect(stdout).toContain(`id=${instanceId} region=us-east-1 extra=extra-value\n`);
    expect(stdout).toContain('stub says world\n');
    expect(stdout).toMatch(new RegExp(`cwd=${join(stateRoot, instanceId)}/.+`));
    expect(out.StandardErrorContent).toBe('to-stderr\n');
    expect(out.ExecutionStartDateTime).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(out.ExecutionEndDateTime).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(await readFile(join(stateRoot, instanceId, 'marker'), 'utf8')).toBe('persisted\n');

    const recorded = standIn.commands.find((c) => c.commandId === commandId);
    expect(recorded).toMatchObject({
      instanceIds: [instanceId],
      documentName: 'AWS-RunShellScript',
      comment: 'stand-in test',
      timeoutSeconds: 600,
    });
    expect(recorded?.rejected).toBeUndefined();
    expect(recorded?.parameters.commands?.[3]).toBe('hello-stub world');
    expect(standIn.requests.some((r) => r.target === 'AmazonSSM.SendCommand')).toBe(true);

    const listed = await ssm.send(new ListCommandsCommand({ CommandId: commandId }));
    expect(listed.Commands?.[0]).toMatchObject({ CommandId: commandId, Status: 'Success' });
  });

  it('reports a failing script as Failed with its exit code', async () => {
    const commandId = await send(['echo partial', 'echo oops >&2', 'exit 3']);
    const out = await waitForInvocation(ssm, commandId, instanceId);
    expect(out).toMatchObject({
      Status: 'Failed',
      StatusDetails: 'Failed',
      ResponseCode: 3,
      StandardOutputContent: 'partial\n',
      StandardErrorContent: 'oops\n',
    });
  });

  it('truncates stdout to 24000 and stderr to 8000 characters', async () => {
    const commandId = await send([
      "head -c 30000 /dev/zero | tr '\\0' x",
      "head -c 10000 /dev/zero | tr '\\0' e >&2",
    ]);
    const out = await waitForInvocation(ssm, commandId, instanceId);
    expect(out.Status).toBe('Success');
    expect(out.StandardOutputContent).toBe('x'.repeat(24000));
    expect(out.StandardErrorContent).toBe('e'.repeat(8000));
  });

  it('rejects what real SSM rejects, with the same error names', async () => {
    const tooLong = await rejectionOf(send(['true'], { comment: 'c'.repeat(101) }));
    expect(tooLong.name).toBe('ValidationException');
    expect(tooLong.message).toMatch(
      /^1 validation error detected: Value 'c{101}' at 'comment' failed to satisfy constraint: Member must have length less than or equal to 100$/,
    );
    expect(standIn.commands.at(-1)).toMatchObject({ rejected: 'ValidationException' });

    const unknown = await rejectionOf(send(['true'], { instanceIds: ['i-0123456789abcdef0'] }));
    expect(unknown).toBeInstanceOf(InvalidInstanceId);
    expect(unknown.name).toBe('InvalidInstanceId');

    const badTimeout = await rejectionOf(
      ssm.send(
        new SendCommandCommand({
          DocumentName: 'AWS-RunShellScript',
          InstanceIds: [instanceId],
          TimeoutSeconds: 10,
          Parameters: { commands: ['true'] },
        }),
      ),
    );
    expect(badTimeout.name).toBe('ValidationException');

    const noCommands = await rejectionOf(
      ssm.send(
        new SendCommandCommand({
          DocumentName: 'AWS-RunShellScript',
          InstanceIds: [instanceId],
          Parameters: {},
        }),
      ),
    );
    expect(noCommands.name).toBe('InvalidParameters');

    const badDoc = await rejectionOf(
      ssm.send(
        new SendCommandCommand({
          DocumentName: 'AWS-RunPowerShellScript',
          InstanceIds: [instanceId],
          Parameters: { commands: ['true'] },
        }),
      ),
    );
    expect(badDoc.name).toBe('InvalidDocument');

    const noInvocation = await rejectionOf(
      ssm.send(
        new GetCommandInvocationCommand({
          CommandId: '00000000-0000-0000-0000-000000000000',
          InstanceId: instanceId,
        }),
      ),
    );
    expect(noInvocation).toBeInstanceOf(InvocationDoesNotExist);
    expect(noInvocation.name).toBe('InvocationDoesNotExist');

    const unknownOp = await rejectionOf(ssm.send(new DescribeDocumentCommand({ Name: 'x' })));
    expect(unknownOp.name).toBe('UnknownOperationException');
  });

  it('cancels a running script quickly', async () => {
    const commandId = await send(['echo started', 'sleep 30', 'echo never']);
    await sleep(200);
    const running = await ssm.send(
      new GetCommandInvocationCommand({ CommandId: commandId, InstanceId: instanceId }),
    );
    expect(running.Status).toBe('InProgress');
    const t0 = Date.now();
    await ssm.send(new CancelCommandCommand({ CommandId: commandId }));
    const out = await waitForInvocation(ssm, commandId, instanceId, 10_000);
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(out.Status).toBe('Cancelled');
    expect(out.StandardOutputContent).toBe('started\n');
  });

  it('kills a script that exceeds executionTimeout and reports TimedOut', async () => {
    const t0 = Date.now();
    const commandId = await send(['sleep 30'], { executionTimeout: '1' });
    const out = await waitForInvocation(ssm, commandId, instanceId, 15_000);
    expect(Date.now() - t0).toBeLessThan(8000);
    expect(out.Status).toBe('TimedOut');
    expect(out.StatusDetails).toBe('ExecutionTimedOut');
    expect(out.ResponseCode).not.toBe(0);
  });

  it('like the agent, waits for stdout/stderr to close, not just for the shell to exit', async () => {
    // A detached background job that keeps the output pipes open holds the invocation InProgress
    // until executionTimeout; one with its output redirected does not.
    const held = await send(['sleep 30 &', 'echo shell done'], { executionTimeout: '2' });
    const quiet = await send(['sleep 30 >/dev/null 2>&1 &', 'echo shell done']);
    const q = await waitForInvocation(ssm, quiet, instanceId);
    expect(q).toMatchObject({ Status: 'Success', StandardOutputContent: 'shell done\n' });
    await sleep(500);
    const h1 = await ssm.send(
      new GetCommandInvocationCommand({ CommandId: held, InstanceId: instanceId }),
    );
    expect(h1.Status).toBe('InProgress');
    expect(h1.StandardOutputContent).toBe('shell done\n');
    const h2 = await waitForInvocation(ssm, held, instanceId);
    expect(h2.Status).toBe('TimedOut');
  });

  it('is reachable through AWS_ENDPOINT_URL_SSM, as the action configures it', async () => {
    const saved = process.env.AWS_ENDPOINT_URL_SSM;
    process.env.AWS_ENDPOINT_URL_SSM = standIn.url;
    try {
      const client = new SSMClient({ region, credentials });
      const hit = await client.send(new GetParameterCommand({ Name: AMI_PARAM }));
      expect(hit.Parameter?.Value).toBe('ami-0123456789abcdef0');
      client.destroy();
    } finally {
      if (saved === undefined) delete process.env.AWS_ENDPOINT_URL_SSM;
      else process.env.AWS_ENDPOINT_URL_SSM = saved;
    }
  });

  it('never reports Online with neverOnline, and drops stopped instances', async () => {
    const never = await startSsmStandIn({ ec2Endpoint: moto.url, neverOnline: true, stateRoot });
    extraStandIns.push(never);
    const neverClient = new SSMClient({ endpoint: never.url, region, credentials });
    const filter = { Filters: [{ Key: 'InstanceIds', Values: [instanceId] }] };
    const out = await neverClient.send(new DescribeInstanceInformationCommand(filter));
    expect(out.InstanceInformationList).toEqual([]);
    expect(await rejectionOf(send(['true'], {}, neverClient))).toBeInstanceOf(InvalidInstanceId);
    neverClient.destroy();

    const other = await runInstance();
    const otherFilter = { Filters: [{ Key: 'InstanceIds', Values: [other] }] };
    let seen = 0;
    for (let i = 0; i < 100 && seen === 0; i++) {
      const out = await ssm.send(new DescribeInstanceInformationCommand(otherFilter));
      seen = out.InstanceInformationList?.length ?? 0;
      if (seen === 0) await sleep(100);
    }
    expect(seen).toBe(1);
    await ec2.send(new StopInstancesCommand({ InstanceIds: [other] }));
    const after = await ssm.send(new DescribeInstanceInformationCommand(otherFilter));
    expect(after.InstanceInformationList).toEqual([]);
  });

  it('hides fresh invocations for invocationVisibleAfterMs, and close() kills running scripts', async () => {
    const lagging = await startSsmStandIn({
      ec2Endpoint: moto.url,
      invocationVisibleAfterMs: 300,
      stateRoot,
    });
    const client = new SSMClient({ endpoint: lagging.url, region, credentials });
    const pidFile = join(tmp, 'sleeper.pid');
    try {
      const commandId = await send([`echo $$ > '${pidFile}'`, 'sleep 30'], {}, client);
      const early = await rejectionOf(
        client.send(
          new GetCommandInvocationCommand({ CommandId: commandId, InstanceId: instanceId }),
        ),
      );
      expect(early).toBeInstanceOf(InvocationDoesNotExist);
      await sleep(400);
      const later = await client.send(
        new GetCommandInvocationCommand({ CommandId: commandId, InstanceId: instanceId }),
      );
      expect(later.Status).toBe('InProgress');
    } finally {
      client.destroy();
      await lagging.close();
    }
    const pid = Number((await readFile(pidFile, 'utf8')).trim());
    expect(pid).toBeGreaterThan(0);
    expect(await isRunning(pid)).toBe(false); // the script's shell is gone
  });

  it('moto reset() forgets every resource', async () => {
    await moto.reset();
    const out = await ec2.send(new DescribeInstancesCommand({}));
    expect(out.Reservations ?? []).toEqual([]);
  });
});

describe('startMoto failures', () => {
  it('includes the exit status and what moto printed', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'moto-fail-'));
    try {
      const fake = join(dir, 'fake-moto');
      await writeFile(fake, '#!/bin/sh\necho "boom: $*" >&2\nexit 2\n', { mode: 0o755 });
      const err = await rejectionOf(startMoto({ command: { command: fake, args: [] } }));
      expect(err.message).toMatch(/exited with code 2/);
      expect(err.message).toMatch(/boom: -H 127\.0\.0\.1 -p \d+/);
      const missing = await rejectionOf(
        startMoto({ command: { command: join(dir, 'does-not-exist'), args: [] } }),
      );
      expect(missing.message).toMatch(/could not run .*ENOENT/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
