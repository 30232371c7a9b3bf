/**
 * The snapshot build, start to end, as its phases (phases.ts): check credentials and plan
 * (plan.ts), pick the AMI, launch the builder and wait for SSM (launch.ts), pull the images
 * (pull.ts), snapshot the data volume (snapshot.ts); and whatever happens, remove what the build
 * created (resources.ts), all within timeout-minutes (deadline.ts). Everything it needs is
 * passed in, so tests drive it with mocked or emulated AWS clients on a virtual clock.
 */
import { memoryLedger } from '../aws/create-ledger.js';
import { snapshotDescription } from '../aws/snapshots.js';
import { runTags } from '../aws/tags.js';
import type { BuildConfig } from '../config/types.js';
import { errorMessage } from '../core/errors.js';
import { dataVolumeId } from './builder-instance.js';
import { Deadline } from './deadline.js';
import { chooseImage, imageResolver, launch, waitUntilReachable, type Launched } from './launch.js';
import { Progress, type PhaseKey } from './phases.js';
import { checkCredentials, planBuild, pullSources, reuseSnapshot, type BuildPlan } from './plan.js';
import { judgePulls, pullImages, type Pulled } from './pull.js';
import { BuildResources } from './resources.js';
import { finishSnapshot, snapshotVolume } from './snapshot.js';
import type { Instance, Snapshot } from '@aws-sdk/client-ec2';
import type { CallerIdentity } from '../aws/credentials.js';
import {
  BuildFailure,
  DEFAULT_BOUNDS,
  type BuildDeps,
  type BuildResult,
  type BuildRun,
  type DataVolume,
  type ImageResult,
} from './types.js';

export {
  STATE_CHECKPOINTS,
  STATE_CLEAN,
  STATE_INSTANCE_IDS,
  STATE_INVOCATION,
  STATE_OUTPUT_SNAPSHOTS,
  STATE_PENDING_SNAPSHOT,
  STATE_REGION,
  STATE_SWEEP_REGIONS,
} from './resources.js';
export { lineageOf } from './plan.js';
export { BuildFailure, type BuildDeps, type BuildResult, type ImageResult } from './types.js';

export async function buildSnapshot(config: BuildConfig, deps: BuildDeps): Promise<BuildResult> {
  const run = startRun(config, deps);
  const { progress, deadline } = run;
  // The phases that wait on AWS: a timeout there is explained by timeout-minutes when it is the cause.
  const waiting = <T>(key: PhaseKey, fn: () => Promise<T>) =>
    deadline.explained(progress.phase(key, fn));
  let images: ImageResult[] = [];
  try {
    const identity = await progress.phase('credentials', () => checkCredentials(run));
    const sources = pullSources(config, identity);
    const plan = await progress.phase('digests', () => planBuild(run, sources));
    if (plan.reusable) return reuseSnapshot(run, plan, plan.reusable, identity);

    const imageFor = imageResolver(run);
    await progress.phase('image', () => chooseImage(run, imageFor));
    const launched = await progress.phase('launch', () => launch(run, plan.lineage, imageFor));
    const running = await waiting('ssm', () =>
      waitUntilReachable(run, launched.builder.instanceId),
    );

    const volume = dataVolume(config, launched, running);
    const pulled = await waiting('pull', async () => {
      const made = await pullImages(run, volume, sources);
      images = made.images; // a build that fails from here on still reports them
      judgePulls(run, made);
      return made;
    });
    const snapshotId = await waiting('snapshot', () => snapshotVolume(run, volume, plan, pulled));
    const snapshot = await waiting('finish', () => finishSnapshot(run, snapshotId));
    return builtResult(run, { identity, plan, launched, pulled, snapshotId, snapshot });
  } catch (error) {
    throw new BuildFailure(errorMessage(deadline.failure(error)), progress.phases, images, {
      cause: error,
    });
  } finally {
    deadline.dispose();
    await run.resources.teardown();
  }
}

/** The builder's data volume (outside any phase: a volume missing is no phase's failure). */
function dataVolume(config: BuildConfig, launched: Launched, running: Instance): DataVolume {
  return {
    builderId: launched.builder.instanceId,
    volumeId: dataVolumeId(running),
    description: snapshotDescription(
      config.images.map((i) => i.normalized),
      config.bottlerocketVariant,
    ),
    baseSnapshotId: launched.baseSnapshotId,
  };
}

/** Sets up one build: its bounds, deadline, log of phases, resources and warnings. */
function startRun(config: BuildConfig, deps: BuildDeps): BuildRun {
  const { clock, logger } = deps;
  const started = clock.now();
  const progress = new Progress(
    { images: config.images.length, platforms: config.platforms.length },
    logger,
    clock,
  );
  const warnings: string[] = [];
  const deadline = new Deadline(config.timeoutMinutes, started, clock, deps.signal);
  return {
    config,
    deps,
    bounds: { ...DEFAULT_BOUNDS, ...deps.bounds },
    started,
    signal: deadline.signal,
    deadline,
    progress,
    resources: new BuildResources(deps.clients.ec2, deps.state, logger),
    ledger: deps.ledger ?? memoryLedger(),
    tags: runTags(deps.context, config.tags),
    warnings,
    warn: (message) => {
      warnings.push(message);
      logger.warning(message);
    },
  };
}

interface Built {
  identity: CallerIdentity;
  plan: BuildPlan;
  launched: Launched;
  pulled: Pulled;
  snapshotId: string;
  snapshot: Snapshot;
}

function builtResult(run: BuildRun, built: Built): BuildResult {
  const { config, deps } = run;
  const { plan, launched, pulled } = built;
  const checkpoints = pulled.checkpointReport;
  return {
    snapshotId: built.snapshotId,
    volumeSizeGiB: built.snapshot.VolumeSize ?? config.volume.sizeGiB,
    images: pulled.images,
    builderInstanceId: launched.builder.instanceId,
    instanceType: launched.builder.instanceType,
    imageId: launched.builder.imageId,
    region: config.region,
    identity: built.identity,
    durationSeconds: Math.round((deps.clock.now() - run.started) / 1000),
    phases: run.progress.phases,
    warnings: run.warnings,
    cacheHit: false,
    ...(plan.key ? { buildKey: plan.key } : {}),
    ...(launched.baseSnapshotId ? { baseSnapshotId: launched.baseSnapshotId } : {}),
    removed: pulled.removed,
    ...(checkpoints && checkpoints.ids.length > 0 ? { checkpoints } : {}),
  };
}
