/**
 * The digest resolver against an in-memory registry behind an injected fetch: no network.
 */
import { afterEach, describe, expect, it } from '@jest/globals';
import { createHash } from 'node:crypto';
import { ECRClient, GetAuthorizationTokenCommand } from '@aws-sdk/client-ecr';
import { mockClient } from 'aws-sdk-client-mock';
import { VirtualClock } from '../../test-support/virtual-clock.js';
import { AbortedError } from '../../src/core/errors.js';
import { parseImageReference } from '../../src/config/image-ref.js';
import type { Platform } from '../../src/config/types.js';
import { MemoryLogger } from '../../test-support/memory-logger.js';
import {
  ecrCredentials,
  isLoopbackHost,
  MediaTypes,
  parseEcrRegistry,
  registryBaseUrl,
  RegistryError,
  RegistryResolver,
  resolveImage,
  resolveImages,
  type RegistryDeps,
} from '../../src/cache/registry/index.js';
import { parseChallenge, registryMessage } from '../../src/cache/registry/client.js';
import { platformMatches, selectPlatform } from '../../src/cache/registry/manifest.js';
import { rejectionOf } from '../../test-support/rejection.js';

const BOTH: Platform[] = ['linux/amd64', 'linux/arm64'];
const REALM = 'https://auth.example.com/token';
const HUB = 'https://registry-1.docker.io';
const ATTESTATION = { 'vnd.docker.reference.type': 'attestation-manifest' };

function sha256(data: Uint8Array | string): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

interface FakeRequest {
  url: URL;
  headers: Headers;
  signal: AbortSignal | null | undefined;
}
type Interceptor = (request: FakeRequest) => Response | undefined | Promise<Response | undefined>;

interface BearerAuth {
  scheme: 'bearer';
  service: string;
  /** Accepted Basic credentials at the token service; others get 401 there. */
  account?: { username: string; password: string };
  /** Whether a token gives pull access to `repo` for `user` (undefined = anonymous). */
  grant?: (repo: string, user: string | undefined) => boolean;
  tokenField?: 'token' | 'access_token';
}
interface BasicAuth {
  scheme: 'basic';
  username: string;
  password: string;
}

/** An in-memory registry (any host) with a token service at REALM. */
class FakeRegistry {
  readonly requests: FakeRequest[] = [];
  readonly interceptors: Interceptor[] = [];
  auth: BearerAuth | BasicAuth | undefined;
  sendDigestHeader = true;
  private readonly content = new Map<string, { body: Buffer; mediaType: string }>();
  private readonly tokens = new Map<string, { scopes: string[]; user: string | undefined }>();
  private issued = 0;

  readonly fetch = (async (input: string | URL | Request, init?: RequestInit) => {
    const url = new URL(input instanceof Request ? input.url : input.toString());
    const request: FakeRequest = { url, headers: new Headers(init?.headers), signal: init?.signal };
    this.requests.push(request);
    for (const interceptor of this.interceptors) {
      const response = await interceptor(request);
      if (response) return response;
    }
    if (`${url.origin}${url.pathname}` === REALM) return this.token(request);
    return this.serve(request);
  }) as typeof fetch;

  /** The registry API: auth check, then the stored manifest or blob. */
  serve(request: FakeRequest): Response {
    const { url } = request;
    const match = /^\/v2\/(.+)\/(manifests|blobs)\/([^/]+)$/.exec(url.pathname);
    if (!match) return json(404, { errors: [{ code: 'NOT_FOUND', message: 'no route' }] });
    const [, repo = '', kind = '', reference = ''] = match;
    const denied = this.check(request, url.host, repo);
    if (denied) return denied;
    const found = this.content.get(`${url.host}/${repo}/${kind}/${reference}`);
    if (!found) {
      const code = kind === 'manifests' ? 'MANIFEST_UNKNOWN' : 'BLOB_UNKNOWN';
      return json(404, { errors: [{ code, message: `${kind.slice(0, -1)} unknown` }] });
    }
    const headers: Record<string, string> = { 'Content-Type': found.mediaType };
    if (this.sendDigestHeader) headers['Docker-Content-Digest'] = sha256(found.body);
    return new Response(found.body, { status: 200, headers });
  }

