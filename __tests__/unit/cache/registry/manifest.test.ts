/** src/cache/registry/manifest.ts: platform matching and selection the way containerd does it. */
import { describe, expect, it } from '@jest/globals';
import { AMD64, ATTESTATION, sha256, UNKNOWN } from '../../../../test-support/registry-fake.js';
import { platformMatches, selectPlatform } from '../../../../src/cache/registry/manifest.js';

describe('platformMatches, selectPlatform', () => {
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
