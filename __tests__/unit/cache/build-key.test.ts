import { describe, expect, it } from '@jest/globals';
import { buildKey } from '../../../src/cache/build-key.js';
import { parseInputs } from '../../../src/action/inputs/index.js';
import type { BuildConfig, Platform } from '../../../src/config/types.js';
import type { ResolvedImage } from '../../../src/cache/registry/index.js';

function config(inputs: Record<string, string> = {}): BuildConfig {
  const all: Record<string, string> = {
    images: 'ghcr.io/acme/app:1\nghcr.io/acme/base:1',
    platforms: 'linux/amd64,linux/arm64',
    'aws-region': 'us-west-2',
    'instance-profile': 'builder',
    ...inputs,
  };
  return parseInputs((name) => all[name] ?? '').config;
}

function resolved(c: BuildConfig, digests: Record<string, string> = {}): ResolvedImage[] {
  return c.images.map((image) => ({
    image,
    digest: 'sha256:index',
    mediaType: 'application/vnd.oci.image.index.v1+json',
    platforms: c.platforms.map((platform: Platform) => ({
      platform,
      digest:
        digests[`${image.normalized} ${platform}`] ?? `sha256:${image.repository}-${platform}`,
    })),
  }));
}

describe('buildKey', () => {
  it('does not depend on the order of images or platforms', () => {
    const a = config();
    const b = config({
      images: 'ghcr.io/acme/base:1, ghcr.io/acme/app:1',
      platforms: 'linux/arm64\nlinux/amd64',
    });
    expect(buildKey(a, resolved(a))).toBe(buildKey(b, resolved(b)));
  });

  it('changes with any platform digest', () => {
    const c = config();
    expect(buildKey(c, resolved(c))).not.toBe(
      buildKey(c, resolved(c, { 'ghcr.io/acme/app:1 linux/arm64': 'sha256:new' })),
    );
  });

  it.each([
    [{ snapshotter: 'soci' }],
    [{ 'bottlerocket-variant': 'aws-k8s-1.33' }],
    [{ 'volume-size': '80' }],
    [{ encrypted: 'true' }],
    [{ 'kms-key-id': 'alias/x' }],
    [{ platforms: 'linux/amd64' }],
    [{ 'on-missing-platform': 'skip' }],
  ])('changes with %j', (inputs) => {
    const base = config();
    const other = config(inputs);
    expect(buildKey(other, resolved(other))).not.toBe(buildKey(base, resolved(base)));
  });

  it('ignores settings that do not change the volume content', () => {
    const base = config();
    const other = config({
      'instance-type': 'm7g.xlarge',
      'pull-concurrency': '8',
      tags: 'a=b',
      'snapshot-mode': 'live',
    });
    expect(buildKey(other, resolved(other))).toBe(buildKey(base, resolved(base)));
  });
});