  /** Stores a manifest under its digest and the given tags; returns the digest. */
  manifest(host: string, repo: string, tags: string[], document: Record<string, unknown>): string {
    const body = Buffer.from(JSON.stringify(document, null, 2));
    const digest = sha256(body);
    const mediaType = typeof document.mediaType === 'string' ? document.mediaType : 'text/plain';
    for (const reference of [digest, ...tags]) {
      this.content.set(`${host}/${repo}/manifests/${reference}`, { body, mediaType });
    }
    return digest;
  }

  /** Stores a blob; returns its digest. */
  blob(host: string, repo: string, data: string): string {
    const body = Buffer.from(data);
    const digest = sha256(body);
    this.content.set(`${host}/${repo}/blobs/${digest}`, {
      body,
      mediaType: 'application/octet-stream',
    });
    return digest;
  }

  /** A single-platform OCI (or Docker) image; returns the manifest digest. */
  image(
    host: string,
    repo: string,
    tags: string[],
    platform: { os: string; architecture: string; variant?: string },
    docker = false,
  ): string {
    const config = this.blob(
      host,
      repo,
      JSON.stringify({ ...platform, rootfs: { type: 'layers' } }),
    );
    return this.manifest(host, repo, tags, {
      schemaVersion: 2,
      mediaType: docker ? MediaTypes.dockerManifest : MediaTypes.ociManifest,
      config: {
        mediaType: docker ? MediaTypes.dockerConfig : MediaTypes.ociConfig,
        digest: config,
        size: 10,
      },
      layers: [],
    });
  }

  /** An index over entries; returns the index digest. */
  index(
    host: string,
    repo: string,
    tags: string[],
    entries: Array<{
      digest: string;
      platform?: { os: string; architecture: string; variant?: string };
      annotations?: Record<string, string>;
    }>,
    docker = false,
  ): string {
    return this.manifest(host, repo, tags, {
      schemaVersion: 2,
      mediaType: docker ? MediaTypes.dockerManifestList : MediaTypes.ociIndex,
      manifests: entries.map((entry) => ({
        mediaType: docker ? MediaTypes.dockerManifest : MediaTypes.ociManifest,
        size: 100,
        ...entry,
      })),
    });
  }

  tokenRequests(): FakeRequest[] {
    return this.requests.filter((r) => `${r.url.origin}${r.url.pathname}` === REALM);
  }

  registryRequests(): FakeRequest[] {
    return this.requests.filter((r) => `${r.url.origin}${r.url.pathname}` !== REALM);
  }

  private token(request: FakeRequest): Response {
    const auth = this.auth;
    if (auth?.scheme !== 'bearer') return json(404, { details: 'no token service' });
    let user: string | undefined;
    const header = request.headers.get('authorization');
    if (header) {
      const decoded = Buffer.from(header.replace(/^Basic /, ''), 'base64').toString();
      const account = auth.account;
      if (!account || decoded !== `${account.username}:${account.password}`) {
        return json(401, { details: 'incorrect username or password' });
      }
      user = account.username;
    }
    const token = `token-${++this.issued}`;
    this.tokens.set(token, { scopes: request.url.searchParams.getAll('scope'), user });
    return json(200, { [auth.tokenField ?? 'token']: token, expires_in: 300 });
  }

  private check(request: FakeRequest, host: string, repo: string): Response | undefined {
    const auth = this.auth;
    const header = request.headers.get('authorization') ?? '';
    if (!auth) return undefined;
    if (auth.scheme === 'basic') {
      const expected = `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}`;
      if (header === expected) return undefined;
      return new Response('Not Authorized\n', {
        status: 401,
        headers: {
          'Content-Type': 'text/plain',
          'WWW-Authenticate': `Basic realm="https://${host}/",service="ecr.amazonaws.com"`,
        },
      });
    }
    const token = this.tokens.get(header.replace(/^Bearer /, ''));
    const scope = `repository:${repo}:pull`;
    if (token && token.scopes.includes(scope) && (auth.grant?.(repo, token.user) ?? true)) {
      return undefined;
    }
    return json(
      401,
      { errors: [{ code: 'UNAUTHORIZED', message: 'authentication required' }] },
      {
        'WWW-Authenticate':
          `Bearer realm="${REALM}",service="${auth.service}",scope="${scope}"` +
          (token ? ',error="insufficient_scope"' : ''),
      },
    );
  }
}

