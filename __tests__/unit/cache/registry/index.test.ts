/**
 * src/cache/registry/index.ts: resolving images to digests per platform (indexes, single-platform
 * manifests, pinned and verified digests), and resolveImages' order and concurrency.
 */
import { describe, expect, it } from '@jest/globals';
import {
  AMD64,
  ARM64,
  ATTESTATION,
  BOTH,
  HOST,
  json,
  ref,
  failure,
  setup,
  sha256,
  UNKNOWN,
} from '../../../../test-support/registry-fake.js';
import { MediaTypes, resolveImage, resolveImages } from '../../../../src/cache/registry/index.js';

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

describe('resolveImage: failures and retries', () => {
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
