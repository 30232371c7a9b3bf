/**
 * The digest resolver against a real registry: the CNCF distribution registry v2.8 from Debian's
 * docker-registry package (/usr/bin/docker-registry), on loopback, open and with token auth.
 *
 * Skipped when the binary is missing, except under CI=true, where that is a failure: the CI
 * script installs it with `apt-get install -y docker-registry`.
 */
import { afterAll, beforeAll, expect, it, jest } from '@jest/globals';
import { VirtualClock } from '../../test-support/virtual-clock.js';
import { parseImageReference } from '../../src/config/image-ref.js';
import type { Platform } from '../../src/config/types.js';
import { MemoryLogger } from '../../test-support/memory-logger.js';
import {
  MediaTypes,
  RegistryError,
  resolveImage,
  resolveImages,
  type RegistryDeps,
} from '../../src/cache/registry/index.js';
import { freePort, startRegistry, type TestRegistry } from '../../test-support/registry.js';
import { unavailable } from '../../test-support/components.js';
import { rejectionOf } from '../../test-support/rejection.js';
import { describeWith } from '../../test-support/requires.js';

jest.setTimeout(60_000);

const BOTH: Platform[] = ['linux/amd64', 'linux/arm64'];
const describeWithRegistry = describeWith(unavailable('docker-registry'));

/** The RegistryError a resolution fails with. */
const failure = (promise: Promise<unknown>) => rejectionOf(promise, RegistryError);

function deps(overrides: Partial<RegistryDeps> = {}): RegistryDeps {
  return {
    fetch,
    logger: new MemoryLogger(),
    clock: new VirtualClock(),
    signal: new AbortController().signal,
    ...overrides,
  };
}

describeWithRegistry('registry digest resolution (open registry)', () => {
  let registry: TestRegistry;

  beforeAll(async () => {
    registry = await startRegistry();
  });
  afterAll(async () => {
    await registry?.stop();
  });

  it('resolves both platforms of an OCI index with attestations', async () => {
    const pushed = await registry.pushImage('team/app', 'v1', {
      platforms: BOTH,
      index: true,
      attestations: true,
    });
    const image = parseImageReference(`${registry.host}/team/app:v1`);

    const resolved = await resolveImage(image, BOTH, deps());

    expect(resolved).toEqual({
      image,
      digest: pushed.digest,
      mediaType: MediaTypes.ociIndex,
      platforms: [
        { platform: 'linux/amd64', digest: pushed.platformDigests['linux/amd64'] },
        { platform: 'linux/arm64', digest: pushed.platformDigests['linux/arm64'] },
      ],
    });
  });

  it('resolves a Docker manifest list', async () => {
    const pushed = await registry.pushImage('team/legacy', '2.0', {
      platforms: BOTH,
      index: true,
      format: 'docker',
    });
    const resolved = await resolveImage(
      parseImageReference(`${registry.host}/team/legacy:2.0`),
      BOTH,
      deps(),
    );
    expect(resolved.digest).toBe(pushed.digest);
    expect(resolved.mediaType).toBe(MediaTypes.dockerManifestList);
    expect(resolved.platforms.map((p) => p.digest)).toEqual([
      pushed.platformDigests['linux/amd64'],
      pushed.platformDigests['linux/arm64'],
    ]);
  });

  it('answers null for arm64 of a single-platform amd64 image', async () => {
    const pushed = await registry.pushImage('team/tool', 'latest', {
      platforms: ['linux/amd64'],
      index: false,
    });
    const resolved = await resolveImage(
      parseImageReference(`${registry.host}/team/tool`),
      BOTH,
      deps(),
    );
    expect(resolved.digest).toBe(pushed.digest);
    expect(resolved.mediaType).toBe(MediaTypes.ociManifest);
    expect(resolved.platforms).toEqual([
      { platform: 'linux/amd64', digest: pushed.digest },
      { platform: 'linux/arm64', digest: null },
    ]);
  });

  it('answers null for a platform an index lacks', async () => {
    const pushed = await registry.pushImage('team/arm', 'v1', {
      platforms: ['linux/arm64'],
      index: true,
    });
    const resolved = await resolveImage(
      parseImageReference(`${registry.host}/team/arm:v1`),
      BOTH,
      deps(),
    );
    expect(resolved.platforms).toEqual([
      { platform: 'linux/amd64', digest: null },
      { platform: 'linux/arm64', digest: pushed.platformDigests['linux/arm64'] },
    ]);
  });

  it('resolves references pinned by digest (index and single manifest)', async () => {
    const index = await registry.pushImage('team/pinned', 'multi', {
      platforms: BOTH,
      index: true,
    });
    const single = await registry.pushImage('team/pinned', 'single', {
      platforms: ['linux/arm64'],
      index: false,
      format: 'docker',
    });
    const logger = new MemoryLogger();
    const [fromIndex, fromSingle] = await Promise.all([
      resolveImage(
        parseImageReference(`${registry.host}/team/pinned@${index.digest}`),
        BOTH,
        deps({ logger }),
      ),
      resolveImage(
        parseImageReference(`${registry.host}/team/pinned:whatever@${single.digest}`),
        BOTH,
        deps(),
      ),
    ]);
    expect(fromIndex.digest).toBe(index.digest);
    expect(fromIndex.platforms.map((p) => p.digest)).toEqual([
      index.platformDigests['linux/amd64'],
      index.platformDigests['linux/arm64'],
    ]);
    expect(logger.text()).toContain(`/manifests/${index.digest}`);
    expect(fromSingle.digest).toBe(single.digest);
    expect(fromSingle.platforms).toEqual([
      { platform: 'linux/amd64', digest: null },
      { platform: 'linux/arm64', digest: single.digest },
    ]);
  });

  it('reports an unknown tag and an unknown repository as manifest unknown', async () => {
    await registry.pushImage('team/known', 'v1', { platforms: ['linux/amd64'], index: false });
    const tag = await failure(
      resolveImage(parseImageReference(`${registry.host}/team/known:v2`), BOTH, deps()),
    );
    expect(tag.kind).toBe('not-found');
    expect(tag.reason).toMatch(
      new RegExp(`^manifest unknown: ${registry.host}/team/known:v2 \\(MANIFEST_UNKNOWN: `),
    );
    const repo = await failure(
      resolveImage(parseImageReference(`${registry.host}/team/nothing:v1`), BOTH, deps()),
    );
    expect(repo.kind).toBe('not-found');
    expect(repo.reason).toMatch(/^manifest unknown: /);
  });

  it('resolves a list, keeping failures apart', async () => {
    const a = await registry.pushImage('list/a', 'v1', { platforms: BOTH, index: true });
    const b = await registry.pushImage('list/b', 'v1', {
      platforms: ['linux/amd64'],
      index: false,
    });
    const images = ['list/a:v1', 'list/missing:v1', 'list/b:v1'].map((name) =>
      parseImageReference(`${registry.host}/${name}`),
    );
    const result = await resolveImages(images, BOTH, deps(), 2);
    expect(result.resolved.map((r) => r.digest)).toEqual([a.digest, b.digest]);
    expect(result.failures.map((f) => [f.image.repository, f.kind])).toEqual([
      ['list/missing', 'not-found'],
    ]);
  });
});