function json(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'Content-Type': 'application/json', ...headers },
  });
}

function setup(overrides: Partial<RegistryDeps> = {}) {
  const registry = new FakeRegistry();
  const logger = new MemoryLogger();
  const clock = new VirtualClock();
  const deps: RegistryDeps = { fetch: registry.fetch, logger, clock, ...overrides };
  return { registry, logger, clock, deps };
}

const ref = parseImageReference;

/** The RegistryError a resolution fails with. */
const failure = (promise: Promise<unknown>) => rejectionOf(promise, RegistryError);

const AMD64 = { os: 'linux', architecture: 'amd64' };
const ARM64 = { os: 'linux', architecture: 'arm64', variant: 'v8' };
const UNKNOWN = { os: 'unknown', architecture: 'unknown' };
const HOST = 'registry.example.com';

describe('resolveImage: indexes', () => {
  it('picks amd64 and arm64 from an OCI index and skips attestation manifests', async () => {
    const { registry, deps } = setup();
    const amd = registry.image(HOST, 'team/app', [], AMD64);
    const arm = registry.image(HOST, 'team/app', [], ARM64);
    const armAttestation = registry.image(HOST, 'team/app', [], UNKNOWN);
    const top = registry.index(
      HOST,
      'team/app',
      ['v1'],
      [
        // An attestation that claims a real platform is skipped for its annotation.
        {
          digest: armAttestation,
          platform: { os: 'linux', architecture: 'arm64' },
          annotations: ATTESTATION,
        },
        { digest: amd, platform: AMD64 },
        { digest: arm, platform: ARM64 },
        { digest: armAttestation, platform: UNKNOWN, annotations: ATTESTATION },
      ],
    );

    const resolved = await resolveImage(ref(`${HOST}/team/app:v1`), BOTH, deps);

    expect(resolved).toEqual({
      image: ref(`${HOST}/team/app:v1`),
      digest: top,
      mediaType: MediaTypes.ociIndex,
      platforms: [
        { platform: 'linux/amd64', digest: amd },
        { platform: 'linux/arm64', digest: arm },
      ],
    });
    // One request: the index lists the platform digests.
    expect(registry.requests.map((r) => r.url.toString())).toEqual([
      `https://${HOST}/v2/team/app/manifests/v1`,
    ]);
    const accept = registry.requests[0]?.headers.get('accept') ?? '';
    for (const type of [
      MediaTypes.ociIndex,
      MediaTypes.dockerManifestList,
      MediaTypes.ociManifest,
      MediaTypes.dockerManifest,
    ]) {
      expect(accept).toContain(type);
    }
  });

  it('reads Docker manifest lists; arm64 without variant equals v8; only amd64 v1', async () => {
    const { registry, deps } = setup();
    registry.index(
      HOST,
      'lib/x',
      ['1'],
      [
        { digest: sha256('amd64-v3'), platform: { ...AMD64, variant: 'v3' } },
        { digest: sha256('arm-v7'), platform: { os: 'linux', architecture: 'arm', variant: 'v7' } },
        { digest: sha256('arm64'), platform: { os: 'linux', architecture: 'arm64' } },
        { digest: sha256('windows'), platform: { os: 'windows', architecture: 'amd64' } },
      ],
      true,
    );

    const resolved = await resolveImage(ref(`${HOST}/lib/x:1`), BOTH, deps);

    expect(resolved.mediaType).toBe(MediaTypes.dockerManifestList);
    expect(resolved.platforms).toEqual([
      { platform: 'linux/amd64', digest: null },
      { platform: 'linux/arm64', digest: sha256('arm64') },
    ]);
  });

  it('answers null for a platform the index does not have', async () => {
    const { registry, deps } = setup();
    const amd = registry.image(HOST, 'team/app', [], AMD64);
    registry.index(HOST, 'team/app', ['amd-only'], [{ digest: amd, platform: AMD64 }]);

    const resolved = await resolveImage(ref(`${HOST}/team/app:amd-only`), BOTH, deps);

    expect(resolved.platforms).toEqual([
      { platform: 'linux/amd64', digest: amd },
      { platform: 'linux/arm64', digest: null },
    ]);
  });

  it('keeps the requested platform order and resolves only what was asked', async () => {
    const { registry, deps } = setup();
    const amd = registry.image(HOST, 'a/b', [], AMD64);
    const arm = registry.image(HOST, 'a/b', [], ARM64);
    registry.index(
      HOST,
      'a/b',
      ['t'],
      [
        { digest: amd, platform: AMD64 },
        { digest: arm, platform: ARM64 },
      ],
    );
    const resolved = await resolveImage(ref(`${HOST}/a/b:t`), ['linux/arm64'], deps);
    expect(resolved.platforms).toEqual([{ platform: 'linux/arm64', digest: arm }]);
  });
});

