/**
 * src/cache/registry/auth.ts: the token flow (anonymous and with credentials), token caching and
 * renewal, Basic registries, refusals, and secrets registered before they can show.
 */
import { describe, expect, it } from '@jest/globals';
import {
  AMD64,
  BOTH,
  FakeRegistry,
  HOST,
  json,
  REALM,
  ref,
  failure,
  setup,
} from '../../../../test-support/registry-fake.js';
import { parseChallenge } from '../../../../src/cache/registry/auth.js';
import {
  RegistryResolver,
  resolveImage,
  resolveImages,
} from '../../../../src/cache/registry/index.js';

describe('resolveImage: authentication', () => {
  it('gets an anonymous Bearer token with service and scope, then retries', async () => {
    const { registry, deps, logger } = setup();
    registry.auth = { scheme: 'bearer', service: 'registry.docker.io' };
    const amd = registry.image('registry-1.docker.io', 'library/busybox', [], AMD64);
    registry.index(
      'registry-1.docker.io',
      'library/busybox',
      ['1.36'],
      [{ digest: amd, platform: AMD64 }],
    );

    const resolved = await resolveImage(ref('busybox:1.36'), ['linux/amd64'], deps);

    expect(resolved.platforms[0]?.digest).toBe(amd);
    const [first, tokenRequest, retry, ...rest] = registry.requests;
    expect(rest).toEqual([]);
    expect(first?.headers.get('authorization')).toBeNull();
    expect(tokenRequest?.url.origin + (tokenRequest?.url.pathname ?? '')).toBe(REALM);
    expect(tokenRequest?.url.searchParams.get('service')).toBe('registry.docker.io');
    expect(tokenRequest?.url.searchParams.getAll('scope')).toEqual([
      'repository:library/busybox:pull',
    ]);
    expect(tokenRequest?.headers.get('authorization')).toBeNull();
    expect(retry?.headers.get('authorization')).toBe('Bearer token-1');
    expect(logger.text()).not.toContain('token-1');
  });

  it('sends Basic credentials to the token service when there are some', async () => {
    const account = { username: 'robot', password: 's3cret-pass' };
    const { registry, deps, logger } = setup({
      credentialsFor: async (host) => (host === 'ghcr.io' ? account : undefined),
    });
    registry.auth = {
      scheme: 'bearer',
      service: 'ghcr.io',
      account,
      grant: (_repo, user) => user === 'robot',
    };
    const digest = registry.image('ghcr.io', 'org/private', ['v1'], AMD64);

    const resolved = await resolveImage(ref('ghcr.io/org/private:v1'), ['linux/amd64'], deps);

    expect(resolved.digest).toBe(digest);
    const [tokenRequest] = registry.tokenRequests();
    expect(tokenRequest?.headers.get('authorization')).toBe(
      `Basic ${Buffer.from('robot:s3cret-pass').toString('base64')}`,
    );
    expect(tokenRequest?.url.searchParams.get('service')).toBe('ghcr.io');
    expect(tokenRequest?.url.searchParams.get('scope')).toBe('repository:org/private:pull');
    expect(tokenRequest?.url.searchParams.get('account')).toBe('robot');
    expect(logger.text()).not.toMatch(/s3cret-pass|token-1/);
  });

  it('accepts access_token instead of token', async () => {
    const { registry, deps } = setup();
    registry.auth = { scheme: 'bearer', service: 'svc', tokenField: 'access_token' };
    registry.image(HOST, 'a/b', ['v1'], AMD64);
    await resolveImage(ref(`${HOST}/a/b:v1`), ['linux/amd64'], deps);
    expect(registry.registryRequests().at(-2)?.headers.get('authorization')).toBe('Bearer token-1');
  });

  it('requests one token per repository, and asks for it before the next 401', async () => {
    const { registry, deps } = setup();
    registry.auth = { scheme: 'bearer', service: 'svc' };
    for (const tag of ['a', 'b', 'c']) registry.image(HOST, 'team/app', [tag], AMD64);
    registry.image(HOST, 'team/other', ['a'], AMD64);

    const images = ['a', 'b', 'c'].map((tag) => ref(`${HOST}/team/app:${tag}`));
    const result = await resolveImages(images, ['linux/amd64'], deps, 3);
    expect(result.failures).toEqual([]);
    expect(result.resolved).toHaveLength(3);
    expect(registry.tokenRequests()).toHaveLength(1);

    // The same deps: the challenge is known, so the new repository's token comes first.
    registry.requests.length = 0;
    await resolveImage(ref(`${HOST}/team/other:a`), ['linux/amd64'], deps);
    expect(registry.requests.map((r) => r.url.pathname)).toEqual([
      '/token',
      '/v2/team/other/manifests/a',
      expect.stringContaining('/v2/team/other/blobs/'),
    ]);
    expect(registry.tokenRequests()[0]?.url.searchParams.get('scope')).toBe(
      'repository:team/other:pull',
    );
  });

  it('gets a new token when the cached one is refused', async () => {
    const { registry, deps } = setup();
    registry.auth = { scheme: 'bearer', service: 'svc' };
    registry.image(HOST, 'a/b', ['v1', 'v2'], AMD64);
    const resolver = new RegistryResolver(deps);
    await resolver.resolve(ref(`${HOST}/a/b:v1`), ['linux/amd64']);
    // The registry forgets its tokens (e.g. they were revoked).
    let revoked = true;
    registry.interceptors.push((request) => {
      if (revoked && request.headers.get('authorization') === 'Bearer token-1') {
        revoked = false;
        return json(
          401,
          { errors: [] },
          { 'WWW-Authenticate': `Bearer realm="${REALM}",service="svc"` },
        );
      }
      return undefined;
    });
    await resolver.resolve(ref(`${HOST}/a/b:v2`), ['linux/amd64']);
    expect(registry.tokenRequests()).toHaveLength(2);
  });

  it('says so when a Basic registry gets no credentials', async () => {
    const { registry, deps } = setup();
    registry.auth = { scheme: 'basic', username: 'AWS', password: 'x' };
    registry.image(HOST, 'a/b', ['v1'], AMD64);
    const error = await failure(resolveImage(ref(`${HOST}/a/b:v1`), BOTH, deps));
    expect(error.kind).toBe('unauthorized');
    expect(error.status).toBe(401);
    expect(error.reason).toBe(
      `not authorized: Not Authorized; no credentials are configured for ${HOST}`,
    );
    expect(registry.requests).toHaveLength(1);
  });

  it('reports a token service refusing the credentials', async () => {
    const { registry, deps, logger } = setup({
      credentialsFor: async () => ({ username: 'robot', password: 'wrong-password' }),
    });
    registry.auth = {
      scheme: 'bearer',
      service: 's',
      account: { username: 'robot', password: 'right' },
    };
    const error = await failure(resolveImage(ref(`${HOST}/a/b:v1`), BOTH, deps));
    expect(error.kind).toBe('unauthorized');
    expect(error.reason).toBe(
      `not authorized: the token service auth.example.com refused the credentials for ${HOST}: ` +
        'incorrect username or password',
    );
    expect(registry.tokenRequests()).toHaveLength(1);
    expect(logger.text()).not.toContain('wrong-password');
  });

  it('refuses to send credentials to a plain-http token service on another host', async () => {
    const { registry, deps } = setup({
      credentialsFor: async () => ({ username: 'u', password: 'p' }),
    });
    registry.interceptors.push((request) =>
      request.url.host === HOST
        ? json(401, {}, { 'WWW-Authenticate': 'Bearer realm="http://auth.example.com/token"' })
        : undefined,
    );
    const error = await failure(resolveImage(ref(`${HOST}/a/b:v1`), BOTH, deps));
    expect(error.reason).toContain('refusing to send the credentials');
    expect(registry.requests).toHaveLength(1);
  });

  it('reports a failing credentials provider', async () => {
    const { registry, deps } = setup({
      credentialsFor: async () => {
        throw new Error('AccessDeniedException: no');
      },
    });
    registry.auth = { scheme: 'basic', username: 'AWS', password: 'x' };
    const error = await failure(resolveImage(ref(`${HOST}/a/b:v1`), BOTH, deps));
    expect(error.kind).toBe('unauthorized');
    expect(error.reason).toBe(`could not get credentials for ${HOST}: AccessDeniedException: no`);
  });
});

