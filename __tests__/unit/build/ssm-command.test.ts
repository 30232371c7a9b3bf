import { afterEach, describe, expect, it } from '@jest/globals';
import { DescribeInstancesCommand, EC2Client } from '@aws-sdk/client-ec2';
import {
  CancelCommandCommand,
  DescribeInstanceInformationCommand,
  GetCommandInvocationCommand,
  SendCommandCommand,
  SSMClient,
} from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import {
  commandComment,
  describeCommandFailure,
  runShellScript,
  waitForSsmOnline,
} from '../../../src/build/ssm-command.js';
import { ssmDeps } from '../../../test-support/build.js';
import { AbortedError } from '../../../src/core/errors.js';
import { rejectionOf } from '../../../test-support/rejection.js';

const ssm = mockClient(SSMClient);
const ec2 = mockClient(EC2Client);
afterEach(() => {
  ssm.reset();
  ec2.reset();
});

const named = (name: string) => Object.assign(new Error(name), { name });
const deps = ssmDeps;
const request = {
  instanceId: 'i-1',
  script: '#!/bin/bash\necho hi',
  comment: 'c',
  executionTimeoutSeconds: 600,
  waitTimeoutMs: 700_000,
};

describe('runShellScript', () => {
  it('ends at once on cancellation between SendCommand tries, saying so and nothing else', async () => {
    const controller = new AbortController();
    ssm.on(SendCommandCommand).callsFake(() => {
      controller.abort(new AbortedError('The run was cancelled.'));
      return Promise.reject(named('InvalidInstanceId'));
    });
    const error = await rejectionOf(
      runShellScript(request, { ...deps(), signal: controller.signal }),
      AbortedError,
    );
    expect(error.message).toBe('The run was cancelled.');
    expect(ssm.commandCalls(SendCommandCommand)).toHaveLength(1);
  });

  it('retries a target SSM does not know yet, waits for the invocation to appear, and returns its output', async () => {
    ssm
      .on(SendCommandCommand)
      .rejectsOnce(named('InvalidInstanceId'))
      .resolves({ Command: { CommandId: 'cmd-1' } });
    ssm
      .on(GetCommandInvocationCommand)
      .rejectsOnce(named('InvocationDoesNotExist'))
      .resolvesOnce({ Status: 'InProgress', StatusDetails: 'InProgress' })
      .resolves({
        Status: 'Success',
        StatusDetails: 'Success',
        ResponseCode: 0,
        StandardOutputContent: 'hi\n',
      });
    const result = await runShellScript(request, deps());
    expect(result).toEqual({
      commandId: 'cmd-1',
      status: 'Success',
      responseCode: 0,
      stdout: 'hi\n',
      stderr: '',
    });
    const sent = ssm.commandCalls(SendCommandCommand)[1]?.args[0].input;
    expect(sent?.Parameters).toEqual({
      commands: ['#!/bin/bash', 'echo hi'],
      executionTimeout: ['600'],
    });
  });

  it('does not retry other SendCommand errors', async () => {
    ssm.on(SendCommandCommand).rejects(named('AccessDeniedException'));
    await expect(runShellScript(request, deps())).rejects.toThrow(
      'SSM SendCommand failed: AccessDeniedException',
    );
    expect(ssm.commandCalls(SendCommandCommand)).toHaveLength(1);
  });

  it('cancels the command on the instance when the wait gives up', async () => {
    ssm.on(SendCommandCommand).resolves({ Command: { CommandId: 'cmd-2' } });
    ssm
      .on(GetCommandInvocationCommand)
      .resolves({ Status: 'InProgress', StatusDetails: 'InProgress' });
    ssm.on(CancelCommandCommand).resolves({});
    const d = deps();
    const start = d.clock.now();
    await expect(runShellScript({ ...request, waitTimeoutMs: 60_000 }, d)).rejects.toThrow(
      'Timed out after 1m waiting for SSM command cmd-2',
    );
    expect(d.clock.now() - start).toBe(60_000);
    expect(ssm.commandCalls(CancelCommandCommand)[0]?.args[0].input).toEqual({
      CommandId: 'cmd-2',
      InstanceIds: ['i-1'],
    });
  });

  it('treats every final status as final', async () => {
    ssm.on(SendCommandCommand).resolves({ Command: { CommandId: 'cmd-3' } });
    ssm
      .on(GetCommandInvocationCommand)
      .resolves({ Status: 'Failed', StatusDetails: 'DeliveryTimedOut' });
    const result = await runShellScript(request, deps());
    expect(describeCommandFailure(result, 600)).toBe(
      'SSM could not deliver the command to the builder',
    );
    expect(describeCommandFailure({ ...result, status: 'ExecutionTimedOut' }, 600)).toContain(
      '10m limit',
    );
    expect(describeCommandFailure({ ...result, status: 'Failed', responseCode: 3 }, 600)).toBe(
      'the pull script exited with code 3',
    );
  });
});

describe('waitForSsmOnline', () => {
  it('fails fast when the instance dies instead of registering', async () => {
    ssm.on(DescribeInstanceInformationCommand).resolves({ InstanceInformationList: [] });
    ec2.on(DescribeInstancesCommand).resolves({
      Reservations: [
        {
          Instances: [
            {
              InstanceId: 'i-1',
              State: { Name: 'terminated' },
              StateReason: { Message: 'Server.InternalError' },
            },
          ],
        },
      ],
    });
    const d = deps();
    const start = d.clock.now();
    await expect(waitForSsmOnline('i-1', 600_000, d)).rejects.toThrow(
      'is terminated before SSM saw it: Server.InternalError',
    );
    expect(d.clock.now()).toBe(start); // at the first check, not after the 10-minute bound
  });
});

describe('commandComment', () => {
  it('keeps SSM comments within 100 characters', () => {
    expect(commandComment('x'.repeat(150))).toHaveLength(100);
    expect(commandComment('short')).toBe('short');
  });
});
