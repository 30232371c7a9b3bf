import { afterEach, describe, expect, it } from '@jest/globals';
import {
  AssumeRoleWithWebIdentityCommand,
  GetCallerIdentityCommand,
  STSClient,
} from '@aws-sdk/client-sts';
import { mockClient } from 'aws-sdk-client-mock';
import { VirtualClock } from '../../../test-support/virtual-clock.js';
import {
  checkCallerIdentity,
  webIdentityCredentials,
  type WebIdentityDeps,
} from '../../../src/aws/credentials.js';
import { MemoryLogger } from '../../../test-support/memory-logger.js';

const ROLE = 'arn:aws:iam::123456789012:role/snapshot-builder';
const config = {
  roleToAssume: ROLE,
  roleSessionName: 'gha',
  roleDurationSeconds: 3600,
  audience: 'sts.amazonaws.com',
};
const sts = mockClient(STSClient);
afterEach(() => {
  sts.reset();
});

function credentialsFor(clock: VirtualClock, minutes: number, n: number) {
  return {
    Credentials: {
      AccessKeyId: `ASIA${n}`,
      SecretAccessKey: `secret-${n}`,
      SessionToken: `session-${n}`,
      Expiration: new Date(clock.now() + minutes * 60_000),
    },
    AssumedRoleUser: { Arn: `${ROLE}/gha`, AssumedRoleId: 'x' },
  };
}

function deps(clock: VirtualClock, overrides: Partial<WebIdentityDeps> = {}) {
  const tokens: string[] = [];
  const masked: string[] = [];
  let n = 0;
  const d: WebIdentityDeps = {
    getIdToken: async (audience) => {
      n++;
      tokens.push(audience);
      return `jwt-${n}`;
    },
    sts: new STSClient({ region: 'us-west-2' }),
    clock,
    logger: new MemoryLogger(),
    maskSecret: (v) => masked.push(v),
    oidcAvailable: true,
    ...overrides,
  };
  return { d, tokens, masked };
}

describe('webIdentityCredentials', () => {
  it('assumes the role with a fresh OIDC token, masks the secrets, and refreshes before expiry', async () => {
    const clock = new VirtualClock();
    let n = 0;
    sts.on(AssumeRoleWithWebIdentityCommand).callsFake(() => credentialsFor(clock, 60, ++n));
    const { d, tokens, masked } = deps(clock);
    const provider = webIdentityCredentials(config, d);

    const first = await provider();
    expect(first.accessKeyId).toBe('ASIA1');
    expect(await provider()).toBe(first); // cached
    const call = sts.commandCalls(AssumeRoleWithWebIdentityCommand)[0]?.args[0].input;
    expect(call).toEqual({
      RoleArn: ROLE,
      RoleSessionName: 'gha',
      DurationSeconds: 3600,
      WebIdentityToken: 'jwt-1',
    });
    expect(tokens).toEqual(['sts.amazonaws.com']);
    expect(masked).toEqual(['jwt-1', 'secret-1', 'session-1']);

    clock.advance(56 * 60_000); // within five minutes of expiry
    const second = await provider();
    expect(second.accessKeyId).toBe('ASIA2');
    expect(
      sts.commandCalls(AssumeRoleWithWebIdentityCommand)[1]?.args[0].input.WebIdentityToken,
    ).toBe('jwt-2');
  });

  it('says to add id-token: write when the job cannot get a token', async () => {
    const { d } = deps(new VirtualClock(), { oidcAvailable: false });
    await expect(webIdentityCredentials(config, d)()).rejects.toThrow('id-token: write');
    expect(sts.calls()).toHaveLength(0);
  });

  it('retries IDPCommunicationError with backoff, then succeeds', async () => {
    const clock = new VirtualClock();
    sts
      .on(AssumeRoleWithWebIdentityCommand)
      .rejectsOnce(
        Object.assign(new Error("Couldn't retrieve verification key"), {
          name: 'IDPCommunicationErrorException',
        }),
      )
      .resolves(credentialsFor(clock, 60, 1));
    const { d } = deps(clock);
    const start = clock.now();
    const c = await webIdentityCredentials(config, d)();
    expect(c.accessKeyId).toBe('ASIA1');
    expect(sts.commandCalls(AssumeRoleWithWebIdentityCommand)).toHaveLength(2);
    expect(clock.now() - start).toBe(1000);
  });

  it('never retries AccessDenied, and explains the trust policy', async () => {
    sts.on(AssumeRoleWithWebIdentityCommand).rejects(
      Object.assign(new Error('Not authorized to perform sts:AssumeRoleWithWebIdentity'), {
        name: 'AccessDenied',
      }),
    );
    const { d } = deps(new VirtualClock());
    await expect(webIdentityCredentials(config, d)()).rejects.toThrow(/trust policy.*sub/);
    expect(sts.commandCalls(AssumeRoleWithWebIdentityCommand)).toHaveLength(1);
  });

  it('explains a token STS rejects', async () => {
    sts.on(AssumeRoleWithWebIdentityCommand).rejects(
      Object.assign(new Error('Incorrect token audience'), {
        name: 'InvalidIdentityTokenException',
      }),
    );
    const { d } = deps(new VirtualClock());
    await expect(webIdentityCredentials(config, d)()).rejects.toThrow('IAM OIDC provider');
  });
});

describe('checkCallerIdentity', () => {
  it('reports account and ARN', async () => {
    sts.on(GetCallerIdentityCommand).resolves({ Account: '123456789012', Arn: `${ROLE}/gha` });
    expect(
      await checkCallerIdentity(
        new STSClient({ region: 'us-west-2' }),
        new AbortController().signal,
      ),
    ).toEqual({
      account: '123456789012',
      arn: `${ROLE}/gha`,
    });
  });

  it('turns a missing credential chain into advice', async () => {
    sts.on(GetCallerIdentityCommand).rejects(
      Object.assign(new Error('Could not load credentials from any providers'), {
        name: 'CredentialsProviderError',
      }),
    );
    await expect(
      checkCallerIdentity(new STSClient({ region: 'us-west-2' }), new AbortController().signal),
    ).rejects.toThrow('No AWS credentials found');
  });
});
