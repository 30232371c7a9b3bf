// src/action/post.ts: the post step in process after a main step, on the in-memory runtime the
// main step saved its state in: it removes what the state names and a search by tag finds, and
// has nothing to do after a main step that created nothing.
import { afterEach, describe, expect, it } from '@jest/globals';
import { GetParameterCommand } from '@aws-sdk/client-ssm';
import { TerminateInstancesCommand } from '@aws-sdk/client-ec2';
import { runMain } from '../../../src/action/main.js';
import { runPost } from '../../../src/action/post.js';
import { STATE_INSTANCE_IDS } from '../../../src/build/index.js';
import { NO_CREATES, STATE_CREATES } from '../../../src/aws/create-ledger.js';
import { INSTANCE_ID } from '../../../test-support/aws-mocks.js';
import {
  failingMainStep,
  mainStep as runMainStep,
  restoreMainSteps,
  MAIN_INPUTS,
  type MockedRun,
} from '../../../test-support/action-aws.js';

afterEach(restoreMainSteps);
const mainStep = (inputs: Record<string, string> = {}) => runMainStep(inputs, 60_000);

const terminated = (mocked: MockedRun, from = 0) =>
  mocked.ec2
    .commandCalls(TerminateInstancesCommand)
    .slice(from)
    .flatMap((c) => c.args[0].input.InstanceIds ?? []);

describe('runPost', () => {
  it('after a clean main step checks by tag, finds nothing and removes nothing', async () => {
    const { rt, aws } = mainStep();
    await runMain(rt);
    expect(rt.failures).toEqual([]);
    const before = aws.ec2.commandCalls(TerminateInstancesCommand).length;

    const post = rt.post();
    await runPost(post);
    expect(post.failures).toEqual([]);
    expect(post.logger.messages('info')).toContain(
      'The main step left nothing behind; checking by tag.',
    );
    expect(terminated(aws, before)).toEqual([]);
    expect(post.clientRequests).toEqual([{ region: 'us-west-2', credentials: false }]);
  });

  it('removes the builder a failed main step could not, as its state names it', async () => {
    const { rt, aws } = failingMainStep({}, 60_000);
    await runMain(rt);
    expect(rt.failures).toHaveLength(1);
    expect(rt.state.get(STATE_INSTANCE_IDS)).toBe(INSTANCE_ID);

    // By the post step, terminating works again.
    delete aws.builder.terminateFails;
    const before = aws.ec2.commandCalls(TerminateInstancesCommand).length;
    const post = rt.post();
    await runPost(post);
    expect(post.failures).toEqual([]);
    expect(terminated(aws, before)).toContain(INSTANCE_ID);
    expect(aws.builder.state).toBe('terminated');
    expect(post.logger.messages('info')).toContain(`Terminated ${INSTANCE_ID} (us-west-2).`);
  });

  it('fails when what the main step left cannot be removed either', async () => {
    const { rt } = failingMainStep({}, 60_000);
    await runMain(rt);

    const post = rt.post();
    await runPost(post);
    expect(post.failures).toHaveLength(1);
    expect(post.failures[0]).toMatch(/^Cleanup incomplete: /);
    expect(post.failures[0]).toContain(INSTANCE_ID);
  });

  it('has nothing to clean after a main step that failed on its inputs', async () => {
    const { rt, aws } = mainStep({ images: '' });
    await runMain(rt);
    expect(rt.failures).toHaveLength(1);

    const post = rt.post();
    await runPost(post);
    expect(post.failures).toEqual([]);
    expect(post.logger.messages('info')).toEqual([
      'The main step built nothing; nothing to clean up.',
    ]);
    expect(post.clientRequests).toEqual([]);
    expect(aws.ec2.calls()).toHaveLength(0);
  });

  it('has nothing to clean after a main step that sent no create request', async () => {
    const { rt, aws } = mainStep();
    // The AMI lookup fails: the build ends before it creates anything.
    aws.ssm
      .on(GetParameterCommand)
      .rejects(Object.assign(new Error('no such parameter'), { name: 'ParameterNotFound' }));
    await runMain(rt);
    expect(rt.failures).toHaveLength(1);
    expect(rt.state.get(STATE_CREATES)).toBe(NO_CREATES);

    const post = rt.post();
    await runPost(post);
    expect(post.failures).toEqual([]);
    expect(post.logger.messages('info')).toEqual([
      'The main step sent no create request to AWS; nothing to clean up.',
    ]);
    expect(post.clientRequests).toEqual([]);
  });

  it('skips cleanup, warning, when the credentials inputs are bad', async () => {
    const { rt } = mainStep();
    await runMain(rt);
    const post = rt.post({ inputs: { ...MAIN_INPUTS, 'role-to-assume': 'not-a-role' } });
    await runPost(post);
    expect(post.failures).toEqual([]);
    expect(post.logger.messages('warning')).toEqual([
      expect.stringMatching(/^Cleanup skipped: Input 'role-to-assume': /),
    ]);
    expect(post.clientRequests).toEqual([]);
  });
});
