/**
 * Phases 3 to 5: the Bottlerocket image the builder boots (per architecture, as the instance
 * types to try may differ), the snapshot its data volume starts from, the launch, and the wait
 * until the builder runs and its SSM agent takes commands.
 */
import type { Instance } from '@aws-sdk/client-ec2';
import {
  describeAmi,
  instanceTypeArchitecture,
  resolveBottlerocketAmi,
  type Architecture,
} from './ami.js';
import { launchBuilder, waitForInstanceState, type LaunchedBuilder } from './builder-instance.js';
import { waitForSsmOnline } from './ssm-command.js';
import { chooseBaseSnapshot } from '../cache/reuse.js';
import { invocationKey } from '../config/run-context.js';
import { TAG_ROLE } from '../aws/tags.js';
import { ec2Deps, ssmDeps, type BuildRun } from './types.js';

/** The AMI for an instance type: input ami-id, else Bottlerocket's for its architecture. */
export type ImageFor = (instanceType: string) => Promise<string>;

/** An ImageFor that looks up each architecture's AMI once. */
export function imageResolver(run: BuildRun): ImageFor {
  const { config, deps } = run;
  const amiByArch = new Map<Architecture, string>();
  return async (instanceType) => {
    const arch = await instanceTypeArchitecture(deps.clients.ec2, instanceType, run.signal);
    if (config.amiId) return config.amiId;
    let ami = amiByArch.get(arch);
    if (!ami) {
      ami = await resolveBottlerocketAmi(
        deps.clients.ssm,
        config.bottlerocketVariant,
        arch,
        config.region,
        run.signal,
      );
      amiByArch.set(arch, ami);
      deps.logger.info(`Bottlerocket ${config.bottlerocketVariant} for ${arch}: ${ami}`);
    }
    return ami;
  };
}

/** Phase 3: checks input ami-id exists, or finds the AMI for the first instance type. */
export async function chooseImage(run: BuildRun, imageFor: ImageFor): Promise<void> {
  const { config, deps } = run;
  if (config.amiId) {
    const ami = await describeAmi(deps.clients.ec2, config.amiId, run.signal);
    deps.logger.info(`Using ${config.amiId} (${ami.name}, ${ami.architecture}) from input ami-id.`);
  } else {
    const first = config.instanceTypes[0] ?? '';
    await imageFor(first);
  }
}

export interface Launched {
  builder: LaunchedBuilder;
  /** The snapshot the data volume starts from (incremental build). */
  baseSnapshotId?: string;
}

/** Phase 4: chooses the base snapshot and launches the builder, recorded as soon as it exists. */
export async function launch(
  run: BuildRun,
  lineage: string,
  imageFor: ImageFor,
): Promise<Launched> {
  const { deps } = run;
  const baseSnapshotId = await chooseBase(run, lineage);
  const builder = await launchBuilder(
    run.config,
    { ...run.tags, [TAG_ROLE]: 'builder' },
    invocationKey(deps.context),
    {
      ...(baseSnapshotId ? { baseSnapshotId } : {}),
      ...ec2Deps(run),
      ledger: run.ledger,
      imageFor,
      onLaunched: (id) => run.resources.launched(id),
    },
  );
  return { builder, ...(baseSnapshotId ? { baseSnapshotId } : {}) };
}

/** The snapshot to build on (input base-snapshot), if any. */
async function chooseBase(run: BuildRun, lineage: string): Promise<string | undefined> {
  const { config, deps } = run;
  if (config.baseSnapshot === 'none') return undefined;
  const base = await chooseBaseSnapshot(deps.clients.ec2, config, lineage, run.signal);
  if (base.kind !== 'snapshot') {
    deps.logger.info(`Full build: ${base.reason}.`);
    return undefined;
  }
  const baseSnapshotId = base.snapshot.SnapshotId;
  deps.logger.info(
    `Building on ${baseSnapshotId ?? ''} (${base.how === 'auto' ? `newest of lineage '${lineage}'` : 'base-snapshot'}, ${base.snapshot.VolumeSize ?? '?'} GiB): only what changed is pulled and written.`,
  );
  return baseSnapshotId;
}

/** Phase 5: waits (bounded) until the builder runs, then until SSM sees it online. */
export async function waitUntilReachable(run: BuildRun, builderId: string): Promise<Instance> {
  const { deadline, bounds } = run;
  const running = await waitForInstanceState(
    builderId,
    'running',
    deadline.budget(bounds.instanceRunningMs, 'the builder was running'),
    ec2Deps(run),
  );
  await waitForSsmOnline(
    builderId,
    deadline.budget(bounds.ssmOnlineMs, 'SSM saw the builder'),
    ssmDeps(run),
  );
  return running;
}