describe('resolveImage: single-platform manifests', () => {
  it('reads the platform from the config blob', async () => {
    const { registry, deps } = setup();
    const digest = registry.image(HOST, 'team/tool', ['2.0'], AMD64, true);

    const resolved = await resolveImage(ref(`${HOST}/team/tool:2.0`), BOTH, deps);

    expect(resolved).toMatchObject({
      digest,
      mediaType: MediaTypes.dockerManifest,
      platforms: [
        { platform: 'linux/amd64', digest },
        { platform: 'linux/arm64', digest: null },
      ],
    });
    expect(registry.requests.map((r) => r.url.pathname)).toEqual([
      '/v2/team/tool/manifests/2.0',
      expect.stringMatching(/^\/v2\/team\/tool\/blobs\/sha256:[0-9a-f]{64}$/),
    ]);
  });

  it('matches an arm64 image whose config says aarch64 / v8', async () => {
    const { registry, deps } = setup();
    const digest = registry.image(HOST, 'team/tool', ['arm'], {
      os: 'linux',
      architecture: 'arm64',
      variant: 'v8',
    });
    const resolved = await resolveImage(ref(`${HOST}/team/tool:arm`), BOTH, deps);
    expect(resolved.platforms).toEqual([
      { platform: 'linux/amd64', digest: null },
      { platform: 'linux/arm64', digest },
    ]);
  });

  it('refuses artifacts (non-image config) without downloading the config', async () => {
    const { registry, deps } = setup();
    registry.manifest(HOST, 'charts/app', ['1.0'], {
      schemaVersion: 2,
      mediaType: MediaTypes.ociManifest,
      config: {
        mediaType: 'application/vnd.cncf.helm.config.v1+json',
        digest: sha256('x'),
        size: 1,
      },
      layers: [],
    });
    const error = await failure(resolveImage(ref(`${HOST}/charts/app:1.0`), BOTH, deps));
    expect(error.kind).toBe('unsupported');
    expect(error.reason).toContain('application/vnd.cncf.helm.config.v1+json');
    expect(registry.requests).toHaveLength(1);
  });

  it('refuses Docker schema 1 manifests and unknown media types', async () => {
    const { registry, deps } = setup();
    registry.manifest(HOST, 'old/app', ['1'], {
      schemaVersion: 1,
      mediaType: MediaTypes.dockerSchema1Signed,
      name: 'old/app',
    });
    registry.manifest(HOST, 'odd/app', ['1'], { schemaVersion: 2, mediaType: 'application/x-odd' });
    const schema1 = await failure(resolveImage(ref(`${HOST}/old/app:1`), BOTH, deps));
    expect(schema1.kind).toBe('unsupported');
    expect(schema1.reason).toContain('schema 1');
    const odd = await failure(resolveImage(ref(`${HOST}/odd/app:1`), BOTH, deps));
    expect(odd.kind).toBe('unsupported');
    expect(odd.reason).toContain("unsupported manifest media type 'application/x-odd'");
  });
});

