/**
 * Talking to the builder through SSM Run Command: wait until its agent is
 * online, send the script, follow it to a final status. Every wait is bounded
 * and cancellation cancels the command on the instance too.
 */
import {
  CancelCommandCommand,
  DescribeInstanceInformationCommand,
  GetCommandInvocationCommand,
  SendCommandCommand,
  type GetCommandInvocationCommandOutput,
  type SSMClient,
} from '@aws-sdk/client-ssm';
import type { EC2Client } from '@aws-sdk/client-ec2';
import { describeInstance } from './builder-instance.js';
import type { Deps } from '../core/deps.js';
import { ActionError, errorMessage } from '../core/errors.js';
import { awsErrorName } from '../aws/errors.js';
import { pollUntil, WaitTimeoutError } from '../aws/wait.js';
import { formatDuration } from '../core/format.js';

export interface SsmDeps extends Deps {
  ssm: SSMClient;
  ec2: EC2Client;
}

export async function waitForSsmOnline(
  instanceId: string,
  timeoutMs: number,
  deps: SsmDeps,
): Promise<void> {
  try {
    await pollUntil({
      what: `the builder ${instanceId} to come online in SSM`,
      timeoutMs,
      intervalMs: 1000,
      maxIntervalMs: 10000,
      clock: deps.clock,
      signal: deps.signal,
      check: async () => {
        const out = await deps.ssm.send(
          new DescribeInstanceInformationCommand({
            Filters: [{ Key: 'InstanceIds', Values: [instanceId] }],
          }),
          { abortSignal: deps.signal },
        );
        const info = out.InstanceInformationList?.find((i) => i.InstanceId === instanceId);
        if (info?.PingStatus === 'Online') return { done: true, value: undefined };
        // Fail fast if the instance died instead of waiting out the timeout.
        const instance = await describeInstance(deps.ec2, instanceId, deps.signal);
        const state = instance?.State?.Name;
        if (state === 'terminated' || state === 'shutting-down' || state === 'stopped') {
          throw new ActionError(
            `The builder ${instanceId} is ${state} before SSM saw it: ${instance?.StateReason?.Message ?? 'no reason given'}.`,
          );
        }
        return {
          done: false,
          detail: `instance ${state ?? 'unknown'}, SSM ${info?.PingStatus ?? 'not registered'}`,
        };
      },
    });
  } catch (error) {
    if (error instanceof WaitTimeoutError) {
      throw new ActionError(
        `${error.message} The SSM agent never reported in. Usual causes: the instance profile's role lacks ` +
          'the AmazonSSMManagedInstanceCore policy; the subnet has no route to the SSM endpoints ' +
          '(no internet gateway or NAT, and no VPC endpoints for ssm, ssmmessages and ec2messages); ' +
          'or a GPU variant on an instance type without a GPU.',
        { cause: error },
      );
    }
    throw error;
  }
}

/** SSM's Comment field takes at most 100 characters. */
export function commandComment(text: string): string {
  return text.length <= 100 ? text : `${text.slice(0, 99)}…`;
}

export interface CommandRequest {
  instanceId: string;
  script: string;
  comment: string;
  /** How long the script may run on the instance. */
  executionTimeoutSeconds: number;
  /** Bound on our wait, a little above the execution timeout. */
  waitTimeoutMs: number;
  /** Called with each status while waiting. */
  onProgress?: (status: string, elapsedMs: number) => void;
}

export interface CommandResult {
  commandId: string;
  status: string;
  responseCode: number;
  stdout: string;
  stderr: string;
}

const FINAL_STATUSES = new Set([
  'Success',
  'Failed',
  'Cancelled',
  'TimedOut',
  'DeliveryTimedOut',
  'ExecutionTimedOut',
  'Undeliverable',
  'Terminated',
  'InvalidPlatform',
  'AccessDenied',
]);

/** A just-registered agent can briefly be refused as a target; these are worth a retry. */
const SEND_RETRY_ERRORS = new Set(['InvalidInstanceId']);
const SEND_ATTEMPTS = 5;