describe('resolveImage: secrets masked', () => {
  /** A registry whose error body echoes the Authorization header it got, as some proxies do. */
  const echoing = (registry: FakeRegistry) =>
    registry.interceptors.push((request) => {
      const authorization = request.headers.get('authorization');
      return authorization && request.url.pathname.includes('/manifests/')
        ? json(400, { errors: [{ code: 'DENIED', message: `bad header: ${authorization}` }] })
        : undefined;
    });

  it('registers a bearer token as a secret before a registry can echo it', async () => {
    const masked: string[] = [];
    const { registry, deps } = setup({ maskSecret: (v) => masked.push(v) });
    registry.auth = { scheme: 'bearer', service: 'svc' };
    registry.image(HOST, 'a/b', ['v1'], AMD64);
    echoing(registry);
    const error = await failure(resolveImage(ref(`${HOST}/a/b:v1`), ['linux/amd64'], deps));
    // The echo reached the error the runner logs; the token was masked before that.
    expect(error.message).toContain('token-1');
    expect(masked).toContain('token-1');
  });

  it('registers a password, and the Basic credentials made of it, as secrets', async () => {
    const account = { username: 'robot', password: 's3cret-pass' };
    const masked: string[] = [];
    const { registry, deps } = setup({
      credentialsFor: async () => account,
      maskSecret: (v) => masked.push(v),
    });
    registry.auth = { scheme: 'basic', ...account };
    registry.image(HOST, 'a/b', ['v1'], AMD64);
    echoing(registry);
    const error = await failure(resolveImage(ref(`${HOST}/a/b:v1`), ['linux/amd64'], deps));
    const basic = Buffer.from('robot:s3cret-pass').toString('base64');
    expect(error.message).toContain(basic);
    expect(masked).toEqual(expect.arrayContaining(['s3cret-pass', basic]));
  });
});

describe('parseChallenge', () => {
  it('parses WWW-Authenticate challenges', () => {
    expect(
      parseChallenge(
        'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull"',
      ),
    ).toEqual({
      scheme: 'bearer',
      realm: 'https://auth.docker.io/token',
      service: 'registry.docker.io',
    });
    expect(parseChallenge('bearer realm=https://x/token')).toEqual({
      scheme: 'bearer',
      realm: 'https://x/token',
    });
    expect(parseChallenge('Basic realm="https://1.dkr.ecr.us-east-1.amazonaws.com/"')).toEqual({
      scheme: 'basic',
      realm: 'https://1.dkr.ecr.us-east-1.amazonaws.com/',
    });
    expect(parseChallenge('Bearer service="x"')).toBeUndefined();
    expect(parseChallenge('Negotiate abc')).toBeUndefined();
    expect(parseChallenge(null)).toBeUndefined();
  });
});
