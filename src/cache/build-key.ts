/**
 * The build key: a hash of everything that decides what the data volume
 * holds. Two builds with the same key produce interchangeable snapshots, so a
 * completed snapshot tagged with the key can be reused instead of building.
 *
 * It covers each image's manifest digest per platform (resolved from the
 * registries before anything is launched), the platforms, the snapshotter,
 * the Bottlerocket variant, the volume size and the encryption settings.
 */
import { createHash } from 'node:crypto';
import type { BuildConfig } from '../config/types.js';
import type { ResolvedImage } from './registry/index.js';

export const BUILD_KEY_VERSION = 1;

export function buildKey(config: BuildConfig, resolved: readonly ResolvedImage[]): string {
  const images = resolved
    .map((r) => ({
      reference: r.image.normalized,
      platforms: r.platforms
        .map((p) => [p.platform, p.digest] as const)
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
    }))
    .sort((a, b) => (a.reference < b.reference ? -1 : a.reference > b.reference ? 1 : 0));
  const canonical = JSON.stringify({
    v: BUILD_KEY_VERSION,
    images,
    platforms: [...config.platforms].sort(),
    snapshotter: config.snapshotter,
    variant: config.bottlerocketVariant,
    ami: config.amiId ?? null,
    sizeGiB: config.volume.sizeGiB,
    encrypted: config.volume.encrypted,
    kmsKeyId: config.volume.kmsKeyId ?? null,
    onMissingPlatform: config.onMissingPlatform,
  });
  return createHash('sha256').update(canonical).digest('hex');
}