describe('resolveImage: digests', () => {
  it('fetches a pinned index by digest and keeps the pinned digest', async () => {
    const { registry, deps } = setup();
    const amd = registry.image(HOST, 'team/app', [], AMD64);
    const arm = registry.image(HOST, 'team/app', [], ARM64);
    const top = registry.index(
      HOST,
      'team/app',
      [],
      [
        { digest: amd, platform: AMD64 },
        { digest: arm, platform: ARM64 },
      ],
    );

    const resolved = await resolveImage(ref(`${HOST}/team/app:ignored@${top}`), BOTH, deps);

    expect(resolved.digest).toBe(top);
    expect(resolved.platforms.map((p) => p.digest)).toEqual([amd, arm]);
    expect(registry.requests.map((r) => r.url.pathname)).toEqual([`/v2/team/app/manifests/${top}`]);
  });

  it('fetches manifest and config (two requests) for a pinned single manifest', async () => {
    const { registry, deps } = setup();
    const arm = registry.image(HOST, 'team/app', [], ARM64);
    const resolved = await resolveImage(ref(`${HOST}/team/app@${arm}`), BOTH, deps);
    expect(resolved.digest).toBe(arm);
    expect(resolved.platforms).toEqual([
      { platform: 'linux/amd64', digest: null },
      { platform: 'linux/arm64', digest: arm },
    ]);
    expect(registry.requests).toHaveLength(2);
  });

  it('computes the sha256 of the body when there is no Docker-Content-Digest', async () => {
    const { registry, deps } = setup();
    registry.sendDigestHeader = false;
    const digest = registry.image(HOST, 'team/app', ['v1'], AMD64);
    const resolved = await resolveImage(ref(`${HOST}/team/app:v1`), BOTH, deps);
    expect(resolved.digest).toBe(digest);
  });

  it('refuses content that does not match its digest', async () => {
    const { registry, deps } = setup();
    const digest = registry.image(HOST, 'team/app', [], AMD64);
    const other = sha256('something else');
    registry.interceptors.push((request) =>
      request.url.pathname.endsWith(`/manifests/${other}`)
        ? json(200, { schemaVersion: 2 }, { 'Docker-Content-Digest': digest })
        : undefined,
    );
    const pinned = await failure(resolveImage(ref(`${HOST}/team/app@${other}`), BOTH, deps));
    expect(pinned.kind).toBe('invalid');
    expect(pinned.reason).toContain(`does not match the pinned digest ${other}`);

    registry.interceptors.push((request) =>
      request.url.pathname.endsWith('/manifests/lying')
        ? json(
            200,
            { schemaVersion: 2, mediaType: MediaTypes.ociIndex, manifests: [] },
            {
              'Docker-Content-Digest': digest,
            },
          )
        : undefined,
    );
    const tagged = await failure(resolveImage(ref(`${HOST}/team/app:lying`), BOTH, deps));
    expect(tagged.kind).toBe('invalid');
    expect(tagged.reason).toContain(`does not match its Docker-Content-Digest ${digest}`);
  });
});

