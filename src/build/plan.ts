/**
 * The build's first two phases, before anything is created: whose credentials these are, where
 * the builder will pull each image from, each image's digests, the build key, and whether a
 * completed snapshot with that key can be reused instead of building (`reuseSnapshot`).
 */
import type { Snapshot } from '@aws-sdk/client-ec2';
import { checkCallerIdentity, type CallerIdentity } from '../aws/credentials.js';
import { tagValue } from '../aws/tags.js';
import { buildKey as computeBuildKey } from '../cache/build-key.js';
import type { ResolveResult } from '../cache/registry/index.js';
import { findSnapshotByKey } from '../cache/reuse.js';
import type { ImageReference } from '../config/image-ref.js';
import type { RunContext } from '../config/run-context.js';
import type { BuildConfig } from '../config/types.js';
import { ActionError } from '../core/errors.js';
import { pullSource } from './pull-through.js';
import type { BuildResult, BuildRun, ImageResult } from './types.js';

/** The family of snapshots a build belongs to: input `name`, else the repository. */
export function lineageOf(config: BuildConfig, context: RunContext): string {
  return tagValue(config.name ?? context.repository);
}

/** Phase 1: the credentials work, and whose they are. */
export async function checkCredentials(run: BuildRun): Promise<CallerIdentity> {
  const { config, deps } = run;
  const id = await checkCallerIdentity(deps.clients.sts, run.signal);
  deps.logger.info(`Acting as ${id.arn} in account ${id.account}, region ${config.region}.`);
  return id;
}

/** Where the builder pulls each image from (the ECR pull-through cache, or the image itself). */
export function pullSources(config: BuildConfig, identity: CallerIdentity): ImageReference[] {
  return config.images.map((image) =>
    pullSource(image, config.pullThroughCache, identity.account, config.region),
  );
}

export interface BuildPlan {
  /** The family of snapshots the build belongs to (lineageOf). */
  lineage: string;
  /** The build key, when every image's digests are known. */
  key?: string;
  /** A completed snapshot with the same key. */
  reusable?: Snapshot;
  /** What the reused snapshot holds (for outputs and the summary). */
  images: ImageResult[];
}

/**
 * Phase 2: resolves every image's digest per platform from the registries, fails early on a
 * platform an image lacks (unless on-missing-platform is skip), and looks for a completed
 * snapshot with the same build key.
 */
export async function planBuild(
  run: BuildRun,
  sources: readonly ImageReference[],
): Promise<BuildPlan> {
  const { config, deps } = run;
  sources.forEach((source, i) => {
    if (source !== config.images[i]) {
      deps.logger.info(
        `${config.images[i]?.normalized ?? ''} comes through the ECR pull-through cache: ${source.normalized}`,
      );
    }
  });
  const lineage = lineageOf(config, deps.context);
  if (!deps.resolveDigests) return { lineage, images: [] };
  const { resolved, failed } = await resolveDigests(run, sources, deps.resolveDigests);
  if (failed) return { lineage, images: [] };
  const key = computeBuildKey(config, resolved);
  deps.logger.info(`Build key ${key}.`);
  if (config.reuse === 'never') return { lineage, key, images: [] };
  const reusable = await findSnapshotByKey(deps.clients.ec2, key, lineage, run.signal);
  if (!reusable) {
    deps.logger.info('No completed snapshot has this build key: building.');
    return { lineage, key, images: [] };
  }
  return { lineage, key, reusable, images: reusedImages(resolved) };
}

type Resolved = ResolveResult['resolved'];

/**
 * The digests, each under the image's own name (resolved where the builder pulls from: the
 * pull-through cache holds the same manifests). `failed`: some image could not be resolved.
 */
async function resolveDigests(
  run: BuildRun,
  sources: readonly ImageReference[],
  resolve: NonNullable<BuildRun['deps']['resolveDigests']>,
): Promise<{ resolved: Resolved; failed: boolean }> {
  const { config, deps } = run;
  const own = new Map(sources.map((source, i) => [source.normalized, config.images[i] ?? source]));
  const found = await resolve(sources, config.platforms, run.signal);
  const ownName = (image: ImageReference) => own.get(image.normalized) ?? image;
  const resolved = found.resolved.map((r) => ({ ...r, image: ownName(r.image) }));
  const failures = found.failures.map((f) => ({ ...f, image: ownName(f.image) }));
  for (const f of failures) {
    run.warn(
      `Could not resolve ${f.image.normalized} from the runner: ${f.reason}. Building without looking for a reusable snapshot.`,
    );
  }
  const missing = resolved.flatMap((r) =>
    r.platforms
      .filter((p) => p.digest === null)
      .map((p) => `${r.image.normalized} (${p.platform})`),
  );
  if (missing.length > 0 && config.onMissingPlatform === 'fail') {
    throw new ActionError(
      `These images have no build for a requested platform: ${missing.join(', ')}. ` +
        "Build them for every platform, remove the platform from 'platforms', or set 'on-missing-platform: skip'.",
    );
  }
  for (const r of resolved) {
    const digests = r.platforms.map(
      (p) => `${p.platform.slice(6)} ${p.digest?.slice(0, 19) ?? 'missing'}`,
    );
    deps.logger.info(`${r.image.normalized}: ${r.digest.slice(0, 19)}… (${digests.join(', ')})`);
  }
  return { resolved, failed: failures.length > 0 };
}

/** What a reused snapshot holds, from the digests. */
function reusedImages(resolved: Resolved): ImageResult[] {
  return resolved.flatMap((r) =>
    r.platforms.map((p) => ({
      reference: r.image.normalized,
      platform: p.platform,
      status: p.digest === null ? ('skip' as const) : ('ok' as const),
      ...(p.digest ? { digest: p.digest } : {}),
      seconds: 0,
      reused: true,
    })),
  );
}

/** The end of a build whose snapshot exists already: the other phases are skipped. */
export function reuseSnapshot(
  run: BuildRun,
  plan: BuildPlan,
  reused: Snapshot,
  identity: CallerIdentity,
): BuildResult {
  const { config, deps } = run;
  run.progress.skipAfter('digests', `reusing ${reused.SnapshotId ?? ''}`);
  deps.logger.notice(
    `Nothing changed since ${reused.SnapshotId ?? ''} (build key ${plan.key?.slice(0, 12) ?? ''}…): reusing it, no instance launched.`,
    { title: 'bottlerocket-ebs-snapshot' },
  );
  return {
    snapshotId: reused.SnapshotId ?? '',
    volumeSizeGiB: reused.VolumeSize ?? config.volume.sizeGiB,
    images: plan.images,
    builderInstanceId: '',
    instanceType: '',
    imageId: '',
    region: config.region,
    identity,
    durationSeconds: Math.round((deps.clock.now() - run.started) / 1000),
    phases: run.progress.phases,
    warnings: run.warnings,
    cacheHit: true,
    ...(plan.key ? { buildKey: plan.key } : {}),
    removed: [],
  };
}
