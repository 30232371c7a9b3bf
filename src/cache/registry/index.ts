/**
 * Resolves image references to manifest digests per platform, from the runner, with the OCI
 * distribution API, before anything is launched: the digests make the build key, so a snapshot
 * can be reused when nothing changed.
 *
 * API
 * - resolveImage(image, platforms, deps): ResolvedImage, or throws RegistryError (an ActionError)
 *   whose `kind` and `reason` say why (unauthorized, not-found, rate-limited, server, network,
 *   timeout, unsupported, invalid, http). AbortedError when deps.signal aborts.
 * - resolveImages(images, platforms, deps, concurrency = 8): every image, at most `concurrency`
 *   at a time; RegistryErrors become `failures` (input order kept in both lists).
 * - RegistryResolver: the same as a class. Registry auth (challenges, tokens, credentials) is
 *   cached for the resolver's lifetime; resolveImage/resolveImages keep one resolver per `deps`
 *   object, so calls with the same deps share the cache.
 * - ecrCredentials(clientFor: (region) => ECRClient): a `credentialsFor` for ECR private
 *   registries (ecr.ts).
 *
 * Requests per image (minimal): GET the manifest by tag or digest (one request gives the digest,
 * from Docker-Content-Digest or the sha256 of the body, and the platform list of an index); for
 * a single-platform manifest, GET its config blob for architecture/os. Plus, once per registry
 * and repository, the 401 challenge and the token request. Digests are verified against the
 * bytes received. Note that a manifest GET counts as a pull for Docker Hub's rate limits.
 *
 * URLs: https://<host>/v2/..., plain http for loopback hosts; docker.io → registry-1.docker.io.
 * Retries: 429, 5xx, network errors and timeouts, twice, with a short backoff on deps.clock;
 * never other 4xx. Tokens and passwords are never logged.
 */
import type { ImageReference } from '../../config/image-ref.js';
import type { Platform } from '../../config/types.js';
import { RegistryClient, type RegistryDeps } from './client.js';
import { RegistryError, type RegistryErrorKind } from './errors.js';
import { CONFIG_LIMIT, MANIFEST_LIMIT, type RepositoryTarget } from './http.js';
import {
  checkImageConfigType,
  digestOf,
  ManifestProblem,
  MANIFEST_ACCEPT,
  parseImageConfig,
  parseManifest,
  platformMatches,
  selectPlatform,
  type ParsedManifest,
  type PlatformSpec,
} from './manifest.js';

export type { CredentialsProvider, RegistryCredentials } from './auth.js';
export type { RegistryDeps } from './client.js';
export { RegistryError, type RegistryErrorKind } from './errors.js';
export { isLoopbackHost, registryBaseUrl } from './http.js';
export { ecrCredentials, parseEcrRegistry, type EcrClientFactory } from './ecr.js';
export { MediaTypes } from './manifest.js';

export interface PlatformDigest {
  platform: Platform;
  /** The manifest digest for the platform; null when the image has no such platform. */
  digest: string | null;
}

export interface ResolvedImage {
  image: ImageReference;
  /** Digest of what the tag points at (an index or a single manifest); the pinned digest if any. */
  digest: string;
  mediaType: string;
  /** One entry per requested platform, in the order requested. */
  platforms: PlatformDigest[];
}

export interface ResolveFailure {
  image: ImageReference;
  /** Why it could not be resolved, for the workflow log. */
  reason: string;
  kind: RegistryErrorKind;
}

export interface ResolveResult {
  resolved: ResolvedImage[];
  failures: ResolveFailure[];
}

interface FetchedManifest {
  digest: string;
  mediaType: string;
  manifest: ParsedManifest;
}

export class RegistryResolver {
  private readonly client: RegistryClient;

  constructor(private readonly deps: RegistryDeps) {
    this.client = new RegistryClient(deps);
  }

  /** @throws RegistryError with the reason; AbortedError when deps.signal aborts. */
  async resolve(image: ImageReference, platforms: readonly Platform[]): Promise<ResolvedImage> {
    const target: RepositoryTarget = {
      registry: image.registry,
      repository: image.repository,
      reference: image.normalized,
    };
    const top = await this.manifest(target, image.digest ?? image.tag ?? 'latest', !!image.digest);
    let result: PlatformDigest[];
    if (top.manifest.kind === 'index') {
      const { entries } = top.manifest;
      result = platforms.map((platform) => ({
        platform,
        digest: selectPlatform(entries, platform),
      }));
    } else {
      const spec = await this.config(target, top.manifest.config);
      result = platforms.map((platform) => ({
        platform,
        digest: platformMatches(platform, spec) ? top.digest : null,
      }));
    }
    this.deps.logger.debug(
      `registry: ${image.normalized} -> ${top.digest} (${top.mediaType}); ` +
        result.map((p) => `${p.platform}: ${p.digest ?? 'none'}`).join(', '),
    );
    return { image, digest: top.digest, mediaType: top.mediaType, platforms: result };
  }

