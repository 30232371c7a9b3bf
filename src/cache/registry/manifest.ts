/**
 * OCI / Docker manifest formats as the digest resolver needs them: media types, parsing of
 * indexes (manifest lists), image manifests and image configs, and platform selection the way
 * containerd does it for `--platform linux/amd64` or `linux/arm64`; and the content digests
 * the bytes received are checked against.
 *
 * Dependency-free (node:crypto for the digests). Parsing problems are thrown as ManifestProblem; the resolver turns them into
 * RegistryError with the image reference.
 */
import { createHash } from 'node:crypto';
import type { Platform } from '../../config/types.js';

export const MediaTypes = {
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  dockerManifestList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
  dockerSchema1: 'application/vnd.docker.distribution.manifest.v1+json',
  dockerSchema1Signed: 'application/vnd.docker.distribution.manifest.v1+prettyjws',
} as const;

/** The Accept header for manifest requests: indexes first, then single-platform manifests. */
export const MANIFEST_ACCEPT = [
  MediaTypes.ociIndex,
  MediaTypes.dockerManifestList,
  MediaTypes.ociManifest,
  MediaTypes.dockerManifest,
].join(', ');

const INDEX_TYPES: ReadonlySet<string> = new Set([
  MediaTypes.ociIndex,
  MediaTypes.dockerManifestList,
]);
const MANIFEST_TYPES: ReadonlySet<string> = new Set([
  MediaTypes.ociManifest,
  MediaTypes.dockerManifest,
]);
const CONFIG_TYPES: ReadonlySet<string> = new Set([MediaTypes.ociConfig, MediaTypes.dockerConfig]);

/** Annotation BuildKit puts on attestation manifests in an index. */
export const REFERENCE_TYPE_ANNOTATION = 'vnd.docker.reference.type';

export interface PlatformSpec {
  os: string;
  architecture: string;
  variant?: string;
}

export interface IndexEntry {
  digest: string;
  mediaType?: string;
  platform?: PlatformSpec;
  annotations?: Record<string, string>;
}

export type ParsedManifest =
  | { kind: 'index'; mediaType: string; entries: IndexEntry[] }
  | { kind: 'manifest'; mediaType: string; config: { digest: string; mediaType: string } };

/** Content the resolver cannot use: `unsupported` (a format it does not handle) or `invalid`. */
export class ManifestProblem extends Error {
  override readonly name: string = 'ManifestProblem';
  constructor(
    readonly kind: 'unsupported' | 'invalid',
    message: string,
  ) {
    super(message);
  }
}

/** The digest of `body` with `algorithm` (sha256, sha384 or sha512); undefined for others. */
export function digestOf(body: Uint8Array, algorithm = 'sha256'): string | undefined {
  if (algorithm !== 'sha256' && algorithm !== 'sha384' && algorithm !== 'sha512') return undefined;
  return `${algorithm}:${createHash(algorithm).update(body).digest('hex')}`;
}

const DIGEST = /^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;