export async function runShellScript(
  request: CommandRequest,
  deps: SsmDeps,
): Promise<CommandResult> {
  const commandId = await sendWithRetry(request, deps);
  deps.logger.info(`SSM command ${commandId} sent to ${request.instanceId}.`);
  try {
    const invocation = await pollUntil<GetCommandInvocationCommandOutput>({
      what: `SSM command ${commandId} to finish`,
      timeoutMs: request.waitTimeoutMs,
      intervalMs: 250,
      maxIntervalMs: 10000,
      // Slow growth: the script's end is seen within a quarter of its run time, at about
      // 20 calls in the first minute and 6 a minute after that.
      backoff: 1.25,
      clock: deps.clock,
      signal: deps.signal,
      onPending: (detail, elapsed) => request.onProgress?.(detail ?? 'Pending', elapsed),
      check: async () => {
        try {
          const out = await deps.ssm.send(
            new GetCommandInvocationCommand({
              CommandId: commandId,
              InstanceId: request.instanceId,
            }),
            { abortSignal: deps.signal },
          );
          const status = out.StatusDetails ?? out.Status ?? 'Pending';
          if (FINAL_STATUSES.has(status) || FINAL_STATUSES.has(out.Status ?? ''))
            return { done: true, value: out };
          return { done: false, detail: status };
        } catch (error) {
          // The invocation appears a moment after SendCommand returns.
          if (awsErrorName(error) === 'InvocationDoesNotExist')
            return { done: false, detail: 'Pending' };
          throw error;
        }
      },
    });
    return {
      commandId,
      status: invocation.StatusDetails ?? invocation.Status ?? 'Unknown',
      responseCode: invocation.ResponseCode ?? -1,
      stdout: invocation.StandardOutputContent ?? '',
      stderr: invocation.StandardErrorContent ?? '',
    };
  } catch (error) {
    await cancelQuietly(commandId, request.instanceId, deps, error);
    throw error;
  }
}

async function sendWithRetry(request: CommandRequest, deps: SsmDeps): Promise<string> {
  for (let attempt = 1; ; attempt++) {
    try {
      const out = await deps.ssm.send(
        new SendCommandCommand({
          DocumentName: 'AWS-RunShellScript',
          InstanceIds: [request.instanceId],
          Comment: commandComment(request.comment),
          // Delivery must start soon; the script's own bound is executionTimeout.
          TimeoutSeconds: 600,
          Parameters: {
            commands: request.script.split('\n'),
            executionTimeout: [String(request.executionTimeoutSeconds)],
          },
        }),
        { abortSignal: deps.signal },
      );
      const id = out.Command?.CommandId;
      if (!id) throw new ActionError('SSM SendCommand returned no command ID.');
      return id;
    } catch (error) {
      const name = awsErrorName(error) ?? '';
      if (SEND_RETRY_ERRORS.has(name) && attempt < SEND_ATTEMPTS) {
        deps.logger.debug(`SendCommand: ${name}; retrying (${attempt}/${SEND_ATTEMPTS}).`);
        await deps.clock.sleep(2000 * attempt, deps.signal);
        continue;
      }
      if (error instanceof ActionError) throw error;
      throw new ActionError(`SSM SendCommand failed: ${name}: ${errorMessage(error)}`, {
        cause: error,
      });
    }
  }
}

async function cancelQuietly(
  commandId: string,
  instanceId: string,
  deps: SsmDeps,
  reason: unknown,
): Promise<void> {
  try {
    // Not under the run's signal: that one may be what just aborted.
    await deps.ssm.send(
      new CancelCommandCommand({ CommandId: commandId, InstanceIds: [instanceId] }),
      {
        abortSignal: AbortSignal.timeout(10_000),
      },
    );
    deps.logger.info(`Cancelled SSM command ${commandId} (${errorMessage(reason)}).`);
  } catch (error) {
    deps.logger.warning(`Could not cancel SSM command ${commandId}: ${errorMessage(error)}`);
  }
}

export function describeCommandFailure(result: CommandResult, timeoutSeconds: number): string {
  switch (result.status) {
    case 'TimedOut':
    case 'ExecutionTimedOut':
      return `the pull script ran longer than its ${formatDuration(timeoutSeconds * 1000)} limit (raise timeout-minutes, or pull fewer or smaller images)`;
    case 'DeliveryTimedOut':
    case 'Undeliverable':
      return 'SSM could not deliver the command to the builder';
    case 'Cancelled':
    case 'Cancelling':
      return 'the command was cancelled';
    case 'AccessDenied':
      return 'SSM was denied running the command on the builder';
    default:
      return `the pull script exited with code ${result.responseCode}`;
  }
}
