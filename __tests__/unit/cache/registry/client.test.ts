/**
 * src/cache/registry/client.ts: a GET goes as is, then once more after a fresh challenge, and a
 * 401 after authenticating is the answer.
 */
import { describe, expect, it } from '@jest/globals';
import { AMD64, ARM64, BOTH, ref, failure, setup } from '../../../../test-support/registry-fake.js';
import { resolveImage } from '../../../../src/cache/registry/index.js';

describe('RegistryClient.get: rounds', () => {
  it('answers a Basic challenge with the credentials (ECR style), then sends them first', async () => {
    const { registry, deps } = setup({
      credentialsFor: async () => ({ username: 'AWS', password: 'ecr-password' }),
    });
    const host = '123456789012.dkr.ecr.eu-west-1.amazonaws.com';
    registry.auth = { scheme: 'basic', username: 'AWS', password: 'ecr-password' };
    const one = registry.image(host, 'team/app', ['v1'], AMD64);
    const two = registry.image(host, 'team/api', ['v1'], ARM64);

    const first = await resolveImage(ref(`${host}/team/app:v1`), BOTH, deps);
    const second = await resolveImage(ref(`${host}/team/api:v1`), BOTH, deps);

    expect(first.digest).toBe(one);
    expect(second.digest).toBe(two);
    const basic = `Basic ${Buffer.from('AWS:ecr-password').toString('base64')}`;
    expect(registry.requests.map((r) => [r.url.pathname, r.headers.get('authorization')])).toEqual([
      ['/v2/team/app/manifests/v1', null],
      ['/v2/team/app/manifests/v1', basic],
      [expect.stringContaining('/v2/team/app/blobs/'), basic],
      ['/v2/team/api/manifests/v1', basic],
      [expect.stringContaining('/v2/team/api/blobs/'), basic],
    ]);
  });

  it('reports a 401 after authenticating with the registry message and a Docker Hub hint', async () => {
    const { registry, deps } = setup();
    registry.auth = { scheme: 'bearer', service: 'registry.docker.io', grant: () => false };
    const error = await failure(resolveImage(ref('someone/private'), BOTH, deps));
    expect(error.kind).toBe('unauthorized');
    expect(error.reason).toBe(
      'not authorized: UNAUTHORIZED: authentication required; no credentials are configured ' +
        'for docker.io (Docker Hub also answers this for repositories that do not exist)',
    );
    expect(error.message).toBe(
      `Could not resolve docker.io/someone/private:latest: ${error.reason}`,
    );
    // manifest, token, manifest: no more.
    expect(registry.requests).toHaveLength(3);
  });
});