/** The media type without parameters (`; charset=utf-8`), lowercase; '' when absent. */
export function bareMediaType(contentType: string | null | undefined): string {
  return (contentType ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
}

/**
 * Parses a manifest body. The media type comes from the body's `mediaType` field, else from the
 * Content-Type header, else from the shape (`manifests` → OCI index, `config` → OCI manifest).
 */
export function parseManifest(body: Uint8Array, contentType: string | null): ParsedManifest {
  const headerType = bareMediaType(contentType);
  if (headerType === MediaTypes.dockerSchema1 || headerType === MediaTypes.dockerSchema1Signed) {
    throw schema1();
  }
  const json = parseJson(body, 'manifest');
  if (!isObject(json)) throw new ManifestProblem('invalid', 'the manifest is not a JSON object');
  if (json.schemaVersion === 1) throw schema1();

  let mediaType = typeof json.mediaType === 'string' ? bareMediaType(json.mediaType) : '';
  if (mediaType === '' && INDEX_TYPES.has(headerType)) mediaType = headerType;
  if (mediaType === '' && MANIFEST_TYPES.has(headerType)) mediaType = headerType;
  if (mediaType === '' && Array.isArray(json.manifests)) mediaType = MediaTypes.ociIndex;
  if (mediaType === '' && isObject(json.config)) mediaType = MediaTypes.ociManifest;

  if (INDEX_TYPES.has(mediaType)) {
    if (!Array.isArray(json.manifests)) {
      throw new ManifestProblem('invalid', `the ${mediaType} has no 'manifests' list`);
    }
    return { kind: 'index', mediaType, entries: json.manifests.map(parseIndexEntry) };
  }
  if (MANIFEST_TYPES.has(mediaType)) {
    const config = json.config;
    if (!isObject(config) || !isDigest(config.digest)) {
      throw new ManifestProblem('invalid', `the ${mediaType} has no valid config descriptor`);
    }
    const configType =
      typeof config.mediaType === 'string' ? bareMediaType(config.mediaType) : MediaTypes.ociConfig;
    return {
      kind: 'manifest',
      mediaType,
      config: { digest: config.digest, mediaType: configType },
    };
  }
  throw new ManifestProblem(
    'unsupported',
    `unsupported manifest media type '${mediaType || headerType || 'none'}' ` +
      '(expected an OCI or Docker v2 image index or manifest)',
  );
}

function schema1(): ManifestProblem {
  return new ManifestProblem(
    'unsupported',
    'the image uses the deprecated Docker schema 1 manifest format, which containerd no longer ' +
      'pulls; push it again with a current tool (docker buildx, crane, skopeo)',
  );
}

function parseIndexEntry(raw: unknown, position: number): IndexEntry {
  if (!isObject(raw) || !isDigest(raw.digest)) {
    throw new ManifestProblem('invalid', `index entry ${position} has no valid digest`);
  }
  const entry: IndexEntry = { digest: raw.digest };
  if (typeof raw.mediaType === 'string') entry.mediaType = bareMediaType(raw.mediaType);
  const platform = raw.platform;
  if (isObject(platform)) {
    if (typeof platform.os === 'string' && typeof platform.architecture === 'string') {
      entry.platform = { os: platform.os, architecture: platform.architecture };
      if (typeof platform.variant === 'string' && platform.variant !== '') {
        entry.platform.variant = platform.variant;
      }
    }
  }
  if (isObject(raw.annotations)) {
    const annotations: Record<string, string> = {};
    for (const [key, value] of Object.entries(raw.annotations)) {
      if (typeof value === 'string') annotations[key] = value;
    }
    entry.annotations = annotations;
  }
  return entry;
}

/**
 * The platform of an image config blob (`architecture`, `os`, `variant`).
 * @param configMediaType the config descriptor's media type: artifacts (Helm charts, signatures)
 *   have other config types and are refused as not being container images.
 */
export function parseImageConfig(body: Uint8Array, configMediaType: string): PlatformSpec {
  checkImageConfigType(configMediaType);
  const json = parseJson(body, 'image config');
  if (!isObject(json) || typeof json.architecture !== 'string' || typeof json.os !== 'string') {
    throw new ManifestProblem('invalid', "the image config has no 'architecture' and 'os'");
  }
  const spec: PlatformSpec = { os: json.os, architecture: json.architecture };
  if (typeof json.variant === 'string' && json.variant !== '') spec.variant = json.variant;
  return spec;
}

/** Refuses config media types of artifacts (Helm charts, signatures...): not container images. */
export function checkImageConfigType(configMediaType: string): void {
  if (!CONFIG_TYPES.has(configMediaType)) {
    throw new ManifestProblem(
      'unsupported',
      `not a container image: its config has media type '${configMediaType}'`,
    );
  }
}

/** Whether an index entry is a BuildKit attestation (provenance/SBOM), not a runnable image. */
export function isAttestation(entry: IndexEntry): boolean {
  if (entry.annotations?.[REFERENCE_TYPE_ANNOTATION] === 'attestation-manifest') return true;
  return entry.platform?.os === 'unknown' && entry.platform.architecture === 'unknown';
}

/**
 * Whether `spec` runs as `platform`. The variant counts only where containerd's matcher for
 * `linux/amd64` / `linux/arm64` would refuse it: amd64 accepts none or v1 (not v2/v3 builds),
 * arm64 accepts none or v8 (the same thing).
 */
export function platformMatches(platform: Platform, spec: PlatformSpec): boolean {
  const [os, architecture] = platform.split('/') as [string, string];
  if (spec.os.toLowerCase() !== os) return false;
  if (normalizeArchitecture(spec.architecture) !== architecture) return false;
  const variant = spec.variant?.toLowerCase() ?? '';
  if (architecture === 'arm64') return variant === '' || variant === 'v8';
  if (architecture === 'amd64') return variant === '' || variant === 'v1';
  return true;
}

function normalizeArchitecture(architecture: string): string {
  const arch = architecture.toLowerCase();
  if (arch === 'x86_64' || arch === 'x86-64') return 'amd64';
  if (arch === 'aarch64') return 'arm64';
  return arch;
}

/** The digest of the first index entry for `platform` (index order, as containerd picks), or null. */
export function selectPlatform(entries: readonly IndexEntry[], platform: Platform): string | null {
  for (const entry of entries) {
    if (isAttestation(entry) || !entry.platform) continue;
    if (platformMatches(platform, entry.platform)) return entry.digest;
  }
  return null;
}

export function isDigest(value: unknown): value is string {
  return typeof value === 'string' && value.length <= 300 && DIGEST.test(value);
}

function parseJson(body: Uint8Array, what: string): unknown {
  try {
    return JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(body)) as unknown;
  } catch {
    throw new ManifestProblem('invalid', `the ${what} is not valid JSON`);
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