describe('resolveImage: registry URLs', () => {
  it('maps docker.io to registry-1.docker.io over https', async () => {
    const { registry, deps } = setup();
    const digest = registry.image('registry-1.docker.io', 'library/busybox', ['latest'], AMD64);
    const resolved = await resolveImage(ref('busybox'), ['linux/amd64'], deps);
    expect(resolved.platforms[0]?.digest).toBe(digest);
    expect(registry.requests[0]?.url.toString()).toBe(`${HUB}/v2/library/busybox/manifests/latest`);
  });

  it('uses plain http for loopback hosts only', () => {
    expect(registryBaseUrl('localhost:5000')).toBe('http://localhost:5000');
    expect(registryBaseUrl('localhost')).toBe('http://localhost');
    expect(registryBaseUrl('127.0.0.1:5000')).toBe('http://127.0.0.1:5000');
    expect(registryBaseUrl('127.3.2.1')).toBe('http://127.3.2.1');
    expect(registryBaseUrl('[::1]:5000')).toBe('http://[::1]:5000');
    expect(registryBaseUrl('registry.example.com:5000')).toBe('https://registry.example.com:5000');
    expect(registryBaseUrl('10.0.0.1:5000')).toBe('https://10.0.0.1:5000');
    expect(registryBaseUrl('127.0.0.1.nip.io')).toBe('https://127.0.0.1.nip.io');
    expect(registryBaseUrl('localhost.example.com')).toBe('https://localhost.example.com');
    expect(registryBaseUrl('ghcr.io')).toBe('https://ghcr.io');
    expect(isLoopbackHost('127.256.0.1')).toBe(false);
    expect(isLoopbackHost('[::2]:5000')).toBe(false);
  });

  it('requests loopback registries over http', async () => {
    const { registry, deps } = setup();
    const digest = registry.image('localhost:5000', 'app', ['v1'], AMD64);
    const resolved = await resolveImage(ref('localhost:5000/app:v1'), ['linux/amd64'], deps);
    expect(resolved.digest).toBe(digest);
    expect(registry.requests[0]?.url.toString()).toBe('http://localhost:5000/v2/app/manifests/v1');
  });
});

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

  it('names the credentials when the registry refuses them', async () => {
    const { registry, deps } = setup({
      credentialsFor: async () => ({ username: 'u', password: 'p' }),
    });
    registry.auth = {
      scheme: 'bearer',
      service: 's',
      account: { username: 'u', password: 'p' },
      grant: () => false,
    };
    const error = await failure(resolveImage(ref(`${HOST}/a/b:v1`), BOTH, deps));
    expect(error.reason).toContain(`the credentials for ${HOST} do not grant pull access to a/b`);
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

  it('drops the Authorization header on a redirect to another origin', async () => {
    const { registry, deps } = setup({
      credentialsFor: async () => ({ username: 'AWS', password: 'pw' }),
    });
    registry.auth = { scheme: 'basic', username: 'AWS', password: 'pw' };
    registry.image(HOST, 'a/b', ['v1'], AMD64);
    registry.interceptors.push((request) => {
      if (request.url.host === HOST && request.url.pathname.includes('/blobs/')) {
        if (request.headers.get('authorization') === null) return undefined; // the 401 path
        return new Response(null, {
          status: 307,
          headers: { Location: `https://storage.example.net${request.url.pathname}?sig=1` },
        });
      }
      if (request.url.host === 'storage.example.net') {
        // Storage checks its signature, not the registry's credentials.
        return registry.serve({
          url: new URL(`https://${HOST}${request.url.pathname}`),
          headers: new Headers({
            Authorization: `Basic ${Buffer.from('AWS:pw').toString('base64')}`,
          }),
          signal: undefined,
        });
      }
      return undefined;
    });
    const resolved = await resolveImage(ref(`${HOST}/a/b:v1`), BOTH, deps);
    expect(resolved.platforms[0]?.digest).toBe(resolved.digest);
    const storage = registry.requests.find((r) => r.url.host === 'storage.example.net');
    expect(storage?.headers.get('authorization')).toBeNull();
    expect(storage?.url.searchParams.get('sig')).toBe('1');
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

describe('resolveImage: failures and retries', () => {
  it('reports 404 as manifest unknown, with the registry message, without retrying', async () => {
    const { registry, deps, clock } = setup();
    const start = clock.now();
    const error = await failure(resolveImage(ref(`${HOST}/team/app:nope`), BOTH, deps));
    expect(error).toBeInstanceOf(RegistryError);
    expect(error.kind).toBe('not-found');
    expect(error.status).toBe(404);
    expect(error.reason).toBe(
      `manifest unknown: ${HOST}/team/app:nope (MANIFEST_UNKNOWN: manifest unknown)`,
    );
    expect(registry.requests).toHaveLength(1);
    expect(clock.now()).toBe(start);
  });

  it('never retries other 4xx', async () => {
    const { registry, deps } = setup();
    registry.interceptors.push(() =>
      json(400, { errors: [{ code: 'NAME_INVALID', message: 'bad' }] }),
    );
    const error = await failure(resolveImage(ref(`${HOST}/a/b:v1`), BOTH, deps));
    expect(error.kind).toBe('http');
    expect(error.reason).toBe('unexpected HTTP 400: NAME_INVALID: bad');
    expect(registry.requests).toHaveLength(1);
  });

  it('retries 5xx with backoff, then succeeds', async () => {
    const { registry, deps, clock, logger } = setup();
    const digest = registry.image(HOST, 'a/b', ['v1'], AMD64);
    let failures = 2;
    registry.interceptors.push(() =>
      failures-- > 0 ? new Response('upstream', { status: 503 }) : undefined,
    );
    const start = clock.now();
    const resolved = await resolveImage(ref(`${HOST}/a/b:v1`), ['linux/amd64'], deps);
    expect(resolved.digest).toBe(digest);
    expect(registry.requests).toHaveLength(4); // 503, 503, manifest, config
    expect(clock.now() - start).toBe(500 + 1500);
    expect(logger.messages('debug').filter((m) => m.includes('retrying'))).toHaveLength(2);
  });

  it('gives up on 5xx after three attempts', async () => {
    const { registry, deps } = setup();
    registry.interceptors.push(() =>
      json(502, { errors: [{ code: 'UNAVAILABLE', message: 'try later' }] }),
    );
    const error = await failure(resolveImage(ref(`${HOST}/a/b:v1`), BOTH, deps));
    expect(error.kind).toBe('server');
    expect(error.reason).toBe(
      'registry server error HTTP 502 after 3 attempts: UNAVAILABLE: try later',
    );
    expect(registry.requests).toHaveLength(3);
  });

  it('retries 429 honouring a short Retry-After, then explains Docker Hub limits', async () => {
    const { registry, deps, clock } = setup();
    registry.interceptors.push(() =>
      json(
        429,
        {
          errors: [{ code: 'TOOMANYREQUESTS', message: 'You have reached your pull rate limit.' }],
        },
        { 'Retry-After': '3' },
      ),
    );
    const start = clock.now();
    const error = await failure(resolveImage(ref('nginx:1.27'), BOTH, deps));
    expect(error.kind).toBe('rate-limited');
    expect(error.reason).toContain(
      'rate limited by docker.io (HTTP 429 after 3 attempts: TOOMANYREQUESTS: You have reached your pull rate limit.)',
    );
    expect(error.reason).toContain('Docker Hub limits anonymous pulls per IP address');
    expect(registry.requests).toHaveLength(3);
    expect(clock.now() - start).toBe(3000 + 3000);
  });

  it('caps a long Retry-After', async () => {
    const { registry, deps, clock } = setup();
    registry.interceptors.push(
      () => new Response('', { status: 429, headers: { 'Retry-After': '21600' } }),
    );
    const start = clock.now();
    const error = await failure(resolveImage(ref(`${HOST}/a/b:v1`), BOTH, deps));
    expect(error.reason).toBe(`rate limited by ${HOST} (HTTP 429 after 3 attempts)`);
    expect(clock.now() - start).toBe(20_000);
  });

  it('retries network errors and names the cause', async () => {
    const { registry, deps } = setup();
    registry.interceptors.push(() => {
      const cause = Object.assign(new Error('connect ECONNREFUSED 10.0.0.1:443'), {
        code: 'ECONNREFUSED',
      });
      throw new TypeError('fetch failed', { cause });
    });
    const error = await failure(resolveImage(ref(`${HOST}/a/b:v1`), BOTH, deps));
    expect(error.kind).toBe('network');
    expect(error.reason).toBe(
      `network error reaching ${HOST}: connect ECONNREFUSED 10.0.0.1:443 (3 attempts)`,
    );
    expect(registry.requests).toHaveLength(3);
  });

  it('times out a request that does not answer', async () => {
    const { registry, deps } = setup({ timeoutMs: 20 });
    registry.interceptors.push(
      (request) =>
        new Promise<Response>((_resolve, reject) => {
          request.signal?.addEventListener('abort', () => reject(request.signal?.reason));
        }),
    );
    const error = await failure(resolveImage(ref(`${HOST}/a/b:v1`), BOTH, deps));
    expect(error.kind).toBe('timeout');
    expect(error.reason).toBe(
      `timed out: no complete answer from ${HOST} within 20 ms (manifest) (3 attempts)`,
    );
  });

  it('stops at once with AbortedError when the signal aborts', async () => {
    const controller = new AbortController();
    const { registry, deps } = setup({ signal: controller.signal });
    registry.interceptors.push((request) => {
      controller.abort(new AbortedError('cancelled by the runner'));
      return Promise.reject(request.signal?.reason);
    });
    const images = [ref(`${HOST}/a/b:v1`), ref(`${HOST}/a/b:v2`)];
    await expect(resolveImages(images, BOTH, deps)).rejects.toThrow(AbortedError);
    expect(registry.requests).toHaveLength(1);
  });

  it('refuses a manifest over 4 MiB', async () => {
    const { registry, deps } = setup();
    registry.interceptors.push(
      () =>
        new Response(new Uint8Array(4 * 1024 * 1024 + 1), {
          status: 200,
          headers: { 'Content-Type': MediaTypes.ociManifest },
        }),
    );
    const error = await failure(resolveImage(ref(`${HOST}/a/b:v1`), BOTH, deps));
    expect(error.kind).toBe('invalid');
    expect(error.reason).toBe('the manifest is larger than 4194304 bytes');
  });

  it('reports a missing config blob', async () => {
    const { registry, deps } = setup();
    registry.manifest(HOST, 'a/b', ['v1'], {
      schemaVersion: 2,
      mediaType: MediaTypes.ociManifest,
      config: { mediaType: MediaTypes.ociConfig, digest: sha256('gone'), size: 4 },
      layers: [],
    });
    const error = await failure(resolveImage(ref(`${HOST}/a/b:v1`), BOTH, deps));
    expect(error.kind).toBe('not-found');
    expect(error.reason).toBe(
      `the image config blob ${sha256('gone')} is missing from ${HOST}/a/b (BLOB_UNKNOWN: blob unknown)`,
    );
  });
});

describe('resolveImages', () => {
  it('returns resolved images and failures in input order, at most `concurrency` at once', async () => {
    const { registry, deps } = setup();
    const digests = ['1', '2', '3', '4', '5'].map((tag) =>
      registry.index(HOST, 'a/b', [tag], [{ digest: sha256(tag), platform: AMD64 }]),
    );
    let inFlight = 0;
    let peak = 0;
    registry.interceptors.push(async () => {
      inFlight++;
      peak = Math.max(peak, inFlight);
      await new Promise((r) => setTimeout(r, 5));
      inFlight--;
      return undefined;
    });
    const images = ['1', 'missing', '2', '3', '4', '5'].map((tag) => ref(`${HOST}/a/b:${tag}`));

    const result = await resolveImages(images, ['linux/amd64'], deps, 2);

    expect(result.resolved.map((r) => r.digest)).toEqual(digests);
    expect(result.failures).toEqual([
      {
        image: ref(`${HOST}/a/b:missing`),
        kind: 'not-found',
        reason: `manifest unknown: ${HOST}/a/b:missing (MANIFEST_UNKNOWN: manifest unknown)`,
      },
    ]);
    expect(peak).toBe(2);
  });

  it('handles an empty list', async () => {
    const { deps } = setup();
    expect(await resolveImages([], BOTH, deps)).toEqual({ resolved: [], failures: [] });
  });
});

describe('helpers', () => {
  it('parses registry error bodies', () => {
    const body = (text: string) => Buffer.from(text);
    expect(
      registryMessage(
        body(
          '{"errors":[{"code":"DENIED","message":"requested access to the resource is denied"}]}',
        ),
        'application/json',
      ),
    ).toBe('DENIED: requested access to the resource is denied');
    expect(
      registryMessage(
        body('{"errors":[{"code":"A","message":"one"},{"code":"B","message":"two"}]}'),
        null,
      ),
    ).toBe('A: one; B: two');
    expect(registryMessage(body('{"details":"incorrect username or password"}'), null)).toBe(
      'incorrect username or password',
    );
    expect(registryMessage(body('Not Authorized\n'), 'text/plain')).toBe('Not Authorized');
    expect(registryMessage(body('<html><body>502</body></html>'), 'text/html')).toBe('');
    expect(registryMessage(body(''), null)).toBe('');
    expect(registryMessage(body('x'.repeat(500)), 'text/plain')).toHaveLength(300);
  });

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

  it('matches platforms like containerd', () => {
    expect(platformMatches('linux/amd64', { os: 'linux', architecture: 'amd64' })).toBe(true);
    expect(platformMatches('linux/amd64', { os: 'linux', architecture: 'x86_64' })).toBe(true);
    expect(
      platformMatches('linux/amd64', { os: 'linux', architecture: 'amd64', variant: 'v3' }),
    ).toBe(false);
    expect(
      platformMatches('linux/arm64', { os: 'linux', architecture: 'arm64', variant: 'v8' }),
    ).toBe(true);
    expect(platformMatches('linux/arm64', { os: 'linux', architecture: 'aarch64' })).toBe(true);
    expect(
      platformMatches('linux/arm64', { os: 'linux', architecture: 'arm', variant: 'v8' }),
    ).toBe(false);
    expect(platformMatches('linux/arm64', { os: 'windows', architecture: 'arm64' })).toBe(false);
    expect(
      selectPlatform(
        [
          { digest: sha256('att'), platform: UNKNOWN, annotations: ATTESTATION },
          { digest: sha256('first'), platform: AMD64 },
          { digest: sha256('second'), platform: AMD64 },
        ],
        'linux/amd64',
      ),
    ).toBe(sha256('first'));
  });
});

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
