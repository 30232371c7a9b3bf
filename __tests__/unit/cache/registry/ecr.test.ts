/**
 * src/cache/registry/ecr.ts: ECR private registry hosts, and their credentials from
 * GetAuthorizationToken.
 */
import { afterEach, describe, expect, it } from '@jest/globals';
import { ARM64, BOTH, ref, setup } from '../../../../test-support/registry-fake.js';
import { ECRClient, GetAuthorizationTokenCommand } from '@aws-sdk/client-ecr';
import { mockClient } from 'aws-sdk-client-mock';
import { VirtualClock } from '../../../../test-support/virtual-clock.js';
import {
  ecrCredentials,
  parseEcrRegistry,
  resolveImage,
} from '../../../../src/cache/registry/index.js';

describe('ecrCredentials', () => {
  const ecr = mockClient(ECRClient);
  afterEach(() => {
    ecr.reset();
  });

  const token = (password: string, expiresAt?: Date) => ({
    authorizationData: [
      {
        authorizationToken: Buffer.from(`AWS:${password}`).toString('base64'),
        proxyEndpoint: 'https://123456789012.dkr.ecr.us-west-2.amazonaws.com',
        ...(expiresAt ? { expiresAt } : {}),
      },
    ],
  });

  function factory() {
    const regions: string[] = [];
    const clientFor = (region: string) => {
      regions.push(region);
      return new ECRClient({
        region,
        credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
      });
    };
    return { regions, clientFor };
  }

  it('parses ECR private registry hosts', () => {
    expect(parseEcrRegistry('123456789012.dkr.ecr.us-west-2.amazonaws.com')).toEqual({
      accountId: '123456789012',
      region: 'us-west-2',
    });
    expect(parseEcrRegistry('123456789012.dkr.ecr-fips.us-gov-west-1.amazonaws.com')).toEqual({
      accountId: '123456789012',
      region: 'us-gov-west-1',
    });
    expect(parseEcrRegistry('123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn')).toEqual({
      accountId: '123456789012',
      region: 'cn-north-1',
    });
    expect(parseEcrRegistry('123456789012.dkr-ecr.eu-central-1.on.aws')).toEqual({
      accountId: '123456789012',
      region: 'eu-central-1',
    });
    expect(parseEcrRegistry('public.ecr.aws')).toBeUndefined();
    expect(parseEcrRegistry('docker.io')).toBeUndefined();
    expect(parseEcrRegistry('12345.dkr.ecr.us-west-2.amazonaws.com')).toBeUndefined();
    expect(
      parseEcrRegistry('123456789012.dkr.ecr.us-west-2.amazonaws.com.evil.example'),
    ).toBeUndefined();
  });

  it('decodes the token, with a client for the registry region, cached per registry', async () => {
    ecr.on(GetAuthorizationTokenCommand).resolves(token('ecr-secret'));
    const { regions, clientFor } = factory();
    const credentialsFor = ecrCredentials(clientFor, { clock: new VirtualClock() });

    const host = '123456789012.dkr.ecr.us-west-2.amazonaws.com';
    expect(await credentialsFor(host)).toEqual({ username: 'AWS', password: 'ecr-secret' });
    expect(await credentialsFor(host)).toEqual({ username: 'AWS', password: 'ecr-secret' });
    expect(await credentialsFor('210987654321.dkr.ecr.eu-west-1.amazonaws.com')).toBeDefined();
    expect(await credentialsFor('210987654321.dkr.ecr.us-west-2.amazonaws.com')).toBeDefined();
    expect(await credentialsFor('ghcr.io')).toBeUndefined();

    expect(regions).toEqual(['us-west-2', 'eu-west-1']);
    const calls = ecr.commandCalls(GetAuthorizationTokenCommand);
    expect(calls.map((c) => c.args[0].input)).toEqual([
      { registryIds: ['123456789012'] },
      { registryIds: ['210987654321'] },
      { registryIds: ['210987654321'] },
    ]);
    expect(await Promise.all(calls.map((c) => c.thisValue.config.region()))).toEqual([
      'us-west-2',
      'eu-west-1',
      'us-west-2',
    ]);
  });

  it('renews a token close to its expiry', async () => {
    const clock = new VirtualClock();
    ecr
      .on(GetAuthorizationTokenCommand)
      .resolvesOnce(token('first', new Date(clock.now() + 12 * 3600_000)))
      .resolvesOnce(token('second', new Date(clock.now() + 24 * 3600_000)));
    const credentialsFor = ecrCredentials(factory().clientFor, { clock });
    const host = '123456789012.dkr.ecr.us-west-2.amazonaws.com';
    expect((await credentialsFor(host))?.password).toBe('first');
    clock.advance(11 * 3600_000);
    expect((await credentialsFor(host))?.password).toBe('first');
    clock.advance(56 * 60_000);
    expect((await credentialsFor(host))?.password).toBe('second');
  });

  it('explains a failure and does not cache it', async () => {
    ecr
      .on(GetAuthorizationTokenCommand)
      .rejectsOnce(
        Object.assign(new Error('User is not authorized to perform: ecr:GetAuthorizationToken'), {
          name: 'AccessDeniedException',
        }),
      )
      .resolves(token('ok'));
    const credentialsFor = ecrCredentials(factory().clientFor);
    const host = '123456789012.dkr.ecr.us-west-2.amazonaws.com';
    await expect(credentialsFor(host)).rejects.toThrow(
      'ECR GetAuthorizationToken for account 123456789012 in us-west-2 failed: ' +
        'AccessDeniedException: User is not authorized to perform: ecr:GetAuthorizationToken',
    );
    expect((await credentialsFor(host))?.password).toBe('ok');
  });

  it('drives the Basic flow of an ECR registry', async () => {
    ecr.on(GetAuthorizationTokenCommand).resolves(token('ecr-secret'));
    const { registry, deps, logger } = setup({
      credentialsFor: ecrCredentials(factory().clientFor),
    });
    const host = '123456789012.dkr.ecr.us-west-2.amazonaws.com';
    registry.auth = { scheme: 'basic', username: 'AWS', password: 'ecr-secret' };
    const digest = registry.image(host, 'team/app', ['v1'], ARM64);
    const resolved = await resolveImage(ref(`${host}/team/app:v1`), BOTH, deps);
    expect(resolved.platforms[1]?.digest).toBe(digest);
    expect(logger.text()).not.toContain('ecr-secret');
  });
});
