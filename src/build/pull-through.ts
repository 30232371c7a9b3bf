/**
 * ECR pull-through cache: images on registries the builder cannot authenticate to
 * by itself (private Docker Hub, GitHub Container Registry, Quay...) are pulled
 * through an ECR pull-through cache rule of the build account and region instead,
 * whose upstream credentials live in Secrets Manager, so no registry secret ever
 * reaches the runner's inputs, the SSM command or the instance. The builder pulls
 * `<account>.dkr.ecr.<region>.amazonaws.com/<prefix>/<repository>` with a token
 * minted from its own role, then names the image with its upstream reference,
 * the name pods use, and drops the ECR name.
 */
import { InputError } from '../core/errors.js';
import { parseImageReference, splitList, type ImageReference } from '../config/image-ref.js';
import { parseEcrRegistry } from '../cache/registry/ecr.js';

export const PULL_THROUGH_INPUT = 'pull-through-cache';

/** ECR's rule for a pull-through cache repository prefix (2-30 characters). */
const ECR_PREFIX = /^(?:[a-z0-9]+(?:[._-][a-z0-9]+)*\/)*[a-z0-9]+(?:[._-][a-z0-9]+)*$/;

/**
 * Parses `upstream-registry=ecr-prefix` entries (one per line or comma-separated), e.g.
 * `ghcr.io=ghcr`. Registry names are normalized as image references are (docker.io for
 * Docker Hub's aliases). Returns registry -> prefix.
 */
export function parsePullThroughCache(raw: string): Record<string, string> {
  const rules: Record<string, string> = {};
  for (const entry of splitList(raw)) {
    const eq = entry.indexOf('=');
    const fail = (why: string): never => {
      throw new InputError(PULL_THROUGH_INPUT, `'${entry}' ${why}`);
    };
    if (eq <= 0) fail('is not registry=ecr-repository-prefix, e.g. ghcr.io=ghcr.');
    const host = entry.slice(0, eq).trim();
    const prefix = entry.slice(eq + 1).trim();
    const registry =
      registryHost(host) ??
      fail(`names '${host}', which is not a registry host like ghcr.io or docker.io.`);
    if (parseEcrRegistry(registry))
      fail('names an ECR registry, which the builder reaches directly.');
    if (prefix.length < 2 || prefix.length > 30 || !ECR_PREFIX.test(prefix)) {
      fail(
        `has the prefix '${prefix}'; an ECR pull-through cache prefix is 2-30 lowercase letters, digits and ._-/ (e.g. ghcr).`,
      );
    }
    if (rules[registry] !== undefined && rules[registry] !== prefix) {
      fail(`maps ${registry} a second time (already to '${rules[registry] ?? ''}').`);
    }
    rules[registry] = prefix;
  }
  return rules;
}

/** The normalized registry `host` names (docker.io for Docker Hub's aliases), if it is one. */
function registryHost(host: string): string | undefined {
  if (host.includes('/')) return undefined;
  try {
    // A first component without '.' or ':' (and not localhost) would be a Docker Hub path.
    const probe = parseImageReference(`${host}/probe`);
    return probe.repository === 'probe' || probe.repository === 'library/probe'
      ? probe.registry
      : undefined;
  } catch {
    return undefined;
  }
}

/** The ECR registry host of `account` in `region`. */
export function ecrRegistry(account: string, region: string): string {
  return `${account}.dkr.ecr.${region}.amazonaws.com${region.startsWith('cn-') ? '.cn' : ''}`;
}

/**
 * Where the builder pulls `image` from: through the pull-through cache when a rule names
 * its registry, else the image itself.
 */
export function pullSource(
  image: ImageReference,
  rules: Readonly<Record<string, string>>,
  account: string,
  region: string,
): ImageReference {
  const prefix = rules[image.registry];
  if (prefix === undefined) return image;
  const suffix = image.normalized.slice(`${image.registry}/${image.repository}`.length);
  return parseImageReference(
    `${ecrRegistry(account, region)}/${prefix}/${image.repository}${suffix}`,
  );
}