describeWithRegistry('registry digest resolution (token auth)', () => {
  let registry: TestRegistry;
  const account = { username: 'robot', password: 'robot-password' };

  beforeAll(async () => {
    registry = await startRegistry({ auth: 'token', credentials: account });
  });
  afterAll(async () => {
    await registry?.stop();
  });

  it('gets one token per repository with credentials, and resolves', async () => {
    const v1 = await registry.pushImage('private/app', 'v1', { platforms: BOTH, index: true });
    const v2 = await registry.pushImage('private/app', 'v2', {
      platforms: ['linux/arm64'],
      index: false,
    });
    const before = registry.tokenRequests.length;
    const logger = new MemoryLogger();
    const images = ['v1', 'v2'].map((tag) =>
      parseImageReference(`${registry.host}/private/app:${tag}`),
    );

    const result = await resolveImages(
      images,
      BOTH,
      deps({ logger, credentialsFor: async () => account }),
    );

    expect(result.failures).toEqual([]);
    expect(result.resolved.map((r) => r.digest)).toEqual([v1.digest, v2.digest]);
    expect(result.resolved[1]?.platforms).toEqual([
      { platform: 'linux/amd64', digest: null },
      { platform: 'linux/arm64', digest: v2.digest },
    ]);
    const requests = registry.tokenRequests.slice(before);
    expect(requests).toEqual([
      {
        service: 'test-registry',
        scopes: ['repository:private/app:pull'],
        username: 'robot',
        status: 200,
      },
    ]);
    expect(logger.text()).not.toContain('robot-password');
  });

  it('reports not authorized for anonymous access', async () => {
    await registry.pushImage('private/secret', 'v1', { platforms: ['linux/amd64'], index: false });
    const error = await failure(
      resolveImage(parseImageReference(`${registry.host}/private/secret:v1`), BOTH, deps()),
    );
    expect(error.kind).toBe('unauthorized');
    expect(error.reason).toMatch(/^not authorized: UNAUTHORIZED: /);
    expect(error.reason).toContain(`no credentials are configured for ${registry.host}`);
  });

  it('reports credentials the token service refuses', async () => {
    const error = await failure(
      resolveImage(
        parseImageReference(`${registry.host}/private/app:v1`),
        BOTH,
        deps({ credentialsFor: async () => ({ username: 'robot', password: 'wrong' }) }),
      ),
    );
    expect(error.kind).toBe('unauthorized');
    expect(error.reason).toContain('refused the credentials');
    expect(error.reason).toContain('incorrect username or password');
  });
});

describeWithRegistry('registry digest resolution (registry down)', () => {
  it('reports a network error after retrying', async () => {
    const port = await freePort(); // nothing listens there
    const clock = new VirtualClock();
    const start = clock.now();
    const error = await failure(
      resolveImage(parseImageReference(`127.0.0.1:${port}/team/app:v1`), BOTH, deps({ clock })),
    );
    expect(error.kind).toBe('network');
    expect(error.reason).toMatch(
      new RegExp(
        `^network error reaching 127\\.0\\.0\\.1:${port}: .*ECONNREFUSED.* \\(3 attempts\\)$`,
      ),
    );
    expect(clock.now() - start).toBe(2000);
  });

  it('reports a network error when the registry stops', async () => {
    const registry = await startRegistry();
    const image = parseImageReference(`${registry.host}/team/app:v1`);
    await registry.pushImage('team/app', 'v1', { platforms: ['linux/amd64'], index: false });
    await resolveImage(image, BOTH, deps());
    await registry.stop();
    const error = await failure(resolveImage(image, BOTH, deps()));
    expect(error.kind).toBe('network');
  });
});