  private async manifest(
    target: RepositoryTarget,
    reference: string,
    pinned: boolean,
  ): Promise<FetchedManifest> {
    const response = await this.client.get(
      target,
      `manifests/${reference}`,
      MANIFEST_ACCEPT,
      'manifest',
      MANIFEST_LIMIT,
    );
    if (response.status < 200 || response.status > 299) {
      throw await this.client.statusError(
        target,
        response,
        `manifest unknown: ${target.reference}`,
      );
    }
    const header = response.headers.get('docker-content-digest')?.trim() || undefined;
    const expected = pinned ? reference : header;
    const algorithm = expected?.split(':')[0] ?? 'sha256';
    const computed = digestOf(response.body, algorithm);
    if (expected !== undefined && computed !== undefined && computed !== expected) {
      throw new RegistryError(
        target.reference,
        'invalid',
        `the registry sent a manifest whose digest ${computed} does not match ` +
          (pinned ? `the pinned digest ${expected}` : `its Docker-Content-Digest ${expected}`),
      );
    }
    const digest = expected ?? computed;
    if (digest === undefined) {
      throw new RegistryError(
        target.reference,
        'unsupported',
        'cannot compute the manifest digest',
      );
    }
    const manifest = asRegistryError(target, () =>
      parseManifest(response.body, response.headers.get('content-type')),
    );
    return { digest, mediaType: manifest.mediaType, manifest };
  }

  private async config(
    target: RepositoryTarget,
    config: { digest: string; mediaType: string },
  ): Promise<PlatformSpec> {
    // Refuse artifacts before downloading anything.
    asRegistryError(target, () => checkImageConfigType(config.mediaType));
    const response = await this.client.get(
      target,
      `blobs/${config.digest}`,
      `${config.mediaType}, */*`,
      'image config',
      CONFIG_LIMIT,
    );
    if (response.status < 200 || response.status > 299) {
      throw await this.client.statusError(
        target,
        response,
        `the image config blob ${config.digest} is missing from ${target.registry}/${target.repository}`,
      );
    }
    const computed = digestOf(response.body, config.digest.split(':')[0]);
    if (computed !== undefined && computed !== config.digest) {
      throw new RegistryError(
        target.reference,
        'invalid',
        `the registry sent an image config whose digest ${computed} is not ${config.digest}`,
      );
    }
    return asRegistryError(target, () => parseImageConfig(response.body, config.mediaType));
  }
}

/** Runs a parser, turning a ManifestProblem into a RegistryError for the image. */
function asRegistryError<T>(target: RepositoryTarget, parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    if (error instanceof ManifestProblem) {
      throw new RegistryError(target.reference, error.kind, error.message);
    }
    throw error;
  }
}

const resolvers = new WeakMap<RegistryDeps, RegistryResolver>();

function resolverFor(deps: RegistryDeps): RegistryResolver {
  let resolver = resolvers.get(deps);
  if (!resolver) {
    resolver = new RegistryResolver(deps);
    resolvers.set(deps, resolver);
  }
  return resolver;
}

/**
 * The digest of what `image` points at, and its manifest digest for each platform.
 * @throws RegistryError with the reason; AbortedError when deps.signal aborts.
 */
export async function resolveImage(
  image: ImageReference,
  platforms: readonly Platform[],
  deps: RegistryDeps,
): Promise<ResolvedImage> {
  return resolverFor(deps).resolve(image, platforms);
}

/**
 * Resolves every image, `concurrency` at a time. Images that fail with a RegistryError are
 * listed in `failures`; anything else (AbortedError, a bug) is thrown and stops the rest.
 */
export async function resolveImages(
  images: readonly ImageReference[],
  platforms: readonly Platform[],
  deps: RegistryDeps,
  concurrency = 8,
): Promise<ResolveResult> {
  const resolver = resolverFor(deps);
  const outcomes: Array<ResolvedImage | ResolveFailure | undefined> = new Array<undefined>(
    images.length,
  );
  let next = 0;
  let stopped = false;
  const worker = async (): Promise<void> => {
    while (!stopped && next < images.length) {
      const index = next++;
      const image = images[index] as ImageReference;
      try {
        outcomes[index] = await resolver.resolve(image, platforms);
      } catch (error) {
        if (!(error instanceof RegistryError)) {
          stopped = true;
          throw error;
        }
        outcomes[index] = { image, reason: error.reason, kind: error.kind };
      }
    }
  };
  const workers = Math.max(1, Math.min(Math.floor(concurrency) || 1, images.length));
  await Promise.all(Array.from({ length: workers }, worker));

  const result: ResolveResult = { resolved: [], failures: [] };
  for (const outcome of outcomes) {
    if (!outcome) continue;
    if ('reason' in outcome) result.failures.push(outcome);
    else result.resolved.push(outcome);
  }
  return result;
}
